"""Double well and many-well: normaliser by quadrature, exact sampler against known masses,
noised marginal against Monte Carlo over exact draws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_zscores_small

from scoresample import targets as T
from scoresample.diagnostics.stein import family_threshold
from scoresample.errors import ConfigError
from scoresample.targets.wells import (
    P_RIGHT_WELL,
    X1_NORMALISER,
    noised_x1_log_density,
    x1_log_density,
)


def test_double_well_log_Z_by_quadrature():
    grid = np.linspace(-5.0, 5.0, 200_001)
    z1 = np.trapezoid(np.exp(x1_log_density(grid)), grid)
    np.testing.assert_allclose(z1, X1_NORMALISER, rtol=1e-7)
    dw = T.double_well()
    np.testing.assert_allclose(dw.log_Z, np.log(z1) + 0.5 * np.log(2 * np.pi), rtol=1e-7)
    right = np.trapezoid(np.exp(x1_log_density(grid[grid > 0])), grid[grid > 0]) / z1
    np.testing.assert_allclose(right, P_RIGHT_WELL, atol=1e-6)


def test_many_well_log_Z():
    np.testing.assert_allclose(T.many_well(32).log_Z, 164.695675, atol=1e-5)


def test_many_well_right_well_mass(key):
    target = T.many_well(32)
    signs = np.asarray(target.well_signs(target.sample(key, 20_000)), dtype=np.float64)
    p = signs.mean()
    stderr = np.sqrt(P_RIGHT_WELL * (1 - P_RIGHT_WELL) / signs.size)
    assert abs(p - P_RIGHT_WELL) / stderr < 4
    # the wells are independent: the correlation between wells 0 and 1 is zero
    corr = np.corrcoef(signs[:, 0], signs[:, 1])[0, 1]
    assert abs(corr) * np.sqrt(signs.shape[0]) < 4


def test_double_well_x1_histogram_matches_density(key):
    """Binned counts of exact x1 draws against the normalised density (chi-square)."""
    x1 = np.asarray(T.double_well().sample(key, 100_000)[:, 0], dtype=np.float64)
    edges = np.linspace(-2.6, 2.6, 27)
    fine = np.linspace(-2.6, 2.6, 26 * 400 + 1)
    dens = np.exp(x1_log_density(fine)) / X1_NORMALISER
    probs = np.array(
        [
            np.trapezoid(dens[i * 400 : (i + 1) * 400 + 1], fine[i * 400 : (i + 1) * 400 + 1])
            for i in range(26)
        ]
    )
    counts, _ = np.histogram(x1, edges)
    keep = probs * x1.size > 20
    expected = probs[keep] * x1.size
    chi2 = np.sum((counts[keep] - expected) ** 2 / expected)
    dof = keep.sum()
    assert (chi2 - dof) / np.sqrt(2 * dof) < 4, chi2


def test_many_well_dim_must_be_even():
    with pytest.raises(ConfigError, match="many_well.dim"):
        T.many_well(7)


def test_sampler_runs_under_jit(key):
    target = T.double_well()
    xs = jax.jit(lambda k: target.sample(k, 100))(key)
    assert xs.shape == (100, 2) and bool(jnp.all(jnp.isfinite(xs)))


@pytest.mark.parametrize(("alpha", "sigma"), [(0.8, 0.3), (0.9, 1.3), (0.3, 2.0)])
def test_noised_score_matches_monte_carlo_over_exact_draws(alpha, sigma, key):
    """grad log p_t(y) = E[N(y; alpha x, sigma^2) (alpha x - y) / sigma^2] / E[N(...)] over
    exact draws of the double well (an independent computation: the rejection sampler, no
    quadrature), as z-scores with the ratio's delta-method error; the negative control
    forgets the second coordinate's alpha^2."""
    draws = np.asarray(T.double_well().sample(key, 200_000), np.float64)
    noised = T.double_well().noised(alpha, sigma)
    points = np.array([[0.7, -0.4], [-1.1, 0.9], [1.6, 0.2]])
    z, wrong_z = [], []
    for y in points:
        log_kernel = -0.5 * np.sum((y - alpha * draws) ** 2, axis=1) / sigma**2
        w = np.exp(log_kernel - log_kernel.max())
        w /= w.sum()
        h = (alpha * draws - y) / sigma**2
        mc = w @ h
        stderr = np.sqrt((w**2) @ (h - mc) ** 2)
        exact = np.asarray(noised.score(jnp.asarray(y)), np.float64)
        z.append((exact - mc) / stderr)
        wrong = exact.copy()
        wrong[1] = -y[1] / (1.0 + sigma**2)
        wrong_z.append((wrong - mc) / stderr)
    assert_zscores_small(np.array(z))
    assert np.max(np.abs(wrong_z)) > family_threshold(np.size(wrong_z))


def test_noised_density_is_normalised_and_continuous_across_its_two_quadratures():
    """The first coordinate's noised density integrates to 1 for sigma on either side of
    alpha, and the two quadratures (over the kernel's variable below alpha, the well's
    above) agree at sigma = alpha."""
    for alpha, sigma in ((0.7, 0.2), (0.7, 1.9)):
        grid = np.linspace(-4.5 * alpha - 9 * sigma, 4.5 * alpha + 9 * sigma, 4_001)
        log_density = jax.vmap(noised_x1_log_density, (0, None, None))(grid, alpha, sigma)
        density = np.exp(np.asarray(log_density, np.float64))
        np.testing.assert_allclose(np.trapezoid(density, grid), 1.0, atol=1e-5)
    y = jnp.linspace(-3.0, 3.0, 13)
    below = jax.vmap(lambda v: noised_x1_log_density(v, 0.7, 0.7 * (1 - 1e-7)))(y)
    above = jax.vmap(lambda v: noised_x1_log_density(v, 0.7, 0.7))(y)
    np.testing.assert_allclose(below, above, atol=1e-5)


def test_noised_score_at_low_noise_is_the_clean_score():
    """sigma = 1e-3: the noised score at alpha y is the clean score over alpha, to O(sigma^2)."""
    target, alpha = T.many_well(4), 0.9
    x = jnp.array([1.3, -0.4, -1.8, 0.6])
    noised = target.noised(alpha, 1e-3).score(alpha * x)
    np.testing.assert_allclose(noised, target.score(x) / alpha, rtol=1e-3, atol=1e-3)
