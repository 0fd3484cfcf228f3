"""Metropolis refinement: a learned sampler's draws made exact by the known energy.

Every draw of a learned sampler (reverse diffusion, annealed Langevin on a learned
score) starts its own short Markov chain, MALA or HMC on the exact log density
``-E(x)``, and the chains' last states are the refined draws. The learned sampler is
then an independent multi-start: whatever its error, each chain leaves the target
invariant, so the law of the refined draws converges to the target as the number of
steps grows; a good learned sampler only makes that take fewer steps. This is the
correction by the energy that Boltzmann generators (Noé et al. 2019) and iDEM
(Akhound-Sadegh et al. 2024) pair with learned samplers, here with Markov steps
instead of importance weights, so it needs neither the learned density nor its
normaliser.

A draw the chain cannot start from (overlapping particles: energies of 1e10, forces no
step size follows) is first relaxed below a bound on its energy, ``max_start_energy``
(:func:`~scoresample.samplers.relax.relax`, steepest descent), as molecular
simulation minimises a configuration before dynamics. The bound is the user's; the
largest energy of the training data is a natural one (no equilibrium draw was above
it).

What it cannot do: a few local steps do not carry mass between well-separated modes,
so wrong mode weights of the learned sampler stay wrong (importance reweighting, which
needs the learned density, corrects those).

Each chain adapts its own step size (and, if asked, mass matrix) in ``num_warmup``
steps from its starting point, then runs ``num_steps``. Every gradient evaluation is
counted: ``total_grad_evals() + warmup_grad_evals()`` of the result is the exact
energy's cost of the correction, relaxation included, to put beside MCMC at the same
budget.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._types import PRNGKey
from ..chains import Chains
from ..errors import ConfigError
from .registry import make_sampler
from .relax import relax
from .run import run

#: Samplers a refinement may use: a fixed number of gradients per step, so the budget is
#: known in advance (NUTS's is not).
REFINERS = ("mala", "hmc")


def refine(
    key: PRNGKey,
    draws,
    model=None,
    *,
    sampler: str = "mala",
    num_steps: int = 100,
    num_warmup: int = 100,
    log_prob=None,
    mean_free=None,
    max_start_energy: float | None = None,
    relax_steps: int = 1000,
    progress: bool = False,
    **settings,
) -> Chains:
    """Refine ``draws`` by ``num_steps`` steps of ``sampler`` on the exact log density.

    Args:
        key: PRNG key.
        draws: ``(n, d)`` draws of a learned sampler, or its :class:`Chains`.
        model: the exact target (an object with ``log_prob``), or give ``log_prob=``.
        sampler: ``"mala"`` or ``"hmc"``.
        num_steps: Markov steps kept per chain after warm-up; the last is the draw.
        num_warmup: adaptation steps per chain (step size; MALA's mass matrix too unless
            ``adapt_mass_matrix=False``).
        log_prob: a bare log density, instead of ``model``.
        mean_free: as in :func:`~scoresample.samplers.run` (particle systems are refined
            in their zero-centre-of-mass subspace).
        max_start_energy: draws with a higher energy ``-log p`` (or a non-finite one) are
            first relaxed to it by at most ``relax_steps`` steps of steepest
            descent (:func:`~scoresample.samplers.relax.relax`); None: no relaxation.
        relax_steps: the most relaxation steps.
        progress: show progress bars.
        **settings: further settings of ``sampler`` (``num_integration_steps``,
            ``target_acceptance_rate``, ...).

    Returns:
        :class:`Chains` of ``n`` independent refined draws (``particles=True``, one
        chain); ``n_grad_evals`` counts the kept steps, ``warmup_grad_evals()`` the
        adaptation and the relaxation (``settings["relax_grad_evals"]``; the relaxed
        draws in ``settings["relaxed_starts"]``).

    Example:
        >>> from scoresample.targets import dw4
        >>> learned = 2.0 * jax.random.normal(jax.random.PRNGKey(0), (16, 8))  # 16 draws
        >>> refined = refine(jax.random.PRNGKey(1), learned, dw4(), num_warmup=20, num_steps=50)
        >>> refined.positions.shape  # the 16 refined draws, as one chain of particles
        (1, 16, 8)
        >>> refined.total_grad_evals() + refined.warmup_grad_evals()  # its energy cost
        1120
    """
    if sampler not in REFINERS:
        raise ConfigError(
            "sampler",
            f"is {sampler!r}; a refinement needs a fixed cost per step",
            f"use one of {', '.join(REFINERS)}",
        )
    positions = draws.flat() if isinstance(draws, Chains) else np.asarray(draws)
    relaxed = None
    if max_start_energy is not None:
        density = log_prob if log_prob is not None else model.log_prob
        relaxed = relax(density, positions, max_start_energy, max_steps=relax_steps)
        positions = relaxed.positions
        _warn_still_above(relaxed, max_start_energy, relax_steps)
    spec = make_sampler(
        sampler,
        n_chains=len(positions),
        num_warmup=num_warmup,
        num_samples=1,
        thinning=num_steps,
        **settings,
    )
    chains = run(
        spec,
        key,
        model,
        log_prob=log_prob,
        initial_positions=positions,
        progress=progress,
        mean_free=mean_free,
    )
    stats = {name: value.reshape(1, -1) for name, value in chains.stats.items()}
    settings = {**chains.settings, "refined_steps": num_steps, "refiner": sampler}
    if relaxed is not None:
        settings["warmup_grad_evals"] = chains.warmup_grad_evals() + relaxed.grad_evals
        settings.update(relaxed_starts=relaxed.n_relaxed, relax_grad_evals=relaxed.grad_evals)
    return Chains(
        chains.positions.reshape(1, len(positions), -1),
        stats,
        f"{sampler}_refinement",
        chains.timing,
        settings,
        chains.coordinate_names,
        particles=True,
    )


def _warn_still_above(relaxed, max_start_energy: float, relax_steps: int) -> None:
    if relaxed.n_still_above:
        warnings.warn(
            f"refine: {relaxed.n_still_above} of {relaxed.n_relaxed} relaxed draws are still "
            f"above max_start_energy = {max_start_energy:g} after {relax_steps} steps (their "
            "energy or force may not be finite); raise relax_steps or the bound",
            RuntimeWarning,
            stacklevel=3,
        )
