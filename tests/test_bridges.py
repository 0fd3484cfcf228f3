"""Bridges between Gaussian mixtures: the exact marginal against the bridge's own draws,
the four score identities (Eqs. 12-14 and DSI) against the exact score with exact
posterior draws, and the bridge-matching losses, each with a negative control."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import ConfigError
from scoresample.bridges import IDENTITIES, MixtureBridge, identity_terms
from scoresample.objectives import BridgeMatching
from scoresample.objectives._base import regression
from scoresample.targets import GaussianMixture

START = GaussianMixture([0.6, 0.4], [[-2.0, 1.0], [1.5, -0.5]], [[0.4, 0.7], [0.3, 0.5]])
END = GaussianMixture([0.3, 0.7], [[0.5, 2.0], [-1.0, -1.5]], [[0.8, 0.6], [0.5, 0.9]])
BRIDGE = MixtureBridge(START, END, 0.8)


def _moments(mixture):
    """Mean and per-coordinate variance of a diagonal Gaussian mixture, in NumPy."""
    w, mu, s = (np.asarray(a, np.float64) for a in (mixture.weights, mixture.means, mixture.scales))
    mean = w @ mu
    return mean, w @ (s**2 + mu**2) - mean**2


def test_marginal_has_the_moments_of_the_bridge_and_matches_its_draws(key):
    """``E[Y] = alpha m0 + (1 - alpha) m1``, ``Var[Y] = alpha^2 v0 + (1 - alpha)^2 v1 + s^2``
    by hand; the bridge's draws agree with both (z-scores)."""
    t, n = 0.37, 200_000
    alpha, s2 = 1 - t, 0.8**2 * t * (1 - t)
    (m0, v0), (m1, v1) = _moments(START), _moments(END)
    mean, var = alpha * m0 + (1 - alpha) * m1, alpha**2 * v0 + (1 - alpha) ** 2 * v1 + s2
    np.testing.assert_allclose(_moments(BRIDGE.marginal(t)), (mean, var), rtol=1e-5)
    _, _, y = BRIDGE.sample(key, t, n)
    y = np.asarray(y, np.float64)
    assert np.all(np.abs((y.mean(0) - mean) / np.sqrt(var / n)) < 4)
    fourth = np.mean((y - y.mean(0)) ** 4, 0)
    assert np.all(np.abs((y.var(0) - var) / np.sqrt((fourth - var**2) / n)) < 4)


def _identity_z(terms_fn, y, t, key, n=20_000):
    """Largest |z| of each identity's posterior mean against the exact score at ``y``."""
    x0, x1 = BRIDGE.posterior_sample(key, y, t, n)
    terms = jax.vmap(lambda a, b: terms_fn(BRIDGE, a, b, y, t))(x0, x1)
    exact = BRIDGE.marginal(t).score(y)
    return {
        name: float(np.max(np.abs((v.mean(0) - exact) / (v.std(0) / np.sqrt(n)))))
        for name, v in terms.items()
    }


@pytest.mark.parametrize("t", [0.1, 0.37, 0.8])
def test_every_identity_gives_the_exact_score(t, key):
    z = _identity_z(identity_terms, jnp.array([0.3, -0.4]), t, key)
    assert sorted(z) == sorted(IDENTITIES)
    assert max(z.values()) < 4, z


def test_wrong_scalings_and_prior_draws_fail(key):
    """Negative controls: Eq. 12 without the division by alpha, Eq. 14 as a plain average
    of the two scores, and the identities over prior draws (no conditioning on ``y``)."""
    y, t = jnp.array([0.3, -0.4]), 0.37

    def wrong(bridge, x0, x1, y, t):
        score_0, score_1 = bridge.start.score(x0), bridge.end.score(x1)
        return {"start": score_0, "sum": (score_0 + score_1) / 2}

    assert min(_identity_z(wrong, y, t, key).values()) > 8
    x0, x1, _ = BRIDGE.sample(key, t, 20_000)
    terms = jax.vmap(lambda a, b: identity_terms(BRIDGE, a, b, y, t))(x0, x1)
    exact = BRIDGE.marginal(t).score(y)
    for name in ("start", "end", "sum"):
        v = terms[name]
        assert np.max(np.abs((v.mean(0) - exact) / (v.std(0) / np.sqrt(len(v))))) > 8, name


