"""Unadjusted Langevin algorithm (ULA), driven by any score ``s(x)``; no log density needed.

``x' = x + h s(x) + sqrt(2 h) z``, ``z ~ N(0, I)``: BlackJAX's convention (the Euler step
of ``dX = s(X) dt + sqrt(2) dB`` with time step ``h``). Papers that write
``x' = x + (eps / 2) s(x) + sqrt(eps) z`` use ``eps = 2 h``: convert with
:func:`step_size_from_paper`. Without a Metropolis correction ULA is biased: on
``N(0, s^2)`` its stationary variance is ``s^2 / (1 - h / (2 s^2))``.

A step whose new position or score is not finite is refused (the chain stays put) and
flagged ``is_divergent``, so a NaN never enters the chain.

On a Lie group or manifold, ``exp_map`` makes the step geodesic (geodesic Langevin,
De Bortoli et al. 2022): ``x' = exp_x(h s(x) + sqrt(2 h) z)`` with the score a tangent
vector, e.g. :func:`scoresample.groups.so3.exp_map`.

References:
    Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
    discrete approximations, Bernoulli 2(4), Eq. (1.2); Durmus & Moulines (2017),
    Nonasymptotic convergence analysis for the unadjusted Langevin algorithm, Eq. (2);
    De Bortoli et al. (2022), Riemannian score-based generative modelling, Sec. 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.base import SamplingAlgorithm, build_sampling_algorithm

from .._types import CleanScoreFn, Position, PRNGKey

__all__ = [
    "ULAInfo",
    "ULAState",
    "as_top_level_api",
    "build_kernel",
    "init",
    "langevin_update",
    "step_size_from_paper",
]


class ULAState(NamedTuple):
    """The position and its score (kept so each step costs one score evaluation)."""

    position: Position
    score: Position


class ULAInfo(NamedTuple):
    """``acceptance_rate`` is 1, or 0 when a non-finite step was refused
    (``proposal_is_invalid``)."""

    acceptance_rate: jax.Array
    proposal_is_invalid: jax.Array


def step_size_from_paper(eps: float) -> float:
    """BlackJAX step ``h = eps / 2`` for a paper's ``x + (eps/2) s + sqrt(eps) z``.

    Example:
        >>> step_size_from_paper(0.1)   # Song & Ermon (2019) write eps; we use h
        0.05
    """
    return eps / 2


def langevin_update(key: PRNGKey, position: Position, score: Position, step_size) -> Position:
    """One Euler step of overdamped Langevin: ``x + h s + sqrt(2 h) z``."""
    noise = jax.random.normal(key, position.shape, position.dtype)
    return position + step_size * score + jnp.sqrt(2 * step_size) * noise


def refuse_non_finite(new: Position, old: Position, bad) -> tuple[Position, jax.Array]:
    """Keep ``old`` where ``new`` has a non-finite entry; ``bad`` records that it happened."""
    finite = jnp.all(jnp.isfinite(new))
    return jnp.where(finite, new, old), bad | ~finite


def init(position: Position, score_fn: CleanScoreFn) -> ULAState:
    """The state at ``position``."""
    return ULAState(position, score_fn(position))


def build_kernel(exp_map: Callable | None = None) -> Callable:
    """A ULA kernel ``(rng_key, state, score_fn, step_size) -> (state, info)``; geodesic
    steps along ``exp_map(x, v)`` where given."""

    def kernel(rng_key, state: ULAState, score_fn: CleanScoreFn, step_size):
        position = langevin_update(rng_key, state.position, state.score, step_size)
        if exp_map is not None:
            position = exp_map(state.position, position - state.position)
        score = score_fn(position)
        finite = jnp.all(jnp.isfinite(position)) & jnp.all(jnp.isfinite(score))
        new_state = jax.tree.map(
            lambda new, old: jnp.where(finite, new, old), ULAState(position, score), state
        )
        return new_state, ULAInfo(finite.astype(position.dtype), ~finite)

    return kernel


def as_top_level_api(
    score_fn: CleanScoreFn, step_size: float, exp_map: Callable | None = None
) -> SamplingAlgorithm:
    """ULA as a BlackJAX ``SamplingAlgorithm``.

    Args:
        score_fn: ``x -> grad log p(x)`` for one position of shape ``(d,)``.
        step_size: ``h`` in ``x + h s + sqrt(2 h) z``.
        exp_map: ``(x, v) -> exp_x(v)`` for geodesic steps on a group or manifold.

    Returns:
        ``SamplingAlgorithm(init, step)``.

    Example:
        >>> algo = as_top_level_api(lambda x: -x, step_size=0.1)
        >>> state, info = algo.step(jax.random.PRNGKey(0), algo.init(jnp.zeros(2)))
    """
    return build_sampling_algorithm(build_kernel(exp_map), init, score_fn, kernel_args=(step_size,))
