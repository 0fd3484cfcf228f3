"""Annealed Langevin dynamics (Song & Ermon 2019, Alg. 1) over a noise process's levels.

For levels ``sigma_1 > ... > sigma_L`` at times ``t_i`` where ``sigma(t_i) = sigma_i``, run
``T`` Langevin steps ``y <- y + h_i s(y, t_i) + sqrt(2 h_i) z`` with
``h_i = h * sigma_i^2 / sigma_L^2``, then optionally denoise by Tweedie's formula
``y + sigma_L^2 s(y, t_L)``. The step ``h`` (the last level's) is in BlackJAX's convention;
the paper writes ``alpha_i = eps sigma_i^2 / sigma_L^2`` with ``y + (alpha_i / 2) s +
sqrt(alpha_i) z``, so ``eps = 2 h`` (:func:`~scoresample.samplers.ula.step_size_from_paper`).

The algorithm is written for a variance-exploding process (``alpha = 1``). For any other
process (the cosine VP schedule) it runs in the variance-exploding view
``Z_t = Y_t / alpha(t) = X + (sigma / alpha) W``, whose score is
``s_Z(z, t) = alpha(t) s(alpha(t) z, t)``: the levels are values of ``sigma / alpha``, and
the particles live at the data's scale throughout (in ``Y``-space they would have to
expand by ``1 / alpha`` between levels, far beyond what Langevin steps can move them).
For VE this is the usual algorithm, unchanged.

On a Lie group or manifold, ``exp_map`` makes the steps geodesic,
``y <- exp_y(h_i s(y, t_i) + sqrt(2 h_i) z)`` (e.g. :func:`scoresample.groups.torus.exp_map`
on the torus, with the score a tangent vector); Tweedie's denoising step is Euclidean and
is then refused.

One step of the returned ``SamplingAlgorithm`` is a whole sweep through all levels from
the state's position: it turns one noise draw into one sample, and costs ``L T`` score
evaluations (plus one to denoise).

References:
    Song & Ermon (2019), Generative modeling by estimating gradients of the data
    distribution, NeurIPS, Alg. 1 and Sec. 3.2; Efron (2011), Tweedie's formula and
    selection bias, JASA 106, Eq. (2.8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.base import SamplingAlgorithm, build_sampling_algorithm
from jaxtyping import Array, Float

from .._types import Position, ScoreFn
from ..errors import ConfigError
from .ula import langevin_update, refuse_non_finite

__all__ = [
    "AnnealedLangevinInfo",
    "AnnealedLangevinSchedule",
    "AnnealedLangevinState",
    "as_top_level_api",
    "build_kernel",
    "init",
    "schedule",
]


class AnnealedLangevinState(NamedTuple):
    """The particle's position."""

    position: Position


class AnnealedLangevinInfo(NamedTuple):
    """``proposal_is_invalid``: some step was not finite (and was refused)."""

    proposal_is_invalid: jax.Array
    n_grad_evals: jax.Array


class AnnealedLangevinSchedule(NamedTuple):
    """Per level: noise scale ``sigma / alpha``, process time, signal scale ``alpha`` and
    Langevin step size."""

    sigmas: Float[Array, " L"]
    times: Float[Array, " L"]
    alphas: Float[Array, " L"]
    step_sizes: Float[Array, " L"]


def schedule(process, sigmas, step_size: float) -> AnnealedLangevinSchedule:
    """Levels ``sigmas`` (decreasing values of ``sigma / alpha``; plain ``sigma`` for VE)
    at times ``t_of_noise_to_signal``, with steps ``h_i = step_size sigma_i^2 / sigma_L^2``."""
    sigmas = jnp.asarray(sigmas, dtype=float)
    steps = step_size * sigmas**2 / sigmas[-1] ** 2
    times = process.t_of_noise_to_signal(sigmas)
    return AnnealedLangevinSchedule(sigmas, times, process.alpha(times), steps)


