"""Hamiltonian Monte Carlo from BlackJAX, with Stan's window adaptation.

``L`` leapfrog steps of size ``eps`` for ``H(x, p) = -log p(x) + p^T M^{-1} p / 2``, then a
Metropolis test on ``H``; step size and (diagonal or dense) inverse mass matrix are tuned
by :func:`blackjax.window_adaptation` (:func:`window_warmup`, shared with NUTS). Runs on
any log density, including a learned energy (``log p = -E(y, t_min)``).

References:
    Duane et al. (1987), Hybrid Monte Carlo, Phys. Lett. B 195(2); Neal (2011), MCMC using
    Hamiltonian dynamics, Handbook of MCMC, ch. 5, Eq. (5.18)-(5.20); Stan Reference
    Manual, "HMC algorithm parameters" (window adaptation).
"""

from __future__ import annotations

import blackjax
import jax.numpy as jnp
from blackjax.adaptation.base import get_filter_adapt_info_fn
from blackjax.mcmc.hmc import HMCInfo, HMCState, as_top_level_api, build_kernel, init
from blackjax.mcmc.metrics import default_metric

__all__ = [
    "HMCInfo",
    "HMCState",
    "as_top_level_api",
    "build_kernel",
    "energy_at_draw",
    "init",
    "window_warmup",
]


def energy_at_draw(old_state, new_state, info: HMCInfo, parameters: dict) -> dict:
    """``{"energy": H}`` at the kept state: the proposal's ``H`` if accepted, else
    ``-log p(x) + p^T M^{-1} p / 2`` at the start with the momentum drawn for the step
    (BlackJAX's info holds the proposal's ``H``; E-BFMI needs the draw's)."""
    metric = default_metric(parameters["inverse_mass_matrix"])
    kinetic = metric.kinetic_energy(info.momentum)
    return {"energy": jnp.where(info.is_accepted, info.energy, -old_state.logdensity + kinetic)}


def window_warmup(
    algorithm,
    logdensity_fn,
    target_acceptance_rate,
    diagonal: bool,
    grads_per_step: int | None = None,
    **extra,
):
    """BlackJAX window adaptation (Stan's schedule) for ``algorithm`` (``blackjax.hmc`` or
    ``blackjax.nuts``) as ``(rng_key, position, parameters, num_steps) -> (state,
    parameters, n_grad_evals)``, one chain at a time, from the given ``step_size`` and
    ``inverse_mass_matrix`` to the adapted ones, with the gradient evaluations it spent.

    It adapts a diagonal or (``diagonal=False``) a dense matrix. ``extra`` goes to the
    algorithm (``num_integration_steps``, ``max_num_doublings``). The gradients are
    ``num_steps * grads_per_step`` for a fixed cost per step, else (None) the sum of the
    steps' ``info.num_integration_steps`` (NUTS's trajectory lengths).
    """
    kept = set() if grads_per_step is not None else {"num_integration_steps"}

    def warmup(rng_key, position, parameters: dict, num_steps: int):
        adaptation = blackjax.window_adaptation(
            algorithm,
            logdensity_fn,
            is_mass_matrix_diagonal=diagonal,
            initial_inverse_mass_matrix=parameters["inverse_mass_matrix"],
            initial_step_size=parameters["step_size"],
            target_acceptance_rate=target_acceptance_rate,
            adaptation_info_fn=get_filter_adapt_info_fn(info_keys=kept),
            **extra,
        )
        (state, adapted), info = adaptation.run(rng_key, position, num_steps)
        if grads_per_step is None:
            grads = jnp.sum(info.info.num_integration_steps)
        else:
            grads = jnp.asarray(num_steps * grads_per_step)
        parameters = {
            "step_size": adapted["step_size"],
            "inverse_mass_matrix": adapted["inverse_mass_matrix"],
        }
        return state, parameters, grads.astype(jnp.int32)

    return warmup
