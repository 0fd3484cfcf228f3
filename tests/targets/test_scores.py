"""Closed-form scores against autodiff, and exact samplers against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import (
    assert_zscores_small,
    group_stein_zscores,
    moment_zscores,
    relative_error,
    stein_zscores,
)

from scoresample import targets as T
from scoresample.targets.registry import BUILTIN

EXTRA = {
    "gaussian_full": lambda: T.Gaussian(
        jnp.array([1.0, -2.0]), jnp.array([[2.0, 0.6], [0.6, 0.5]])
    ),
    "mixture_diagonal": lambda: T.GaussianMixture(
        [0.3, 0.7], [[0.0, 1.0, 2.0], [-1.0, 0.5, 0.0]], [[1.0, 0.5, 2.0], [0.3, 1.0, 1.5]]
    ),
    "lj13_unordered": lambda: T.lj13("unordered"),
    "user_log_prob": lambda: T.from_log_prob(lambda x: -jnp.sum(jnp.cosh(x)), 3),
}
ALL = {**BUILTIN, **EXTRA}


def _points(target, key, n=64):
    """Typical points (exact samples, or a jittered lattice for particles) plus tails."""
    k1, k2 = jax.random.split(key)
    if isinstance(target, T.ExactSampler):
        typical = target.sample(k1, n)
    else:
        typical = 1.5 * jax.random.normal(k1, (n, target.dim))
    tails = 4.0 * jax.random.normal(k2, (n // 4, target.dim))
    return jnp.concatenate([typical, tails])


def _gradient(target):
    """``grad log p`` by autodiff; on a Lie group the Riemannian gradient, the derivative
    along the group's exp map, ``u -> log p(exp_x(u))`` at ``u = 0``."""
    group = getattr(target, "group", None)
    if group is None:
        return jax.grad(target.log_prob)
    along = jax.grad(lambda u, x: target.log_prob(group.exp_map(x, u)))
    return lambda x: along(jnp.zeros_like(x), x)


@pytest.mark.parametrize("name", sorted(ALL))
def test_score_equals_autodiff(name, key):
    target = ALL[name]()
    xs = _points(target, key)
    closed = target.score_batch(xs)
    auto = jax.jit(jax.vmap(_gradient(target)))(xs)
    assert np.all(np.isfinite(closed))
    assert relative_error(closed, auto) < 1e-4


def test_score_check_detects_a_wrong_score(key):
    """Negative control: the comparison above fails for a score off by 1%."""
    target = T.ncsn_toy()
    xs = _points(target, key)
    wrong = jax.vmap(lambda x: 1.01 * target.score(x))(xs)
    assert relative_error(wrong, jax.vmap(jax.grad(target.log_prob))(xs)) > 1e-3


SAMPLEABLE = sorted(n for n, f in ALL.items() if isinstance(f(), T.ExactSampler))


@pytest.mark.parametrize("name", SAMPLEABLE)
def test_stein_identities_under_exact_samples(name, key):
    target = ALL[name]()
    samples = target.sample(key, 40_000)
    assert samples.shape == (40_000, target.dim)
    on_group = getattr(target, "group", None) is not None
    z = group_stein_zscores(target, samples) if on_group else stein_zscores(target.score, samples)
    assert_zscores_small(z)


def test_group_stein_identities_fail_for_a_wrong_score(key):
    """Negative control on SO(3): draws of the mixture judged with the score of the
    mixture with wider components."""
    samples = T.so3_mixture().sample(key, 40_000)
    wider = T.so3_mixture(scales=(0.45, 0.75, 0.375))
    wrong = type("Wrong", (), {"group": wider.group, "score": wider.score})()
    assert np.max(np.abs(group_stein_zscores(wrong, samples))) > 10


def test_stein_identities_fail_for_wrong_samples(key):
    """Negative control: samples with 15% too much spread violate E[s x^T] = -I."""
    target = T.ncsn_toy()
    samples = target.sample(key, 40_000)
    centre = samples.mean(axis=0, keepdims=True)
    z = stein_zscores(target.score, centre + 1.15 * (samples - centre))
    assert np.max(np.abs(z)) > 10


def test_mixture_moments(key):
    gm = EXTRA["mixture_diagonal"]()
    w, mu, s = np.asarray(gm.weights), np.asarray(gm.means), np.asarray(gm.scales)
    mean = w @ mu
    cov = sum(
        wk * (np.diag(sk**2) + np.outer(mk - mean, mk - mean))
        for wk, mk, sk in zip(w, mu, s, strict=True)
    )
    samples = gm.sample(key, 50_000)
    assert_zscores_small(moment_zscores(samples, mean, cov))
    shifted = samples + jnp.array([[0.05, 0.0, 0.0]])
    assert np.max(np.abs(moment_zscores(shifted, mean, cov))) > 5


def test_gaussian_moments(key):
    g = EXTRA["gaussian_full"]()
    samples = g.sample(key, 50_000)
    assert_zscores_small(moment_zscores(samples, g.mean, g.cov))


def test_log_prob_is_normalised_where_claimed():
    """Normalised 1-D and 2-D targets integrate to one on a grid."""
    one_d = T.mixture_1d([0.6, 0.4], [2.0, -2.0], [0.5, 0.2])
    grid = jnp.linspace(-6.0, 6.0, 24_001)[:, None]
    mass = np.trapezoid(np.exp(one_d.log_prob_batch(grid)), dx=12.0 / 24_000)
    assert abs(mass - 1.0) < 1e-4
    banana = T.banana()
    g1, g2 = np.meshgrid(np.linspace(-45, 45, 901), np.linspace(-220, 20, 2401), indexing="ij")
    pts = jnp.asarray(np.stack([g1.ravel(), g2.ravel()], axis=1))
    dens = np.exp(np.asarray(banana.log_prob_batch(pts), np.float64)).reshape(g1.shape)
    assert abs(dens.sum() * 0.1 * 0.1 - 1.0) < 2e-3
