"""Noised marginals against the two Monte Carlo score identities under the exact posterior.

For ``Y = alpha X + sigma W``: ``grad log p_t(y) = E[(alpha x - y) / sigma^2 | y]`` (the
denoising identity) ``= (1 / alpha) E[grad log p(x) | y]`` (the target identity).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_zscores_small, mean_zscores

from scoresample import targets as T

CASES = {
    "mixture_2d": (T.ncsn_toy, 0.8, 1.5),
    "mixture_diag_3d": (
        lambda: T.GaussianMixture(
            [0.3, 0.7], [[0.0, 1.0, 2.0], [-1.0, 0.5, 0.0]], [[1.0, 0.5, 2.0], [0.3, 1.0, 1.5]]
        ),
        0.6,
        0.8,
    ),
    "gaussian_full": (
        lambda: T.Gaussian(jnp.array([1.0, -2.0]), jnp.array([[2.0, 0.6], [0.6, 0.5]])),
        0.9,
        0.4,
    ),
}


def _identity_zscores(target, alpha, sigma, y, key, n=20_000):
    posterior = target.posterior(y, alpha, sigma)
    xs = posterior.sample(key, n)
    exact = target.noised(alpha, sigma).score(y)
    dsi = (alpha * xs - y[None, :]) / sigma**2
    tsi = target.score_batch(xs) / alpha
    return mean_zscores(dsi, exact), mean_zscores(tsi, exact)


@pytest.mark.parametrize("name", sorted(CASES))
def test_noised_score_matches_both_identities(name, key):
    factory, alpha, sigma = CASES[name]
    target = factory()
    k_y, k_x = jax.random.split(key)
    ys = target.noised(alpha, sigma).sample(k_y, 3)
    for i, y in enumerate(ys):
        z_dsi, z_tsi = _identity_zscores(target, alpha, sigma, y, jax.random.fold_in(k_x, i))
        assert_zscores_small(np.concatenate([z_dsi, z_tsi]))


def test_identities_detect_a_wrong_marginal(key):
    """Negative control: the noised score at the wrong sigma disagrees with both."""
    target = T.ncsn_toy()
    alpha, sigma = 0.8, 1.5
    y = jnp.array([1.0, 0.5])
    xs = target.posterior(y, alpha, sigma).sample(key, 20_000)
    wrong = target.noised(alpha, 1.1 * sigma).score(y)
    assert np.max(np.abs(mean_zscores((alpha * xs - y[None, :]) / sigma**2, wrong))) > 10


def test_noised_mixture_parameters():
    gm = T.ncsn_toy().noised(0.5, 2.0)
    np.testing.assert_allclose(gm.means, [[2.5, 2.5], [-2.5, -2.5]])
    np.testing.assert_allclose(gm.scales, np.full((2, 2), np.sqrt(0.25 + 4.0)), rtol=1e-6)
    np.testing.assert_allclose(gm.weights, [0.8, 0.2])


def test_noised_works_under_jit_and_vmap():
    """``noised`` and ``posterior`` are usable with traced alpha, sigma and y."""
    target = T.ncsn_toy()

    @jax.jit
    def score_at(t, y):
        alpha, sigma = jnp.cos(jnp.pi * t / 2), jnp.sin(jnp.pi * t / 2)
        return target.noised(alpha, sigma).score(y), target.posterior(y, alpha, sigma).weights

    scores, weights = jax.vmap(score_at)(jnp.array([0.3, 0.7]), jnp.ones((2, 2)))
    assert scores.shape == (2, 2)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
