"""Checks on user-supplied values that raise :mod:`scoresample.errors` with a fix.

Checks run only on concrete values: inside ``jit`` or ``vmap`` (traced values) they
are skipped, so validated constructors can still be used in compiled code.
"""

from __future__ import annotations

import jax
import numpy as np

from .errors import ConfigError, DataError, NonFiniteError


def is_traced(value) -> bool:
    """True if ``value`` is a JAX tracer (we are inside a transformation)."""
    return isinstance(value, jax.core.Tracer)


def finite_array(value, field: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float NumPy array, optionally of rank ``ndim``."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(
            field, f"cannot be read as numbers ({exc})", "pass an array of floats"
        ) from None
    if ndim is not None and array.ndim != ndim:
        raise DataError(
            field,
            f"has {array.ndim} dimensions (shape {array.shape}), expected {ndim}",
            "reshape it to the documented shape",
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise NonFiniteError(
            field, f"contains {bad} NaN or infinite values", "remove or replace them"
        )
    return array


def positive(value, field: str) -> None:
    """Raise unless every entry of concrete ``value`` is strictly positive."""
    if is_traced(value):
        return
    array = np.asarray(value)
    if not np.all(array > 0):
        raise ConfigError(field, f"must be > 0, got {array.min():g}", "use a positive value")


def positive_int(value, field: str) -> int:
    """Return ``value`` as an int, raising unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ConfigError(
            field, f"must be a positive integer, got {value!r}", "use an integer >= 1"
        )
    return int(value)
