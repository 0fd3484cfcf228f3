"""Metropolis-adjusted Langevin (MALA) with a constant preconditioner, and its warm-ups.

Proposal ``x' = x + h M^{-1} grad log p(x) + sqrt(2 h) M^{-1/2} z`` with ``z ~ N(0, I)``,
accepted with probability ``min(1, p(x') q(x | x') / (p(x) q(x' | x)))`` where
``-log q(x | x') = |x - x' - h M^{-1} grad log p(x')|_M^2 / (4 h) + const`` and
``|v|_M^2 = v^T M v``; it leaves ``p`` exactly invariant for any fixed positive definite
inverse mass matrix ``M^{-1}``, diagonal ``(d,)`` or dense ``(d, d)``. ``M^{-1/2}`` is the
lower Cholesky factor ``L`` of ``M^{-1}`` (``L L^T = M^{-1}``) and ``|v|_M = |L^{-1} v|``,
both from the Gaussian Euclidean metric of :mod:`blackjax.mcmc.metrics` (the factor
HMC draws its momenta with). With ``M^{-1} = I`` (the default) it is BlackJAX's MALA,
draw for draw. Papers writing ``x + (eps^2 / 2) G^{-1} grad log p + eps G^{-1/2} z`` use
``eps^2 = 2 h`` and ``G = M``.

Warm-up (:func:`window_warmup`, the sampler's default): Stan's windowed adaptation run by
:func:`blackjax.window_adaptation` on this kernel (which has the HMC kernel's signature):
a fast window tuning ``h`` alone, slow windows doubling in size that estimate the
(co)variance of the draws, regularised as Stan does (``n / (n + 5) Cov + 5 / (n + 5)
10^{-3} I``) and used as ``M^{-1}`` for the next window, and a final fast window; ``h``
follows Nesterov dual averaging towards the acceptance rate ``0.574`` (optimal as
``d -> infinity`` for product targets), restarted at each window.
:func:`dual_averaging_warmup` tunes ``h`` alone for a fixed ``M^{-1}``. Runs on any log
density, including a learned energy (``log p = -E(y, t_min)``).

References:
    Roberts & Tweedie (1996), Bernoulli 2(4), Sec. 1.4 (MALA); Roberts & Stramer (2002),
    Langevin diffusions and Metropolis-Hastings algorithms, Methodol. Comput. Appl.
    Probab. 4(4), Sec. 2 (preconditioned Langevin proposals); Girolami & Calderhead
    (2011), Riemann manifold Langevin and Hamiltonian Monte Carlo methods, JRSS B 73(2),
    Sec. 5 (MMALA; a constant metric ``G`` gives the proposal above); Roberts & Rosenthal
    (1998), JRSS B 60(1), Theorem 1 (acceptance 0.574); Hoffman & Gelman (2014), JMLR 15,
    Sec. 3.2.1 (dual averaging); Stan Reference Manual, "HMC algorithm parameters"
    (adaptation windows).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.adaptation.step_size import dual_averaging_adaptation
from blackjax.base import SamplingAlgorithm, build_sampling_algorithm
from blackjax.mcmc.mala import MALAState, init
from blackjax.mcmc.metrics import default_metric
from blackjax.mcmc.proposal import compute_asymmetric_acceptance_ratio, static_binomial_sampling
from blackjax.util import generate_gaussian_noise, linear_map
from jaxtyping import Array, Float

from .._types import LogDensityFn
from . import hmc
from .base import is_invalid

__all__ = [
    "MALAInfo",
    "MALAState",
    "as_top_level_api",
    "build_kernel",
    "dual_averaging_warmup",
    "init",
    "window_warmup",
]

#: A diagonal ``(d,)`` or dense ``(d, d)`` inverse mass matrix; None is the identity.
InverseMassMatrix = Float[Array, " d"] | Float[Array, "d d"] | None


class MALAInfo(NamedTuple):
    """BlackJAX's MALA information, plus whether the proposal was not finite."""

    acceptance_rate: jax.Array
    is_accepted: jax.Array
    proposal_is_invalid: jax.Array


def _proposal(key, state: MALAState, logdensity_fn, step_size, inverse_mass_matrix, metric):
    """``x + h M^{-1} grad log p(x) + sqrt(2 h) L z`` with its log density and score; the
    expression of BlackJAX's ``overdamped_langevin``, so ``M^{-1} = 1`` gives its bits."""
    noise = metric.scale(
        state.position, generate_gaussian_noise(key, state.position), inv=True, trans=False
    )
    drift = linear_map(inverse_mass_matrix, state.logdensity_grad)
    position = state.position + step_size * drift + jnp.sqrt(2 * step_size) * noise
    return MALAState(position, *jax.value_and_grad(logdensity_fn)(position))


def _transition_energy(state, new_state, step_size, inverse_mass_matrix, metric):
    """``-log p(x') + |L^{-1} (x - x' - h M^{-1} grad log p(x'))|^2 / (4 h)``: minus the log
    of ``p(x') q(x | x')`` up to a constant, for flat positions."""
    drift = linear_map(inverse_mass_matrix, new_state.logdensity_grad)
    theta = state.position - new_state.position - step_size * drift
    whitened = metric.scale(new_state.position, theta, inv=False, trans=True)
    return -new_state.logdensity + 0.25 * (1.0 / step_size) * jnp.sum(whitened * whitened)