def test_each_end_identity_is_exact_at_its_end(key):
    """Eq. 12's per-draw variance vanishes as t -> 0 (its posterior is X0 = y), Eq. 13's
    as t -> 1; Eq. 14's stays bounded at both ends, where DSI's explodes."""

    def mean_variance(t):
        _, _, ys = BRIDGE.sample(key, t, 200)

        def one(y, k):
            x0, x1 = BRIDGE.posterior_sample(k, y, t, 64)
            terms = jax.vmap(lambda a, b: identity_terms(BRIDGE, a, b, y, t))(x0, x1)
            return {name: jnp.sum(jnp.var(v, axis=0)) for name, v in terms.items()}

        values = jax.vmap(one)(ys, jax.random.split(key, 200))
        return {name: float(jnp.mean(v)) for name, v in values.items()}

    early, late = mean_variance(0.01), mean_variance(0.99)
    assert early["start"] < 0.1 * min(early["end"], early["dsi"])
    assert late["end"] < 0.1 * min(late["start"], late["dsi"])
    assert max(early["sum"], late["sum"]) < 0.1 * min(early["dsi"], late["dsi"])


def test_bad_bridges_are_refused():
    with pytest.raises(ConfigError, match="MixtureBridge.end"):
        MixtureBridge(START, GaussianMixture([1.0], [[0.0]], 1.0), 0.8)
    with pytest.raises(ConfigError, match="MixtureBridge.sigma"):
        MixtureBridge(START, END, 0.0)


def test_bridge_losses_differ_by_a_constant_in_the_score_function(key):
    """``E[L_a - L_b]`` over the bridge is the same for any score function (here the exact
    score and zero) when the targets ``a`` and ``b`` have one posterior mean: every pair of
    identities passes; a target without Eq. 12's division by alpha does not."""
    n = 40_000
    exact = lambda y, t: BRIDGE.marginal(t).score(y)  # noqa: E731
    zero = lambda y, t: jnp.zeros_like(y)  # noqa: E731
    x0s = START.sample(jax.random.fold_in(key, 1), n)
    ts = jax.random.uniform(jax.random.fold_in(key, 2), (n,), minval=0.2, maxval=0.8)
    keys = jax.random.split(key, n)

    def z_of_gap(loss_a, loss_b):
        def difference(x0, t, k):
            gaps = [loss_a(s, x0, t, k)[0] - loss_b(s, x0, t, k)[0] for s in (exact, zero)]
            return gaps[0] - gaps[1]

        d = np.asarray(jax.vmap(difference)(x0s, ts, keys), np.float64)
        return abs(d.mean()) / (d.std() / np.sqrt(n))

    dsm = BridgeMatching(BRIDGE, "dsi")
    for identity in ("start", "end", "sum"):
        assert z_of_gap(BridgeMatching(BRIDGE, identity), dsm) < 4, identity

    def unscaled_start(score_fn, x0, t, k):
        key_end, key_w = jax.random.split(k)
        x1 = END.sample(key_end, 1)[0]
        y = BRIDGE.noised(x0, x1, jax.random.normal(key_w, x0.shape), t)
        return regression(score_fn(y, t), START.score(x0))

    assert z_of_gap(unscaled_start, dsm) > 8


def test_bridge_schedule_trains_but_does_not_pretend_to_be_a_diffusion():
    schedule = BRIDGE.schedule
    np.testing.assert_allclose(schedule.alpha(0.3), 0.7)
    np.testing.assert_allclose(schedule.sigma(0.3), 0.8 * np.sqrt(0.3 * 0.7), rtol=1e-6)
    with pytest.raises(ConfigError, match="not a diffusion"):
        schedule.drift(0.3)
    with pytest.raises(ConfigError, match="not monotone"):
        schedule.t_of_sigma(0.1)
    with pytest.raises(ConfigError, match="BridgeMatching.identity"):
        BridgeMatching(BRIDGE, "tsi")
