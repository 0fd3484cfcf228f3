"""Importance-sampled score identities (DSI, TSI, kappa) from the energy alone, checked
against exact noised scores of mixtures at generic points."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import Harmonic, assert_zscores_small, refusal_message

from scoresample.diagnostics.stein import family_threshold
from scoresample.estimators import (
    importance_score,
    importance_score_identities,
    importance_terms,
)
from scoresample.estimators.importance import clip_norm
from scoresample.noise import VE, VP
from scoresample.objectives import ExactNoisedScore, GaussianKappa, kappa_bar
from scoresample.targets import Gaussian, GaussianMixture, from_log_prob

MIXTURE = GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.5, 0.8])
PROCESS = VE(0.01, 5.0)
K = 4000


def _estimates(target, process, t, key, n_points=6, k=K, **options):
    key_y, key_x = jax.random.split(key)
    ys = MIXTURE.noised(process.alpha(t), process.sigma(t)).sample(key_y, n_points)
    kappas = {"kappa_bar": kappa_bar(process, MIXTURE), "half": 0.5}
    keys = jax.random.split(key_x, n_points)
    estimate = lambda y, k_: importance_score_identities(  # noqa: E731
        target, process, y, jnp.asarray(t), k_, k, kappas, **options
    )
    return jax.vmap(estimate)(ys, keys), ys


def _zscores(estimates, exact):
    z = [(est.mean - exact) / jnp.sqrt(est.variance) for est in estimates.values()]
    return np.concatenate([np.ravel(v) for v in z])


@pytest.mark.parametrize(("process", "t"), [(PROCESS, 0.3), (PROCESS, 0.7), (VP(), 0.5)])
def test_every_identity_is_consistent_with_the_exact_noised_score(process, t, key):
    """At K = 4000 the O(1/K) bias of self-normalised weights is far below the estimates'
    delta-method standard error; the negative control's mixture is 30% wider."""
    estimates, ys = _estimates(MIXTURE, process, t, key)
    assert set(estimates) == {"dsi", "tsi", "kappa_bar", "half"}
    exact = jax.vmap(lambda y: ExactNoisedScore(MIXTURE, process)(y, t))(ys)
    assert_zscores_small(_zscores(estimates, exact))
    wider = GaussianMixture(MIXTURE.weights, MIXTURE.means, 1.3 * MIXTURE.scales)
    wrong = _zscores(estimates, jax.vmap(lambda y: ExactNoisedScore(wider, process)(y, t))(ys))
    assert np.max(np.abs(wrong)) > family_threshold(wrong.size), "negative control passed"


def test_delta_method_variance_matches_the_spread_of_repeated_estimates(key):
    """400 independent estimates at one point, K = 100, weights uneven (ESS about 36): the
    spread of their means against the average delta-method variance, a ratio within 4
    standard errors (0.28) of 1. Negative control: the formula for equal weights,
    ``sum_i w_i (h_i - mean)^2 / K``, under-states the spread by about 1.5x."""
    y, t, k, repeats = jnp.array([0.9, 0.4]), 0.8, 100, 400
    keys = jax.random.split(key, repeats)
    estimate = jax.vmap(
        lambda k_: importance_score_identities(MIXTURE, PROCESS, y, t, k_, k)["tsi"]
    )(keys)
    spread = np.var(np.asarray(estimate.mean, np.float64), axis=0, ddof=1)
    limit = 4 * np.sqrt(2 / (repeats - 1))
    ratio = spread / np.mean(np.asarray(estimate.variance, np.float64), axis=0)
    assert np.all(np.abs(ratio - 1) < limit), ratio
    weights, terms = jax.vmap(lambda k_: importance_terms(MIXTURE, PROCESS, y, t, k_, k))(keys)
    deviations = (terms["tsi"] - estimate.mean[:, None, :]) ** 2
    equal_weights = jnp.einsum("rk,rkd->rd", weights, deviations) / k
    wrong = spread / np.mean(np.asarray(equal_weights, np.float64), axis=0)
    assert np.all(np.abs(wrong - 1) > limit), wrong
    assert np.all((estimate.ess > 1) & (estimate.ess < k))


def test_gaussian_kappa_is_exact_whatever_the_weights(key):
    """For N(mu, s^2 I) the kappa_t combination of one proposal's terms does not depend on
    the proposal, so two proposals give the exact score; kappa 10% off does not."""
    gaussian = Gaussian(jnp.array([0.7, -1.2, 0.4]), 1.5**2 * jnp.eye(3))
    y = jnp.array([0.3, -1.0, 2.0])
    for process, t in ((PROCESS, 0.4), (VP(), 0.6)):
        exact = ExactNoisedScore(gaussian, process)(y, t)
        kappa = GaussianKappa(process, 1.5)
        est = importance_score(gaussian, process, y, t, key, 2, "kappa", kappa)
        np.testing.assert_allclose(est.mean, exact, rtol=1e-4)
        off = importance_score(gaussian, process, y, t, key, 2, "kappa", 1.1 * kappa(t))
        assert np.max(np.abs(off.mean - exact)) > 1e-3 * np.max(np.abs(exact))


