"""Metropolis refinement: draws from a wrong law, refined by MALA or HMC on the exact
log density, take the target's law, and every gradient is counted."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import samplers, targets
from scoresample.errors import ConfigError

MEAN = jnp.array([1.0, -2.0])
SCALES = jnp.array([0.5, 2.0])
TARGET = targets.Gaussian(MEAN, jnp.diag(SCALES**2))
N = 2000


@pytest.fixture(scope="module")
def wrong_draws():
    """A learned sampler gone wrong: shifted by (1.5, 3) and twice as wide."""
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (N, 2)))
    return np.asarray(MEAN) + np.array([1.5, 3.0]) + 2.0 * np.asarray(SCALES) * noise


def _law_matches(draws) -> bool:
    """Mean within 4 standard errors and standard deviations within 10% of the target."""
    z = (draws.mean(axis=0) - np.asarray(MEAN)) / (np.asarray(SCALES) / np.sqrt(len(draws)))
    ratio = draws.std(axis=0) / np.asarray(SCALES)
    return bool(np.all(np.abs(z) < 4) and np.all(np.abs(ratio - 1) < 0.1))


@pytest.mark.parametrize(
    "sampler, settings, per_step",
    [("mala", {}, 1), ("hmc", {"num_integration_steps": 5}, 5)],
)
def test_refined_draws_take_the_target_law(wrong_draws, sampler, settings, per_step):
    assert not _law_matches(wrong_draws)  # the starting draws are wrong
    refined = samplers.refine(
        jax.random.PRNGKey(1),
        wrong_draws,
        TARGET,
        sampler=sampler,
        num_warmup=100,
        num_steps=150,
        **settings,
    )
    assert refined.particles and refined.positions.shape == (1, N, 2)
    assert _law_matches(refined.flat())
    assert refined.total_grad_evals() == N * 150 * per_step
    assert refined.warmup_grad_evals() == N * 100 * per_step


def test_too_few_steps_leave_the_draws_wrong(wrong_draws):
    refined = samplers.refine(jax.random.PRNGKey(1), wrong_draws, TARGET, num_warmup=2, num_steps=1)
    assert not _law_matches(refined.flat())


def test_a_refiner_without_a_fixed_cost_names_the_setting(wrong_draws):
    with pytest.raises(ConfigError, match="sampler"):
        samplers.refine(jax.random.PRNGKey(1), wrong_draws, TARGET, sampler="nuts")
