"""Time ranges of a noise process that samplers may use."""

from __future__ import annotations

from ..errors import ConfigError

#: How far a time range is pulled in from an end where the schedule is singular.
SINGULAR_MARGIN = 1e-3


def time_range(process, t_start: float | None, t_end: float | None) -> tuple[float, float]:
    """``(t_start, t_end)``, defaulting to ``(1, 0)`` pulled in by 1e-3 at a singular end.

    An end is singular where ``sigma(0) = 0`` (the score of the data itself, unbounded for
    a learned model) or ``alpha(1) = 0`` (the VP drift ``d log alpha / dt`` and diffusion
    ``g^2`` blow up), so the cosine VP schedule runs from ``t = 0.999`` to ``t = 0.001``.
    The noise-to-signal ratio must fall from ``t_start`` to ``t_end``: a one-level process
    (``FixedLevel``) has nothing to anneal.
    """
    if t_end is None:
        t_end = 0.0 if float(process.sigma(0.0)) > 0 else SINGULAR_MARGIN
    if t_start is None:
        t_start = 1.0 if float(process.alpha(1.0)) > SINGULAR_MARGIN else 1 - SINGULAR_MARGIN
    if not 0 <= t_end < t_start <= 1:
        raise ConfigError(
            "t_start",
            f"needs 0 <= t_end < t_start <= 1, got t_start = {t_start}, t_end = {t_end}",
            "time runs from t_start (noise) down to t_end (data)",
        )
    start, end = float(process.noise_to_signal(t_start)), float(process.noise_to_signal(t_end))
    if not start > end:
        raise ConfigError(
            "process",
            f"{process} has sigma / alpha {start:.4g} at t_start and {end:.4g} at t_end, "
            "so there is no noise to anneal from",
            "sample a one-level model with ula (or mala on an energy), or train on VE or VP",
        )
    return float(t_start), float(t_end)
