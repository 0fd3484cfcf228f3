"""Sampler settings: defaults and checks that raise :class:`ConfigError` with a fix.

Each algorithm module declares ``SETTINGS: dict[str, Setting]``; :func:`make_sampler`
validates user values (from Python or a TOML ``[[sampler]]`` table) against it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._validate import positive_int
from ..errors import ConfigError


class Setting(NamedTuple):
    """A default value, a check ``(value, field) -> value`` and one line of help."""

    default: Any
    check: Callable[[Any, str], Any]
    doc: str


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


def count(value, field: str) -> int:
    """An integer ``>= 1``."""
    return positive_int(value, field)


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


def validate(sampler: str, table: dict[str, Setting], given: dict[str, Any]) -> dict[str, Any]:
    """Defaults of ``table`` updated by ``given``, each value checked; unknown keys raise."""
    for key in given:
        if key not in table:
            raise ConfigError(
                f"{sampler}.{key}", f"is not a setting of {sampler}", did_you_mean(key, table)
            )
    return {
        key: setting.check(given.get(key, setting.default), f"{sampler}.{key}")
        for key, setting in table.items()
    }


def required(settings: dict, key: str, sampler: str, why: str):
    """``settings[key]``, raising a ConfigError that says ``why`` when it is ``None``."""
    if settings[key] is None:
        raise ConfigError(f"{sampler}.{key}", f"is required ({why})", f"set {key}, e.g. 0.01")
    return settings[key]


#: Settings shared by the Markov chain samplers (MALA, HMC, NUTS, ULA).
CHAIN_SETTINGS = {
    "n_chains": Setting(4, count, "number of chains"),
    "num_warmup": Setting(1000, non_negative_int, "adaptation (or burn-in) steps, discarded"),
    "num_samples": Setting(1000, count, "draws kept per chain, after thinning"),
    "thinning": Setting(1, count, "kernel steps per kept draw"),
}
