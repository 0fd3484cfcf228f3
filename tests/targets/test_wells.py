"""Double well and many-well: normaliser by quadrature, exact sampler against known masses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import targets as T
from scoresample.errors import ConfigError
from scoresample.targets.wells import P_RIGHT_WELL, X1_NORMALISER, x1_log_density


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
