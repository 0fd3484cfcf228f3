"""ULA's known bias: on ``N(0, s^2 I)`` its variance after ``k`` steps from exact draws is
``V_k = (1 - h / s^2)^2 V_{k-1} + 2 h``, which tends to ``s^2 / (1 - h / (2 s^2))``."""

import numpy as np
from helpers import assert_zscores_small, moment_zscores

from scoresample import samplers, targets
from scoresample.diagnostics.stein import family_threshold


def ula_variance(s2: float, h: float, n_steps: int) -> float:
    """Exact variance of ULA on ``N(0, s2)`` after ``n_steps`` from ``N(0, s2)``."""
    variance = s2
    for _ in range(n_steps):
        variance = (1 - h / s2) ** 2 * variance + 2 * h
    return variance


def test_step_size_from_paper_halves_eps():
    assert samplers.step_size_from_paper(0.1) == 0.05


def test_stationary_variance_is_the_known_biased_one(key):
    s2, h, n_steps, dim = 2.25, 0.9, 40, 2
    target = targets.Gaussian.standard(dim, np.sqrt(s2))
    spec = samplers.make_sampler("ula", step_size=h, num_warmup=n_steps - 1, num_samples=1)
    chains = samplers.run(
        spec, key, target, n_chains=10_000, initial_positions=target.sample, progress=False
    )
    final = chains.positions[:, -1]
    variance = ula_variance(s2, h, n_steps)
    assert np.isclose(variance, s2 / (1 - h / (2 * s2)), rtol=1e-6)  # converged after 40 steps
    assert_zscores_small(moment_zscores(final, np.zeros(dim), variance * np.eye(dim)))
    # Negative control: the unbiased target variance is rejected.
    z_target = moment_zscores(final, np.zeros(dim), s2 * np.eye(dim))
    assert np.max(np.abs(z_target)) > family_threshold(z_target.size)
    assert np.all(chains.stats["acceptance_rate"] == 1) and chains.total_grad_evals() == 10_000
