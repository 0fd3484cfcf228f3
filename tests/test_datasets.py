"""Data sets."""

import jax
import numpy as np
import pytest

from scoresample import two_moons
from scoresample.errors import ConfigError


def test_two_moons_geometry(key):
    xs = np.asarray(two_moons(key, 1001, noise=0.0))
    assert xs.shape == (1001, 2)
    outer = np.isclose(np.hypot(xs[:, 0], xs[:, 1]), 1.0, atol=1e-5)
    inner = np.isclose(np.hypot(xs[:, 0] - 1.0, xs[:, 1] - 0.5), 1.0, atol=1e-5)
    assert outer.sum() == 500 and inner.sum() == 501 and np.all(outer | inner)


def test_two_moons_noise_and_reproducibility(key):
    a, b = two_moons(key, 500, noise=0.1), two_moons(key, 500, noise=0.1)
    np.testing.assert_array_equal(a, b)
    c = two_moons(jax.random.fold_in(key, 1), 500, noise=0.1)
    assert not np.allclose(a, c)


def test_two_moons_rejects_bad_input(key):
    with pytest.raises(ConfigError, match="two_moons.n"):
        two_moons(key, 0)
    with pytest.raises(ConfigError, match="two_moons.noise"):
        two_moons(key, 10, noise=-0.1)
