"""What :func:`scoresample.samplers.run` needs from one sampler: per-chain pure functions.

Every algorithm module turns its validated settings and a model into a :class:`Plan`.
``run`` vmaps the plan's functions over chains, shards them over devices and scans them,
so a plan never sees a batch, a device or a progress bar. ``run`` calls ``plan(settings,
model, ...)`` twice: on the host (for ``params``, ``prior``, ``report``, ...) and inside
each compiled function with the model's arrays traced (so they are runtime arguments,
not constants); a plan therefore uses the model only inside its functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class Plan(NamedTuple):
    """Per-chain functions and parameters for one sampler.

    Attributes:
        init: ``position (d,) -> state``.
        step: ``(key, state, params) -> (state, stats)``; ``stats`` maps names of
            :data:`scoresample.chains.STAT_NAMES` to scalars, plus ``"non_finite"``
            (required). ``run`` adds ``non_finite`` into ``diverging`` (the kernel's own
            divergences, if any) and ``params["step_size"]`` as ``step_size``, so a step
            does not carry values that are constant or duplicated through its scan.
        params: per-chain parameters used when no adaptation runs (an unbatched pytree).
        warmup: ``(key, position, num_steps) -> (state, params)``, the adaptation, or
            ``None`` (then warm-up steps are plain burn-in with ``params``).
        prior: ``(key, n, dim) -> (n, dim)`` default initial positions, or ``None`` for
            standard normal draws.
        particles: ``True`` when one step is a whole sweep that yields one independent
            draw per chain (annealed Langevin, reverse diffusion).
        report: settings to record in :attr:`Chains.settings` (levels, grids, ...).
        constants: statistics that are the same for every kernel step (``n_grad_evals``
            of MALA, ULA, HMC and the sweeps); ``run`` fills them in (``n_grad_evals``
            times ``thinning``) instead of carrying them through the scan.
    """

    init: Callable
    step: Callable
    params: Any
    warmup: Callable | None = None
    prior: Callable | None = None
    particles: bool = False
    report: dict | None = None
    constants: dict | None = None


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
