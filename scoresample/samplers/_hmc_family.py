"""What HMC and NUTS share: Stan-style window adaptation, parameters and statistics."""

from __future__ import annotations

import blackjax
import jax.numpy as jnp
import numpy as np
from blackjax.adaptation.base import get_filter_adapt_info_fn

from ..errors import ConfigError
from . import _settings as S
from ._plan import is_invalid

SETTINGS = {
    **S.CHAIN_SETTINGS,
    "step_size": S.Setting(
        None, S.optional_positive_float, "leapfrog step; the warm-up's starting value (1.0)"
    ),
    "inverse_mass_matrix": S.Setting(
        None, S.optional_positive_array, "diagonal (d,) or dense (d, d); default identity"
    ),
    "dense_mass": S.Setting(False, S.boolean, "adapt a dense instead of a diagonal matrix"),
    "target_acceptance_rate": S.Setting(0.8, S.probability, "dual-averaging target"),
}


def initial_parameters(settings: dict, sampler: str, dim: int | None) -> dict:
    """Step size and inverse mass matrix before (or without) adaptation."""
    if settings["num_warmup"] == 0:
        S.required(settings, "step_size", sampler, "no warm-up adapts it when num_warmup = 0")
    matrix = settings["inverse_mass_matrix"]
    if matrix is None:
        matrix = np.eye(dim) if settings["dense_mass"] else np.ones(dim)
    elif matrix.shape[0] != dim or (matrix.ndim == 2 and matrix.shape != (dim, dim)):
        raise ConfigError(
            f"{sampler}.inverse_mass_matrix",
            f"has shape {matrix.shape} for a target of dimension {dim}",
            f"give ({dim},) or ({dim}, {dim}) values",
        )
    if settings["dense_mass"] and matrix.ndim == 1:
        matrix = np.diag(matrix)
    return {
        "step_size": jnp.asarray(settings["step_size"] or 1.0),
        "inverse_mass_matrix": jnp.asarray(matrix, dtype=float),
    }


def window_warmup(algorithm, logdensity_fn, settings: dict, params: dict, **extra):
    """BlackJAX window adaptation (Stan's schedule) as ``(key, position, num_steps)
    -> (state, {"step_size", "inverse_mass_matrix"})``, one chain at a time."""
    adaptation = blackjax.window_adaptation(
        algorithm,
        logdensity_fn,
        is_mass_matrix_diagonal=params["inverse_mass_matrix"].ndim == 1,
        initial_inverse_mass_matrix=params["inverse_mass_matrix"],
        initial_step_size=params["step_size"],
        target_acceptance_rate=settings["target_acceptance_rate"],
        adaptation_info_fn=get_filter_adapt_info_fn(),
        **extra,
    )

    def warmup(key, position, num_steps: int):
        (state, parameters), _ = adaptation.run(key, position, num_steps)
        return state, {
            "step_size": parameters["step_size"],
            "inverse_mass_matrix": parameters["inverse_mass_matrix"],
        }

    return warmup


def trajectory_stats(state, info, energy, non_finite) -> dict:
    """The ArviZ statistics of one HMC or NUTS transition."""
    return {
        "acceptance_rate": info.acceptance_rate,
        "diverging": info.is_divergent,
        "non_finite": non_finite | is_invalid(state.logdensity, state.logdensity_grad),
        "energy": energy,
        "lp": state.logdensity,
    }
