"""Test-wide settings: silent broadcasting is a bug, and every seed is explicit."""

import jax
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    """A fixed PRNG key; tests split it rather than inventing seeds."""
    return jax.random.PRNGKey(20241123)


def zscore(estimate, exact, stderr):
    """``(estimate - exact) / stderr`` as a NumPy array."""
    return (np.asarray(estimate) - np.asarray(exact)) / np.asarray(stderr)
