"""Metropolis-adjusted Langevin (MALA) from BlackJAX, with a dual-averaging step size.

Proposal ``x' = x + h grad log p(x) + sqrt(2 h) z``, accepted with the Metropolis-Hastings
probability of the asymmetric Gaussian proposal; it leaves ``p`` exactly invariant.
BlackJAX's window adaptation does not accept MALA, so the warm-up tunes ``h`` alone by
Nesterov dual averaging towards the acceptance rate ``0.574`` that is optimal as
``d -> infinity`` for product targets. It runs on any log density, including a learned
energy (``log p = -E(y, t_min)``): a Metropolis-corrected learned model.

References:
    Roberts & Tweedie (1996), Bernoulli 2(4), Sec. 1.4 (MALA); Roberts & Rosenthal (1998),
    Optimal scaling of discrete approximations to Langevin diffusions, JRSS B 60(1),
    Theorem 1 (acceptance 0.574); Hoffman & Gelman (2014), JMLR 15, Sec. 3.2.1 (dual
    averaging).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.adaptation.step_size import dual_averaging_adaptation
from blackjax.base import SamplingAlgorithm, build_sampling_algorithm
from blackjax.mcmc.diffusions import overdamped_langevin
from blackjax.mcmc.mala import MALAState, init
from blackjax.mcmc.proposal import compute_asymmetric_acceptance_ratio, static_binomial_sampling

from .._types import LogDensityFn
from .base import is_invalid

__all__ = [
    "MALAInfo",
    "MALAState",
    "as_top_level_api",
    "build_kernel",
    "dual_averaging_warmup",
    "init",
]


class MALAInfo(NamedTuple):
    """BlackJAX's MALA information, plus whether the proposal was not finite."""

    acceptance_rate: jax.Array
    is_accepted: jax.Array
    proposal_is_invalid: jax.Array


def _transition_energy(state, new_state, step_size):
    """``-log p(x') + |x - x' - h grad log p(x')|^2 / (4 h)`` for flat positions."""
    theta = state.position - new_state.position - step_size * new_state.logdensity_grad
    return -new_state.logdensity + 0.25 * (1.0 / step_size) * jnp.sum(theta * theta)


def build_kernel():
    """BlackJAX's MALA kernel ``(rng_key, state, logdensity_fn, step_size)``, composed from
    the same parts with the same keys (identical draws), whose info also says whether the
    proposal's log density or score was not finite; BlackJAX's own info cannot tell a
    NaN proposal from an ordinary rejection."""
    acceptance_ratio = compute_asymmetric_acceptance_ratio(_transition_energy)

    def kernel(rng_key, state: MALAState, logdensity_fn: LogDensityFn, step_size):
        integrator = overdamped_langevin(jax.value_and_grad(logdensity_fn))
        key_integrator, key_accept = jax.random.split(rng_key)
        proposal = MALAState(*integrator(key_integrator, state, step_size))
        log_p_accept = acceptance_ratio(state, proposal, step_size=step_size)
        new_state, (accepted, p_accept, _) = static_binomial_sampling(
            key_accept, log_p_accept, state, proposal
        )
        invalid = is_invalid(proposal.logdensity, proposal.logdensity_grad)
        return new_state, MALAInfo(p_accept, accepted, invalid)

    return kernel


def as_top_level_api(logdensity_fn: LogDensityFn, step_size: float) -> SamplingAlgorithm:
    """MALA as a BlackJAX ``SamplingAlgorithm`` (as ``blackjax.mala``).

    Example:
        >>> algo = as_top_level_api(lambda x: -0.5 * x @ x, step_size=0.5)
        >>> state, info = algo.step(jax.random.PRNGKey(0), algo.init(jnp.zeros(2)))
    """
    return build_sampling_algorithm(build_kernel(), init, logdensity_fn, kernel_args=(step_size,))


def dual_averaging_warmup(logdensity_fn, target: float = 0.574):
    """A MALA warm-up ``(key, position, {"step_size": h0}, num_steps) -> (state,
    {"step_size": h})`` that starts from ``h0``.

    ``log h_{t+1} = mu - sqrt(t) / (gamma (t + t0)) sum_i (target - a_i)``, the returned
    ``h`` being the weighted average of the iterates (Hoffman & Gelman 2014, Eq. 6).

    Example:
        >>> warmup = dual_averaging_warmup(lambda x: -0.5 * x @ x)
        >>> state, params = warmup(jax.random.PRNGKey(0), jnp.zeros(3), {"step_size": 1.0}, 200)
    """
    da_init, da_update, da_final = dual_averaging_adaptation(target)
    kernel = build_kernel()

    def one_step(carry, key):
        state, da_state = carry
        state, info = kernel(key, state, logdensity_fn, jnp.exp(da_state.log_step_size))
        return (state, da_update(da_state, info.acceptance_rate)), None

    def warmup(key, position, parameters: dict, num_steps: int):
        carry = (init(position, logdensity_fn), da_init(parameters["step_size"]))
        (state, da_state), _ = jax.lax.scan(one_step, carry, jax.random.split(key, num_steps))
        return state, {"step_size": da_final(da_state)}

    return warmup