def test_weights_need_only_the_unnormalised_density(key):
    """log p + 1e4 (exp overflows in float32) gives the same estimates: weights are a
    softmax of log densities."""
    shifted = from_log_prob(lambda x: MIXTURE.log_prob(x) + 1e4, dim=2)
    y = jnp.array([0.5, -0.3])
    plain = importance_score_identities(MIXTURE, PROCESS, y, 0.5, key, 64)
    offset = importance_score_identities(shifted, PROCESS, y, 0.5, key, 64)
    for name in plain:
        np.testing.assert_allclose(offset[name].mean, plain[name].mean, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(offset[name].ess, plain[name].ess, rtol=1e-3)


def test_integer_positions_are_read_as_floats(key):
    """(Proposals drawn in an integer dtype were refused by ``jax.random.normal``.)"""
    as_int = importance_score_identities(MIXTURE, PROCESS, jnp.array([1, 0]), 0.5, key, 16)
    as_float = importance_score_identities(MIXTURE, PROCESS, jnp.array([1.0, 0.0]), 0.5, key, 16)
    for name in as_float:
        np.testing.assert_array_equal(as_int[name].mean, as_float[name].mean)


def test_a_flat_density_gives_equal_weights(key):
    """A constant log density: every weight 1/K, ESS = K, DSI the plain average of
    (alpha x_i - y) / sigma^2 over the proposals N(y / alpha, (sigma / alpha)^2 I)."""
    flat = from_log_prob(lambda x: 0.0 * jnp.sum(x), dim=2)
    y, t, k = jnp.array([1.5, -0.5]), 0.6, 50
    est = importance_score_identities(flat, VP(), y, t, key, k)
    np.testing.assert_allclose(est["dsi"].ess, k, rtol=1e-5)
    alpha, sigma = VP().alpha(t), VP().sigma(t)
    xs = y[None, :] / alpha + sigma / alpha * jax.random.normal(key, (k, 2))
    np.testing.assert_allclose(
        est["dsi"].mean, np.mean((alpha * xs - y[None, :]) / sigma**2, axis=0), 1e-4
    )
    np.testing.assert_allclose(est["tsi"].mean, 0.0, atol=1e-7)


def test_norm_clipping_just_inside_and_outside_the_limit(key):
    y = jnp.array([0.5, -0.3])
    free = importance_score_identities(MIXTURE, PROCESS, y, 0.2, key, 64)["tsi"].mean
    norm = float(jnp.linalg.norm(free))
    inside = importance_score(MIXTURE, PROCESS, y, 0.2, key, 64, max_norm=1.01 * norm).mean
    np.testing.assert_array_equal(inside, free)
    outside = importance_score(MIXTURE, PROCESS, y, 0.2, key, 64, max_norm=0.99 * norm).mean
    np.testing.assert_allclose(outside, 0.99 * norm * free / (norm + 1e-6), rtol=1e-5)


def test_particle_proposals_stay_in_the_mean_free_subspace(key):
    """A translation-invariant particle system: proposals, and so every estimate, have zero
    centre of mass (the noise is projected), and the harmonic system's noised score is exact:
    in the subspace it is N(0, I / k) noised, score -y / (1 / k + sigma^2)."""
    system = Harmonic()
    y = jax.random.normal(key, (system.n_particles, system.space_dim))
    y = (y - y.mean(axis=0, keepdims=True)).ravel()
    t = 0.5
    est = importance_score_identities(system, PROCESS, y, t, key, K)
    for value in est.values():
        centre = value.mean.reshape(system.n_particles, system.space_dim).sum(axis=0)
        np.testing.assert_allclose(centre, 0.0, atol=1e-4)
    exact = -y / (1 / system.k + PROCESS.sigma(t) ** 2)
    assert_zscores_small(_zscores(est, exact))
    wrong = _zscores(est, -y / (1 / system.k + 1.3 * PROCESS.sigma(t) ** 2))
    assert np.max(np.abs(wrong)) > family_threshold(wrong.size), "negative control passed"


def test_clipping_guards_a_zero_norm_with_dem_s_epsilon():
    """``s min(1, max_norm / (|s| + 1e-6))`` where the 1e-6 matters: |s| = 5e-6."""
    score = jnp.array([3e-6, -4e-6])
    np.testing.assert_allclose(clip_norm(score, 1e-6), score / 6, rtol=1e-5)
    np.testing.assert_array_equal(clip_norm(score, None), score)


def test_any_positive_max_norm_is_accepted(key):
    y = jnp.array([0.5, -0.3])
    est = importance_score(MIXTURE, PROCESS, y, 0.2, key, 16, max_norm=0.5)
    assert float(jnp.linalg.norm(est.mean)) == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"identity": "esi"}, "identity: is 'esi'; choose 'dsi', 'tsi' or 'kappa'"),
        ({"identity": "kappa"}, "kappa: is required by the kappa identity; pass kappa="),
        ({"k": 1}, "k: is 1; use at least 2 proposals"),
        ({"max_norm": 0.0}, "max_norm: is 0.0; give a positive norm, or None"),
        ({"max_norm": -1.0}, "max_norm: is -1.0; give a positive norm, or None"),
    ],
)
def test_each_refusal_names_its_field_and_says_why(options, message, key):
    options = {"k": 16, **options}
    k = options.pop("k")
    call = lambda: importance_score(MIXTURE, PROCESS, jnp.zeros(2), 0.5, key, k, **options)  # noqa: E731
    assert refusal_message(call) == message
