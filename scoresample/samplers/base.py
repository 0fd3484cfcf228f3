"""A sampler built for one model: BlackJAX's ``SamplingAlgorithm`` with its warm-up and
metadata, and the ArviZ statistics read off any BlackJAX step.

BlackJAX's top-level API builds a ``SamplingAlgorithm(init, step)`` from a model and
parameters (``blackjax.nuts(logdensity_fn, step_size, inverse_mass_matrix)``); an
adaptation returns the parameters to build it with. :class:`Sampler` is exactly that,
with the model bound: ``algorithm(**shared, **parameters)``, the per-chain
``parameters`` to use without warm-up, a ``warmup`` that returns adapted ones, arrays
``shared`` by every chain (schedules), and what :func:`scoresample.samplers.run` must know
(independent particles or Markov chains, gradient evaluations per step, whether
trajectories have data-dependent lengths).

Every value a user may sweep (step sizes, mass matrices, noise levels, time grids) is
a parameter or a shared array, never a constant of the algorithm: ``run`` passes them
to its compiled programs as arguments, so a new value compiles nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from blackjax.base import SamplingAlgorithm


class Sampler(NamedTuple):
    """A sampler with its model bound.

    Attributes:
        algorithm: ``algorithm(**shared, **parameters) -> SamplingAlgorithm`` (BlackJAX's
            shape).
        parameters: per-chain arrays, used when no warm-up runs and where the warm-up
            starts (may be empty).
        warmup: ``(rng_key, position, parameters, num_steps) -> (state, parameters,
            n_grad_evals)``, each chain adapting its own parameters from the given ones
            and counting the gradients it spent; None makes warm-up steps plain burn-in.
        particles: one step turns its starting point into one independent draw (annealed
            Langevin, reverse diffusion) rather than moving a Markov chain.
        grad_evals_per_step: score or gradient evaluations per step; None reads them from
            ``info.num_integration_steps`` (NUTS) where the algorithm reports it.
        prior: ``(rng_key, n, dim) -> (n, dim)`` default starting points; None for
            ``N(0, I)``.
        report: settings to record in :attr:`scoresample.Chains.settings`.
        extra_stats: ``(old_state, new_state, info, parameters) -> dict`` of statistics
            that :func:`draw_stats` cannot read off ``info`` (HMC's energy at the draw).
        shared: arrays the same for every chain (a noise schedule, a time grid).
        variable_length: a step's cost depends on the state (NUTS's tree depth), so
            vectorised chains wait for the slowest; ``run`` may run them one by one.
    """

    algorithm: Callable[..., SamplingAlgorithm]
    parameters: dict[str, Any]
    warmup: Callable | None = None
    particles: bool = False
    grad_evals_per_step: int | None = None
    prior: Callable | None = None
    report: dict | None = None
    extra_stats: Callable | None = None
    shared: dict[str, Any] | None = None
    variable_length: bool = False


def from_algorithm(algorithm: SamplingAlgorithm, particles: bool = False) -> Sampler:
    """A :class:`Sampler` around a ready ``SamplingAlgorithm`` (BlackJAX's or ours)."""
    return Sampler(lambda: algorithm, {}, particles=particles)


#: ArviZ statistic -> the field of a BlackJAX info that holds it.
INFO_FIELDS = {
    "acceptance_rate": "acceptance_rate",
    "diverging": "is_divergent",
    "n_steps": "num_integration_steps",
    "tree_depth": "num_trajectory_expansions",
}


def draw_stats(state, info) -> dict[str, jax.Array]:
    """The ArviZ statistics of one step, read off BlackJAX's state and info by field name.

    ``energy`` is taken from infos that report the Hamiltonian of the kept state (NUTS);
    an info with ``is_accepted`` (HMC) reports the proposal's, so it is left to the
    sampler's ``extra_stats``. ``non_finite`` (always present) says that the step met a
    NaN or ``+inf`` log density or a non-finite score: in the kept state, in
    ``info.proposal`` (HMC), at the trajectory's ends (NUTS), or as our kernels'
    ``proposal_is_invalid`` (refused or rejected non-finite proposals).
    """
    stats = {name: getattr(info, f) for name, f in INFO_FIELDS.items() if hasattr(info, f)}
    if hasattr(info, "energy") and not hasattr(info, "is_accepted"):
        stats["energy"] = info.energy
    if hasattr(state, "logdensity"):
        stats["lp"] = state.logdensity
    stats["non_finite"] = _non_finite(state, info)
    return stats


def _non_finite(state, info) -> jax.Array:
    flags = [~jnp.all(jnp.isfinite(state.position))]
    if hasattr(info, "proposal_is_invalid"):
        flags.append(info.proposal_is_invalid)
    visited = [state] + [
        getattr(info, name)
        for name in ("proposal", "trajectory_leftmost_state", "trajectory_rightmost_state")
        if hasattr(info, name)
    ]
    flags += [
        is_invalid(s.logdensity, getattr(s, "logdensity_grad", jnp.zeros(())))
        for s in visited
        if hasattr(s, "logdensity")
    ]
    return jnp.any(jnp.stack(flags))


def is_invalid(logdensity, grad) -> jax.Array:
    """True where a state's log density or score is unusable.

    A NaN or ``+inf`` log density, or a finite log density with a non-finite score,
    signals a bug in the model; ``-inf`` (outside the support) is a legitimate rejection.
    """
    bad_grad = ~jnp.all(jnp.isfinite(grad))
    return jnp.isnan(logdensity) | (logdensity == jnp.inf) | (jnp.isfinite(logdensity) & bad_grad)


def normal_prior(scale: float = 1.0) -> Callable:
    """Initial positions ``scale * N(0, I)``."""

    def prior(key, n: int, dim: int) -> jax.Array:
        return scale * jax.random.normal(key, (n, dim))

    return prior
