"""Checks on user-supplied values that raise :mod:`scoresample.errors` with a fix: the one
place where the library validates values (sampler settings, constructors, data).

Each check takes the value and the ``field`` it came from (``"mala.step_size"``,
``"network.hidden"``) and returns the value converted, or raises a
:class:`~scoresample.errors.ScoresampleError` naming the field and the fix. Checks of
array contents run only on concrete values: inside ``jit`` or ``vmap`` (traced values)
they are skipped, so validated constructors can still be used in compiled code.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

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


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def positive_float(value, field: str) -> float:
    """A finite number ``> 0``."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(field, f"must be a finite number > 0, got {value!r}", "use e.g. 0.1")
    return float(value)


def optional_positive_float(value, field: str) -> float | None:
    """``None`` or a finite number ``> 0``."""
    return None if value is None else positive_float(value, field)


def required_positive_float(why: str) -> Callable[[Any, str], float]:
    """A check for a setting without a default: a finite number ``> 0``; ``None`` says ``why``."""

    def check(value, field: str) -> float:
        if value is None:
            name = field.rsplit(".", 1)[-1]
            raise ConfigError(field, f"is required ({why})", f"set {name}, e.g. {name} = 0.01")
        return positive_float(value, field)

    return check


def optional_time(value, field: str) -> float | None:
    """``None`` or a time in ``[0, 1]``."""
    if value is not None and (not _is_number(value) or not 0 <= value <= 1):
        raise ConfigError(field, f"must be a time in [0, 1], got {value!r}", "e.g. 0.001")
    return None if value is None else float(value)


def non_negative_int(value, field: str) -> int:
    """An integer ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ConfigError(field, f"must be an integer >= 0, got {value!r}", "use e.g. 0 or 500")
    return int(value)


def probability(value, field: str) -> float:
    """A number strictly between 0 and 1."""
    if not _is_number(value) or not 0 < value < 1:
        raise ConfigError(field, f"must lie strictly between 0 and 1, got {value!r}", "e.g. 0.8")
    return float(value)


def boolean(value, field: str) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(field, f"must be true or false, got {value!r}", "use true or false")
    return bool(value)


def choice(*options: str) -> Callable[[Any, str], str]:
    """A check accepting one of ``options``."""

    def check(value, field: str) -> str:
        if value not in options:
            raise ConfigError(
                field,
                f"must be one of {list(options)}, got {value!r}",
                did_you_mean(value, options),
            )
        return value

    return check


def optional_positive_array(value, field: str) -> np.ndarray | None:
    """``None`` or a finite array with a positive diagonal (a diagonal or a dense matrix)."""
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(field, f"cannot be read as numbers: {value!r}", "give a list") from None
    diagonal = array if array.ndim == 1 else np.diagonal(array) if array.ndim == 2 else None
    if diagonal is None or not np.all(np.isfinite(array)) or not np.all(diagonal > 0):
        raise ConfigError(
            field,
            f"must be a finite vector (d,) or matrix (d, d) with a positive diagonal, got shape "
            f"{array.shape}",
            "give the diagonal of the inverse mass matrix, e.g. [1.0, 1.0]",
        )
    return array


def did_you_mean(word, options) -> str:
    """``"did you mean 'x'?"`` for the closest option, else the list of options."""
    close = difflib.get_close_matches(str(word), list(options), n=1)
    listing = ", ".join(sorted(options))
    return (
        f"did you mean {close[0]!r}? (choose from {listing})" if close else f"choose from {listing}"
    )


def check_position(x, dim: int | None, field: str) -> None:
    """Raise a DataError unless ``x`` is one position of shape ``(dim,)``.

    Shapes are static, so this also runs (once, at trace time) inside ``jit`` and ``vmap``.
    """
    if dim is not None and np.shape(x) != (dim,):
        raise DataError(
            field,
            f"has shape {tuple(np.shape(x))}, expected one position of shape ({dim},)",
            "call it on one position of the model's dimension and vmap over batches",
        )
