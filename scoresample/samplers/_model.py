"""Turn what the user samples (a target, a network, a function) into the function a
sampler needs: a log density, a clean score ``s(x)`` or a noised score ``s(y, t)``.

- Targets have ``log_prob`` and ``score``; those with a closed-form noised marginal
  (``noised(alpha, sigma)``) also give the exact ``s(y, t)`` for a noise process.
- Score networks are ``ScoreFn``\\ s ``model(y, t)``; energy networks add ``energy(y, t)``,
  whose negative at ``t_min`` is a log density for Metropolis-corrected samplers.
- A plain function is a log density (MALA, HMC, NUTS), a score ``s(x)`` (ULA) or a
  ``s(y, t)`` (annealed Langevin, reverse diffusion), by what the sampler needs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import jax

from ..errors import ConfigError


def _takes_time(fn) -> bool:
    """True if ``fn`` takes at least two positional arguments, like ``score_fn(y, t)``."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def log_density_fn(model, t_min: float, sampler: str) -> Callable:
    """``x -> log density``: ``model.log_prob``, ``-model.energy(x, t_min)`` or ``model``."""
    if hasattr(model, "log_prob"):
        return model.log_prob
    if hasattr(model, "energy"):
        return lambda x: -model.energy(x, t_min)
    if callable(model) and not _takes_time(model):
        return model
    raise ConfigError(
        "model",
        f"{sampler} needs a log density, got {type(model).__name__}",
        "pass a target with log_prob, an energy network with energy(y, t), "
        "or a function x -> log density",
    )


def clean_score_fn(model, t_min: float) -> Callable:
    """``x -> score``: ``model.score``, ``model(x, t_min)`` for a network, or ``model``."""
    if hasattr(model, "score"):
        return model.score
    if callable(model):
        return (lambda x: model(x, t_min)) if _takes_time(model) else model
    if hasattr(model, "energy"):
        return jax.grad(lambda x: -model.energy(x, t_min))
    raise ConfigError(
        "model",
        f"ula needs a score, got {type(model).__name__}",
        "pass a target with score, a score network or a function x -> score",
    )


def noised_score_fn(model, process, sampler: str) -> Callable:
    """``(y, t) -> score of the noised marginal``: exact for targets with ``noised``."""
    if process is None:
        raise ConfigError(
            "process",
            f"{sampler} needs a noise process",
            "pass process=VE(sigma_min, sigma_max) or process=VP()",
        )
    if hasattr(model, "noised"):
        return lambda y, t: model.noised(process.alpha(t), process.sigma(t)).score(y)
    if callable(model) and _takes_time(model):
        return model
    raise ConfigError(
        "model",
        f"{sampler} needs a score of the noised marginal s(y, t), got {type(model).__name__}",
        "pass a score network, a function (y, t) -> score, or a target with noised(alpha, sigma)",
    )


def model_dim(model) -> int | None:
    """``model.dim`` where it exists, else ``None``."""
    dim = getattr(model, "dim", None)
    return int(dim) if dim is not None else None


def coordinate_names(model) -> list[str] | None:
    """``model.coordinate_names()`` where it exists (NumPyro targets), else ``None``."""
    names = getattr(model, "coordinate_names", None)
    return list(names()) if callable(names) else None
