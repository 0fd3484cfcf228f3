"""Annealed Langevin: the exact moment recursion on a Gaussian, and the two-Gaussian toy
where annealing recovers the mode weights that plain Langevin cannot."""

import jax
import numpy as np
import pytest
from helpers import assert_zscores_small, moment_zscores

from scoresample import samplers, targets
from scoresample.diagnostics.stein import family_threshold
from scoresample.noise import VE, VP

N = 10_000
#: Particles of the two-Gaussian toy: mode weights to a standard error of 0.008 (its
#: Langevin steps are most of this file's time).
TOY_N = 4_000


def annealed_moments(levels, n_steps_per_level, mean, s2, denoise=True):
    """Exact mean and variance per coordinate after annealed Langevin on ``N(mean, s2)``
    with exact noised scores ``-(y - mean) / (s2 + sigma^2)``, from ``N(0, sigma_1^2)``."""
    sigmas = np.asarray(levels.sigmas, np.float64)
    steps = np.asarray(levels.step_sizes, np.float64)
    m, v = 0.0, sigmas[0] ** 2
    for sigma, h in zip(sigmas, steps, strict=True):
        shrink = 1 - h / (s2 + sigma**2)
        for _ in range(n_steps_per_level):
            m, v = shrink * m + (1 - shrink) * mean, shrink**2 * v + 2 * h
    if denoise:
        keep = s2 / (s2 + sigmas[-1] ** 2)
        m, v = keep * m + (1 - keep) * mean, keep**2 * v
    return m, v


def test_gaussian_matches_the_exact_recursion(key):
    mean, s2 = np.array([1.0, -2.0]), 0.49
    target = targets.GaussianMixture([1.0], [mean], np.sqrt(s2))
    settings = dict(n_levels=5, n_steps_per_level=15, step_size=0.02)
    spec = samplers.make_sampler("annealed_langevin", **settings, n_chains=N)
    chains = samplers.run(spec, key, target, process=VE(0.3, 6.0), progress=False)
    levels = samplers.annealed_langevin.schedule(VE(0.3, 6.0), chains.settings["sigmas"], 0.02)
    m, v = annealed_moments(levels, 15, mean, s2)
    draws = chains.flat()
    assert chains.positions.shape == (1, N, 2)
    assert_zscores_small(moment_zscores(draws, m, v * np.eye(2)))
    # Negative control: the target itself is not what 5 x 15 steps and denoising give.
    z_target = moment_zscores(draws, mean, s2 * np.eye(2))
    assert np.max(np.abs(z_target)) > family_threshold(z_target.size)


def test_vp_runs_in_the_variance_exploding_view(key):
    """On VP the sampler works on ``Z = Y / alpha``, whose exact score is that of
    ``N(mean, s2 + (sigma / alpha)^2)``: the same recursion as VE with levels ``sigma / alpha``."""
    mean, s2 = np.array([3.0, -2.0]), 0.25
    target = targets.GaussianMixture([1.0], [mean], np.sqrt(s2))
    settings = dict(
        n_levels=6, n_steps_per_level=15, step_size=0.01, sigma_first=8.0, sigma_last=0.2
    )
    spec = samplers.make_sampler("annealed_langevin", **settings, n_chains=N)
    chains = samplers.run(spec, key, target, process=VP(), progress=False)
    levels = samplers.annealed_langevin.schedule(VP(), chains.settings["sigmas"], 0.01)
    np.testing.assert_allclose(levels.sigmas, np.geomspace(8.0, 0.2, 6), rtol=1e-5)
    m, v = annealed_moments(levels, 15, mean, s2)
    assert_zscores_small(moment_zscores(chains.flat(), m, v * np.eye(2)))
    # Negative control: read as plain sigma levels (Y-space), the moments are far off.
    z_y = moment_zscores(chains.flat(), m * np.asarray(levels.alphas[-1]), v * np.eye(2))
    assert np.max(np.abs(z_y)) > family_threshold(z_y.size)


@pytest.fixture(scope="module")
def toy_weights():
    """Mass on (5, 5) of the NCSN toy by annealed Langevin and by plain ULA, same budget:
    sigma geometric 20 -> 1, 10 levels x 100 steps, h = 0.05 at the last level."""
    target, key = targets.ncsn_toy(), jax.random.PRNGKey(3)
    annealed = samplers.make_sampler("annealed_langevin", step_size=0.05, n_chains=TOY_N)
    chains = samplers.run(annealed, key, target, process=VE(1.0, 20.0), progress=False)
    start = chains.settings["sigmas"][0] * jax.random.normal(jax.random.PRNGKey(4), (TOY_N, 2))
    ula = samplers.make_sampler("ula", step_size=0.05, num_warmup=999, num_samples=1)
    plain = samplers.run(ula, key, target, initial_positions=start, progress=False)
    return [float(target.mode_weights(c.flat())[0]) for c in (chains, plain)]


def test_annealing_recovers_the_mode_weights(toy_weights):
    # Song & Ermon (2019), Fig. 3: about 0.77-0.79 at this budget, 0.8 with more steps.
    assert 0.75 < toy_weights[0] < 0.85


def test_plain_langevin_keeps_the_initial_split(toy_weights):
    # ULA cannot cross the barrier between the modes in 1000 steps: its weights are the
    # initial N(0, 20^2 I) split by the basin boundary x1 + x2 = -ln(4) / 10, i.e.
    # P(N(0, 800) > -0.139) = 0.502; 0.03 allows about 4 MC standard errors (0.008 each) and
    # crossings of particles that start next to the boundary.
    assert abs(toy_weights[1] - 0.502) < 0.03