def _scaled_score(score_fn: ScoreFn, t, alpha) -> Callable:
    """The score of ``Z = Y / alpha`` at time ``t``: ``alpha s(alpha z, t)``."""
    return lambda z: alpha * score_fn(alpha * z, t)


def init(position: Position) -> AnnealedLangevinState:
    """The state at ``position`` (a draw from the broad initial distribution)."""
    return AnnealedLangevinState(position)


def _langevin_level(score_z, h, keys, position, bad, exp_map=None):
    """``len(keys)`` Langevin steps on the score ``score_z``, along ``exp_map`` where given;
    non-finite steps are refused."""

    def one_step(carry, key):
        y, bad = carry
        new = langevin_update(key, y, score_z(y), h)
        new = new if exp_map is None else exp_map(y, new - y)
        return refuse_non_finite(new, y, bad), None

    (position, bad), _ = jax.lax.scan(one_step, (position, bad), keys)
    return position, bad


def build_kernel(
    n_steps_per_level: int = 100, denoise: bool = True, exp_map: Callable | None = None
) -> Callable:
    """A sweep kernel ``(rng_key, state, score_fn, schedule) -> (state, info)``; geodesic
    steps along ``exp_map(y, v)`` where given."""
    if denoise and exp_map is not None:
        raise ConfigError(
            "annealed_langevin.denoise",
            "is Tweedie's Euclidean step, not defined with exp_map",
            "set denoise=False on a group or manifold",
        )

    def kernel(rng_key, state, score_fn: ScoreFn, levels: AnnealedLangevinSchedule):
        n_levels = levels.sigmas.shape[0]
        keys = jax.random.split(rng_key, n_levels * n_steps_per_level)
        keys = keys.reshape(n_levels, n_steps_per_level, *keys.shape[1:])

        def one_level(carry, level):
            t, alpha, h, level_keys = level
            score_z = _scaled_score(score_fn, t, alpha)
            return _langevin_level(score_z, h, level_keys, *carry, exp_map), None

        carry = (state.position, jnp.zeros((), bool))
        per_level = (levels.times, levels.alphas, levels.step_sizes, keys)
        (y, bad), _ = jax.lax.scan(one_level, carry, per_level)
        if denoise:
            last = _scaled_score(score_fn, levels.times[-1], levels.alphas[-1])
            y, bad = refuse_non_finite(y + levels.sigmas[-1] ** 2 * last(y), y, bad)
        n_evals = jnp.int32(n_levels * n_steps_per_level + int(denoise))
        return AnnealedLangevinState(y), AnnealedLangevinInfo(bad, n_evals)

    return kernel


def as_top_level_api(
    score_fn: ScoreFn,
    levels: AnnealedLangevinSchedule,
    n_steps_per_level: int = 100,
    denoise: bool = True,
    exp_map: Callable | None = None,
) -> SamplingAlgorithm:
    """Annealed Langevin as a ``SamplingAlgorithm`` whose step is one full sweep.

    Args:
        score_fn: ``(y, t) -> score`` of the noised marginal at time ``t``.
        levels: from :func:`schedule`.
        n_steps_per_level: ``T``.
        denoise: finish with Tweedie's ``y + sigma_L^2 s(y, t_L)`` (Euclidean only).
        exp_map: ``(y, v) -> exp_y(v)`` for geodesic steps on a group or manifold.

    Example:
        >>> process = VE(1.0, 20.0)
        >>> levels = schedule(process, geometric_levels(20.0, 1.0, 10), step_size=0.05)
        >>> algo = as_top_level_api(score_fn, levels)
        >>> state, info = algo.step(key, algo.init(20.0 * jax.random.normal(key0, (2,))))
    """
    kernel = build_kernel(n_steps_per_level, denoise, exp_map)
    return build_sampling_algorithm(kernel, lambda x, _: init(x), score_fn, kernel_args=(levels,))
