"""Hamiltonian Monte Carlo from BlackJAX, with Stan's window adaptation.

``L`` leapfrog steps of size ``eps`` for ``H(x, p) = -log p(x) + p^T M^{-1} p / 2``, then a
Metropolis test on ``H``; step size and (diagonal or dense) inverse mass matrix are tuned
by :func:`blackjax.window_adaptation`. Runs on any log density, including a learned
energy (``log p = -E(y, t_min)``).

References:
    Duane et al. (1987), Hybrid Monte Carlo, Phys. Lett. B 195(2); Neal (2011), MCMC using
    Hamiltonian dynamics, Handbook of MCMC, ch. 5, Eq. (5.18)-(5.20); Stan Reference
    Manual, "HMC algorithm parameters" (window adaptation).
"""

from __future__ import annotations

import blackjax
import jax.numpy as jnp
from blackjax.mcmc.hmc import HMCInfo, HMCState, as_top_level_api, build_kernel, init
from blackjax.mcmc.metrics import default_metric

from . import _hmc_family as family
from . import _settings as S
from ._model import log_density_fn
from ._plan import Plan, is_invalid

__all__ = ["SETTINGS", "HMCInfo", "HMCState", "as_top_level_api", "build_kernel", "init"]

SETTINGS = {
    **family.SETTINGS,
    "num_integration_steps": S.Setting(10, S.count, "leapfrog steps per transition"),
}


def _energy_at_draw(old_state, info, inverse_mass_matrix):
    """``H`` at the kept state: the proposal's if accepted, else the starting one's."""
    kinetic = default_metric(inverse_mass_matrix).kinetic_energy(info.momentum)
    return jnp.where(info.is_accepted, info.energy, -old_state.logdensity + kinetic)


def plan(settings: dict, model, *, t_min: float = 0.0, dim: int | None = None, **_) -> Plan:
    """HMC on ``model``'s log density; window adaptation unless ``num_warmup = 0``."""
    logdensity_fn = log_density_fn(model, t_min, "hmc")
    params = family.initial_parameters(settings, "hmc", dim)
    n_leapfrog = settings["num_integration_steps"]
    kernel = build_kernel()

    def step(key, state, params):
        matrix = params["inverse_mass_matrix"]
        new_state, info = kernel(key, state, logdensity_fn, params["step_size"], matrix, n_leapfrog)
        proposal = info.proposal
        stats = family.trajectory_stats(
            new_state,
            info,
            _energy_at_draw(state, info, matrix),
            is_invalid(proposal.logdensity, proposal.logdensity_grad),
        )
        return new_state, stats

    warmup = family.window_warmup(
        blackjax.hmc, logdensity_fn, settings, params, num_integration_steps=n_leapfrog
    )
    constants = {"n_steps": n_leapfrog, "n_grad_evals": n_leapfrog}
    return Plan(lambda x: init(x, logdensity_fn), step, params, warmup, constants=constants)
