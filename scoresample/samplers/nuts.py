"""The No-U-Turn Sampler from BlackJAX, with Stan's window adaptation.

HMC whose trajectory doubles in a random direction until it makes a U-turn (or reaches
``2^max_num_doublings`` leapfrog steps), then draws the next state from the trajectory
by multinomial sampling on ``exp(-H)``. Step size and inverse mass matrix are tuned by
:func:`blackjax.window_adaptation`. Runs on any log density, including a learned energy.

References:
    Hoffman & Gelman (2014), The No-U-Turn Sampler, JMLR 15, Alg. 3 and 6; Betancourt
    (2017), A conceptual introduction to Hamiltonian Monte Carlo, arXiv:1701.02434,
    Sec. A.3 (multinomial sampling).
"""

from __future__ import annotations

import blackjax
from blackjax.mcmc.hmc import HMCState as NUTSState
from blackjax.mcmc.nuts import NUTSInfo, as_top_level_api, build_kernel, init

from . import _hmc_family as family
from . import _settings as S
from ._model import log_density_fn
from ._plan import Plan, is_invalid

__all__ = ["SETTINGS", "NUTSInfo", "NUTSState", "as_top_level_api", "build_kernel", "init"]

SETTINGS = {
    **family.SETTINGS,
    "max_num_doublings": S.Setting(10, S.count, "maximum tree depth"),
}


def plan(settings: dict, model, *, t_min: float = 0.0, dim: int | None = None, **_) -> Plan:
    """NUTS on ``model``'s log density; window adaptation unless ``num_warmup = 0``."""
    logdensity_fn = log_density_fn(model, t_min, "nuts")
    params = family.initial_parameters(settings, "nuts", dim)
    max_doublings = settings["max_num_doublings"]
    kernel = build_kernel()

    def step(key, state, params):
        new_state, info = kernel(
            key,
            state,
            logdensity_fn,
            params["step_size"],
            params["inverse_mass_matrix"],
            max_doublings,
        )
        ends = (info.trajectory_leftmost_state, info.trajectory_rightmost_state)
        non_finite = is_invalid(ends[0].logdensity, ends[0].logdensity_grad) | is_invalid(
            ends[1].logdensity, ends[1].logdensity_grad
        )
        stats = family.trajectory_stats(new_state, info, info.energy, non_finite)
        stats["tree_depth"] = info.num_trajectory_expansions
        stats["n_steps"] = stats["n_grad_evals"] = info.num_integration_steps
        return new_state, stats

    warmup = family.window_warmup(
        blackjax.nuts, logdensity_fn, settings, params, max_num_doublings=max_doublings
    )
    return Plan(lambda x: init(x, logdensity_fn), step, params, warmup=warmup)