def build_kernel():
    """The kernel ``(rng_key, state, logdensity_fn, step_size, inverse_mass_matrix=None)``
    of preconditioned MALA, in the signature of BlackJAX's HMC kernel (so BlackJAX's
    adaptations run it). With ``inverse_mass_matrix`` None or ones it draws exactly what
    ``blackjax.mala`` draws with the same keys; its info also says whether the proposal's
    log density or score was not finite (BlackJAX's cannot tell a NaN proposal from an
    ordinary rejection)."""
    acceptance_ratio = compute_asymmetric_acceptance_ratio(_transition_energy)

    def kernel(
        rng_key,
        state: MALAState,
        logdensity_fn: LogDensityFn,
        step_size,
        inverse_mass_matrix: InverseMassMatrix = None,
    ):
        if inverse_mass_matrix is None:
            inverse_mass_matrix = jnp.ones_like(state.position)
        metric = default_metric(inverse_mass_matrix)
        key_proposal, key_accept = jax.random.split(rng_key)
        preconditioner = {"inverse_mass_matrix": inverse_mass_matrix, "metric": metric}
        proposal = _proposal(key_proposal, state, logdensity_fn, step_size, **preconditioner)
        log_p_accept = acceptance_ratio(state, proposal, step_size=step_size, **preconditioner)
        new_state, (accepted, p_accept, _) = static_binomial_sampling(
            key_accept, log_p_accept, state, proposal
        )
        invalid = is_invalid(proposal.logdensity, proposal.logdensity_grad)
        return new_state, MALAInfo(p_accept, accepted, invalid)

    return kernel


def as_top_level_api(
    logdensity_fn: LogDensityFn, step_size: float, inverse_mass_matrix: InverseMassMatrix = None
) -> SamplingAlgorithm:
    """Preconditioned MALA as a BlackJAX ``SamplingAlgorithm``; without
    ``inverse_mass_matrix`` (the identity), ``blackjax.mala`` itself.

    Args:
        logdensity_fn: ``x -> log p(x)`` (unnormalised is fine) on flat positions ``(d,)``.
        step_size: ``h`` in ``x + h M^{-1} grad log p(x) + sqrt(2 h) M^{-1/2} z``.
        inverse_mass_matrix: ``M^{-1}``, diagonal ``(d,)`` or dense ``(d, d)``, ideally
            the target's (co)variance; None for the identity.

    Example:
        >>> algo = as_top_level_api(lambda x: -0.5 * x @ x, 0.5, jnp.array([1.0, 4.0]))
        >>> state, info = algo.step(jax.random.PRNGKey(0), algo.init(jnp.zeros(2)))
    """
    return build_sampling_algorithm(
        build_kernel(), init, logdensity_fn, kernel_args=(step_size, inverse_mass_matrix)
    )


def window_warmup(logdensity_fn: LogDensityFn, target_acceptance_rate=0.574, diagonal=True):
    """Stan's windowed adaptation of ``h`` and ``M^{-1}`` (BlackJAX's
    :func:`~blackjax.window_adaptation` on this kernel, as for HMC) as ``(rng_key,
    position, parameters, num_steps) -> (state, {"step_size", "inverse_mass_matrix"},
    n_grad_evals)``, one chain, from the given parameters; ``diagonal=False`` adapts a
    dense matrix. Fewer than 20 steps adapt ``h`` alone (BlackJAX's schedule has no slow
    window then). One gradient per step.

    Example:
        >>> start = {"step_size": jnp.asarray(1.0), "inverse_mass_matrix": jnp.ones(3)}
        >>> warmup = window_warmup(lambda x: -0.5 * x @ x)
        >>> state, params, n_grad_evals = warmup(jax.random.PRNGKey(0), jnp.zeros(3), start, 500)
    """
    # This module has the shape of a BlackJAX algorithm (``init``, ``build_kernel``).
    algorithm = sys.modules[__name__]
    return hmc.window_warmup(algorithm, logdensity_fn, target_acceptance_rate, diagonal, 1)


def dual_averaging_warmup(logdensity_fn: LogDensityFn, target_acceptance_rate=0.574):
    """Step size alone for the given, fixed ``parameters["inverse_mass_matrix"]``, as
    ``(rng_key, position, parameters, num_steps) -> (state, {"step_size",
    "inverse_mass_matrix"}, n_grad_evals)``, starting from ``parameters["step_size"]`` (one
    gradient per step).

    ``log h_{t+1} = mu - sqrt(t) / (gamma (t + t0)) sum_i (target - a_i)``, the returned
    ``h`` being the weighted average of the iterates (Hoffman & Gelman 2014, Eq. 6).

    Example:
        >>> start = {"step_size": jnp.asarray(1.0), "inverse_mass_matrix": jnp.ones(3)}
        >>> warmup = dual_averaging_warmup(lambda x: -0.5 * x @ x)
        >>> state, params, n_grad_evals = warmup(jax.random.PRNGKey(0), jnp.zeros(3), start, 200)
    """
    da_init, da_update, da_final = dual_averaging_adaptation(target_acceptance_rate)
    kernel = build_kernel()

    def warmup(rng_key, position, parameters: dict, num_steps: int):
        inverse_mass_matrix = parameters["inverse_mass_matrix"]

        def one_step(carry, key):
            state, da_state = carry
            step_size = jnp.exp(da_state.log_step_size)
            state, info = kernel(key, state, logdensity_fn, step_size, inverse_mass_matrix)
            return (state, da_update(da_state, info.acceptance_rate)), None

        carry = (init(position, logdensity_fn), da_init(parameters["step_size"]))
        (state, da_state), _ = jax.lax.scan(one_step, carry, jax.random.split(rng_key, num_steps))
        parameters = {"step_size": da_final(da_state), "inverse_mass_matrix": inverse_mass_matrix}
        return state, parameters, jnp.asarray(num_steps, jnp.int32)

    return warmup
