"""Relaxation of starting points: steepest descent on the energy, until each point's
energy is at most a bound.

A learned sampler of a particle system sometimes puts two particles almost on top of
each other. There the Lennard-Jones wall gives energies of 1e10 and forces of 1e12, and
no Markov chain started there follows them: its step size adapts to the wall and the
chain stays where it started. Molecular simulation meets the same problem with every
hand-built or generated configuration and removes the overlaps by energy minimisation
before dynamics (steepest descent with an adaptive step length; e.g. GROMACS's ``em``
integrator, Abraham et al. 2015). Here each point above the bound
``max_energy`` moves down its force until it is at or below the bound, and no further:
the points are not minimised, only brought to energies a chain can start from.

One step of size ``delta`` (Euclidean, over all coordinates) along the force,

    x' = x - delta * grad E(x) / |grad E(x)|,

is taken if ``E(x') < E(x)``, and ``delta`` grows by 1.2 (from ``step``, up to
``max_step``, unbounded by default); otherwise the point stays and ``delta`` halves
(backtracking). The step is a length, whatever the force: a wall's force of 1e12 moves
a point as far as a trap's force of 1, and only a decrease of the energy is ever
accepted. A translation-invariant energy has a force with no centre-of-mass part, so
mean-free points stay mean-free. Points whose energy or force is not finite cannot
move and stay above the bound.

Cost: one energy evaluation (value and gradient) per point at the start, and one per
step for each point still above the bound; the loop stops when none is, or after
``max_steps``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError

#: Growth and shrink factors of the step after an accepted and a refused step.
GROW, SHRINK = 1.2, 0.5


class Relaxed(NamedTuple):
    """Result of :func:`relax`: the points (those at or below the bound unchanged),
    how many were above it at the start, how many still are, and the energy
    evaluations spent."""

    positions: np.ndarray
    n_relaxed: int
    n_still_above: int
    grad_evals: int


def relax(
    log_prob,
    positions,
    max_energy: float,
    *,
    max_steps: int = 1000,
    step: float = 0.05,
    max_step: float = math.inf,
) -> Relaxed:
    """Move each of ``positions`` whose energy ``-log_prob`` is above ``max_energy``
    down its force until its energy is at most ``max_energy`` (see the module).

    Args:
        log_prob: the exact log density of one point, ``(d,) -> ()``.
        positions: ``(n, d)`` starting points.
        max_energy: the bound on ``E = -log_prob``.
        max_steps: the most descent steps.
        step: the first step length, in the coordinates' units.
        max_step: the largest step length (none by default: far-flung points, a cluster
            blown apart by an untrained network, come back in a few dozen steps).

    Returns:
        :class:`Relaxed`.

    Example:
        >>> relaxed = relax(target.log_prob, learned.flat(), max_energy=0.0)
        >>> relaxed.n_still_above, relaxed.grad_evals
    """
    if not 0 < step <= max_step or max_steps < 1:
        raise ConfigError(
            "relax",
            f"has step {step}, max_step {max_step} and max_steps {max_steps}",
            "use 0 < step <= max_step and max_steps >= 1",
        )
    x = jnp.asarray(positions)
    energy_and_force = jax.vmap(jax.value_and_grad(lambda y: -log_prob(y)))
    energy, grad = jax.jit(energy_and_force)(x)
    above = np.flatnonzero(~(np.asarray(energy) <= max_energy))
    if len(above) == 0:
        return Relaxed(np.asarray(x), 0, 0, len(x))
    loop = _descent(energy_and_force, max_steps, step, max_step)
    moved, still_above, evals = loop(x[above], energy[above], grad[above], max_energy)
    x = x.at[above].set(moved)
    return Relaxed(np.asarray(x), len(above), int(still_above), len(x) + int(evals))


def _descent(energy_and_force, max_steps: int, step: float, max_step: float):
    """The compiled descent loop ``(x, E, grad, bound) -> (x, n_still_above, evals)``."""

    @jax.jit
    def loop(x, energy, grad, bound):
        def active(state):
            return ~(state[1] <= bound)

        def cond(carry):
            state, i, _ = carry
            return jnp.any(active(state)) & (i < max_steps)

        def body(carry):
            state, i, evals = carry
            x, energy, grad, delta = state
            moving = active(state)
            norm = jnp.linalg.norm(grad, axis=-1, keepdims=True)
            proposal = x - delta[:, None] * grad / jnp.where(norm > 0, norm, 1.0)
            new_energy, new_grad = energy_and_force(proposal)
            accept = moving & (new_energy < energy)
            refused = jnp.where(moving, delta * SHRINK, delta)
            state = (
                jnp.where(accept[:, None], proposal, x),
                jnp.where(accept, new_energy, energy),
                jnp.where(accept[:, None], new_grad, grad),
                jnp.where(accept, jnp.minimum(delta * GROW, max_step), refused),
            )
            return state, i + 1, evals + jnp.sum(moving)

        delta = jnp.full(energy.shape, step, x.dtype)
        state, _, evals = jax.lax.while_loop(cond, body, ((x, energy, grad, delta), 0, 0))
        return state[0], jnp.sum(active(state)), evals

    return loop
