"""Reverse diffusion: the exact Euler-Maruyama moment recursion on Gaussians (VE and VP,
with and without corrector), and a mixture reproduced within MC error plus the
discretisation bias that the same recursion bounds."""

import jax
import numpy as np
import pytest
from helpers import assert_zscores_small, moment_zscores

from scoresample import samplers, targets
from scoresample.diagnostics.stein import family_threshold
from scoresample.noise import VE, VP
from scoresample.samplers._process import time_range

N = 10_000


def reverse_moments(process, grid, mean, s2, corrector_steps=0, start=None):
    """Exact per-coordinate mean and variance of the sweep on ``N(mean, s2)`` with exact
    noised scores ``-(y - alpha mean) / (alpha^2 s2 + sigma^2)``; every update is affine."""
    times = np.asarray(grid.times, np.float64)
    alpha = np.asarray(jax.vmap(process.alpha)(grid.times), np.float64)
    sigma = np.asarray(jax.vmap(process.sigma)(grid.times), np.float64)
    var = alpha**2 * s2 + sigma**2
    coefficients = (grid.drift, grid.diffusion_squared, grid.corrector_step_sizes)
    f, g2, h = (np.asarray(c, np.float64) for c in coefficients)
    m, v = start if start is not None else (0.0, sigma[0] ** 2)
    for k in range(len(f)):
        dt = times[k] - times[k + 1]
        pull = g2[k] * dt / var[k]
        m, v = (
            (1 - f[k] * dt - pull) * m + pull * alpha[k] * mean,
            (1 - f[k] * dt - pull) ** 2 * v + g2[k] * dt,
        )
        for _ in range(corrector_steps):
            pull = h[k] / var[k + 1]
            m, v = (1 - pull) * m + pull * alpha[k + 1] * mean, (1 - pull) ** 2 * v + 2 * h[k]
    keep = 1 - sigma[-1] ** 2 / var[-1]
    return (keep * m + sigma[-1] ** 2 * alpha[-1] * mean / var[-1]) / alpha[
        -1
    ], keep**2 * v / alpha[-1] ** 2


def test_time_range_avoids_singular_ends():
    assert time_range(VP(), None, None) == (0.999, 0.001)
    assert time_range(VE(0.01, 10.0), None, None) == (1.0, 0.0)


@pytest.mark.parametrize(("process", "corrector_steps"), [(VE(0.01, 20.0), 0), (VP(), 1)])
def test_gaussian_matches_the_exact_recursion(process, corrector_steps, key):
    mean, s2 = np.array([1.0, -0.5]), 0.25
    target = targets.GaussianMixture([1.0], [mean], np.sqrt(s2))
    spec = samplers.make_sampler(
        "reverse_diffusion", n_steps=10, corrector_steps=corrector_steps, n_chains=N
    )
    chains = samplers.run(spec, key, target, process=process, progress=False)
    grid = samplers.reverse_diffusion.schedule(process, 10)
    m, v = reverse_moments(process, grid, mean, s2, corrector_steps)
    assert_zscores_small(moment_zscores(chains.flat(), m, v * np.eye(2)))
    # Negative control: 10 steps are too few to reach the target itself.
    z_target = moment_zscores(chains.flat(), mean, s2 * np.eye(2))
    assert np.max(np.abs(z_target)) > family_threshold(z_target.size)


def _discretisation_bias(process, grid, mixture) -> float:
    """Largest relative Euler-Maruyama bias of the same grid on each component as a
    Gaussian on its own, started at its exact noised marginal: ``|m - mu| / s`` and
    ``|v / s^2 - 1|``. Mode weights are decided at high noise, where the mixture's
    score is closest to such linear scores, so this bounds their bias too."""
    alpha0, sigma0 = float(process.alpha(grid.times[0])), float(process.sigma(grid.times[0]))
    biases = []
    for mu, s in zip(np.ravel(mixture.means), np.ravel(mixture.scales), strict=True):
        start = (alpha0 * mu, alpha0**2 * s**2 + sigma0**2)
        m, v = reverse_moments(process, grid, mu, s**2, start=start)
        biases += [abs(m - mu) / s, abs(v / s**2 - 1)]
    return max(biases)


def _excess_zscores(draws, mixture, relative_bias: float) -> np.ndarray:
    """z-scores of the mean, the second central moments and the first mode weight
    against ``mixture``'s exact values, after removing an allowed bias of
    ``relative_bias`` times each statistic's scale (sd, sd_i sd_j, probability 1)."""
    w, mu, s = (np.asarray(a, np.float64) for a in (mixture.weights, mixture.means, mixture.scales))
    mean = w @ mu
    cov = np.einsum("k,ki,kj->ij", w, mu, mu) + np.diag(w @ s**2) - np.outer(mean, mean)
    centred = np.asarray(draws, np.float64) - mean
    first_mode = np.asarray(jax.vmap(mixture.responsibilities)(draws))[:, :1]
    outer = np.einsum("ni,nj->nij", centred, centred).reshape(len(draws), -1)
    values = np.concatenate([centred, outer, first_mode], axis=1)
    exact = np.concatenate([np.zeros(2), cov.ravel(), w[:1]])
    sd = np.sqrt(np.diag(cov))
    allowed = relative_bias * np.concatenate([sd, np.outer(sd, sd).ravel(), [1.0]])
    stderr = values.std(axis=0, ddof=1) / np.sqrt(len(draws))
    return np.maximum(np.abs(values.mean(axis=0) - exact) - allowed, 0) / stderr


def test_mixture_is_reproduced(key):
    mixture = targets.GaussianMixture(
        [0.3, 0.7], [[-2.0, 1.0], [2.0, -1.0]], [[0.5, 1.0], [1.0, 0.4]]
    )
    process, n_steps = VP(), 500
    grid = samplers.reverse_diffusion.schedule(process, n_steps)
    # Start at the exact noised marginal at t_start, so only the discretisation is tested.
    noised = mixture.noised(process.alpha(grid.times[0]), process.sigma(grid.times[0]))
    spec = samplers.make_sampler("reverse_diffusion", n_steps=n_steps, n_chains=N)
    chains = samplers.run(
        spec, key, mixture, process=process, initial_positions=noised.sample, progress=False
    )
    bias = _discretisation_bias(process, grid, mixture)
    assert bias < 0.01  # below 0.7 MC standard errors of every statistic at N = 10^4
    z = _excess_zscores(chains.flat(), mixture, bias)
    assert np.max(z) < family_threshold(z.size), z
    # Negative control: the same draws against the mixture with other weights.
    z_wrong = _excess_zscores(chains.flat(), mixture.with_weights([0.4, 0.6]), bias)
    assert np.max(z_wrong) > family_threshold(z_wrong.size), z_wrong
