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

What it cannot do: a few local steps do not carry mass between well-separated modes,
so wrong mode weights of the learned sampler stay wrong (importance reweighting, which
needs the learned density, corrects those).

Each chain adapts its own step size (and, if asked, mass matrix) in ``num_warmup``
steps from its starting point, then runs ``num_steps``. Every gradient evaluation is
counted: ``total_grad_evals() + warmup_grad_evals()`` of the result is the exact
energy's cost of the correction, to put beside MCMC at the same budget.
"""

from __future__ import annotations

import numpy as np

from .._types import PRNGKey
from ..chains import Chains
from ..errors import ConfigError
from .registry import make_sampler
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
        progress: show progress bars.
        **settings: further settings of ``sampler`` (``num_integration_steps``,
            ``target_acceptance_rate``, ...).

    Returns:
        :class:`Chains` of ``n`` independent refined draws (``particles=True``, one
        chain); ``n_grad_evals`` counts the kept steps, ``warmup_grad_evals()`` the
        adaptation.

    Example:
        >>> refined = refine(key, learned.flat(), targets.dw4(), num_steps=200)
        >>> refined.total_grad_evals() + refined.warmup_grad_evals()  # its energy cost
    """
    if sampler not in REFINERS:
        raise ConfigError(
            "sampler",
            f"is {sampler!r}; a refinement needs a fixed cost per step",
            f"use one of {', '.join(REFINERS)}",
        )
    positions = draws.flat() if isinstance(draws, Chains) else np.asarray(draws)
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
    return Chains(
        chains.positions.reshape(1, len(positions), -1),
        stats,
        f"{sampler}_refinement",
        chains.timing,
        settings,
        chains.coordinate_names,
        particles=True,
    )
