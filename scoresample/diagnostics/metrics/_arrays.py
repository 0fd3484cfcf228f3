"""Input checks and blocked pairwise sums shared by the sample-set metrics."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._validate import finite_array
from ...errors import DataError

#: Rows (and columns) per block of a pairwise sum: 2048^2 float64 entries are 32 MiB.
BLOCK = 2048


def as_samples(value, field: str) -> np.ndarray:
    """``value`` as a finite float64 ``(n, d)`` array with ``n >= 2``."""
    array = finite_array(value, field, ndim=2)
    if array.shape[0] < 2:
        raise DataError(field, f"has {array.shape[0]} samples", "pass at least 2 samples")
    return array


def as_target_samples(value, target, field: str = "samples") -> np.ndarray:
    """``value`` checked as ``(n, target.dim)`` samples, ``n >= 2``."""
    array = as_samples(value, field)
    if array.shape[1] != target.dim:
        raise DataError(
            field,
            f"has dimension {array.shape[1]} but the target has {target.dim}",
            "pass samples of this target",
        )
    return array


def as_sample_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Two sample sets of the same dimension, checked."""
    x, y = as_samples(x, "x"), as_samples(y, "y")
    if x.shape[1] != y.shape[1]:
        raise DataError(
            "y",
            f"has dimension {y.shape[1]} but x has {x.shape[1]}",
            "compare samples of the same target",
        )
    return x, y


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a_i - b_j|^2`` for all pairs, clipped at 0 against rounding."""
    sq = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


def blocked_sum(n: int, m: int, block_sum: Callable[[slice, slice], float]) -> float:
    """``sum_{i < n, j < m} f(i, j)`` where ``block_sum(rows, cols)`` sums one block."""
    return float(
        sum(
            block_sum(slice(i, i + BLOCK), slice(j, j + BLOCK))
            for i in range(0, n, BLOCK)
            for j in range(0, m, BLOCK)
        )
    )


def pair_mean(a: np.ndarray, b: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> float:
    """``mean_{i, j} fn(|a_i - b_j|^2)`` over all pairs."""
    total = blocked_sum(len(a), len(b), lambda r, c: np.sum(fn(squared_distances(a[r], b[c]))))
    return total / (len(a) * len(b))


def within_mean(a: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> float:
    """``mean_{i != j} fn(|a_i - a_j|^2)``, the U-statistic over distinct pairs."""
    n = len(a)
    total = blocked_sum(n, n, lambda r, c: np.sum(fn(squared_distances(a[r], a[c]))))
    return (total - n * float(fn(np.zeros(1))[0])) / (n * (n - 1))


def to_jax(array: np.ndarray) -> jax.Array:
    """A float64 NumPy array as a JAX array of JAX's default float type."""
    return jnp.asarray(array, dtype=jnp.result_type(float))


@eqx.filter_jit
def batched(fn: Callable, xs: jax.Array) -> jax.Array:
    """``vmap(fn)(xs)``, compiled once per function (a target's bound method is a pytree,
    so a new call with the same target reuses the compiled code)."""
    return jax.vmap(fn)(xs)
