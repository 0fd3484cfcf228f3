"""Small data sets for score matching, generated in JAX (no scikit-learn needed)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._types import Batch, PRNGKey
from ._validate import positive, positive_int


def two_moons(key: PRNGKey, n: int, noise: float = 0.1) -> Batch:
    """``n`` points on two interleaving half circles plus Gaussian noise, shape ``(n, 2)``.

    The same construction as scikit-learn's ``make_moons``: ``n // 2`` points at
    ``(cos t, sin t)`` and the rest at ``(1 - cos t, 1/2 - sin t)`` for ``t`` evenly
    spaced in ``[0, pi]``, then shuffled, with ``N(0, noise^2)`` added per coordinate.

    Example:
        >>> two_moons(jax.random.PRNGKey(0), 1000, noise=0.05).shape
        (1000, 2)
    """
    n = positive_int(n, "two_moons.n")
    if noise != 0:
        positive(noise, "two_moons.noise")
    n_outer = n // 2
    t_outer = jnp.linspace(0.0, jnp.pi, n_outer)
    t_inner = jnp.linspace(0.0, jnp.pi, n - n_outer)
    outer = jnp.stack([jnp.cos(t_outer), jnp.sin(t_outer)], axis=1)
    inner = jnp.stack([1.0 - jnp.cos(t_inner), 0.5 - jnp.sin(t_inner)], axis=1)
    key_perm, key_noise = jax.random.split(key)
    points = jax.random.permutation(key_perm, jnp.concatenate([outer, inner]))
    return points + noise * jax.random.normal(key_noise, points.shape)
