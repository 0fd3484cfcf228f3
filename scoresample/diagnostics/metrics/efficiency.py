"""Cost-adjusted effective sample size: ESS per score evaluation and per second.

Samplers differ in cost per draw (a NUTS draw may take hundreds of gradient
evaluations, a MALA draw one), so samplers are compared by the worst coordinate's bulk
ESS divided by the work spent, never by ESS alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...chains import Chains
from ..arviz import ess_bulk


@dataclass(frozen=True)
class Efficiency:
    """ESS of the worst coordinate and what it cost.

    Attributes:
        ess_bulk_min: smallest bulk ESS over coordinates (all chains pooled).
        n_grad_evals: score evaluations of the sampling phase, all chains (0 if unknown).
        seconds: wall-clock seconds of the sampling phase (NaN if unknown).
        ess_per_grad_eval: ``ess_bulk_min / n_grad_evals`` (NaN if unknown).
        ess_per_second: ``ess_bulk_min / seconds`` (NaN if unknown).
    """

    ess_bulk_min: float
    n_grad_evals: int
    seconds: float
    ess_per_grad_eval: float
    ess_per_second: float


def efficiency(chains: Chains, target=None) -> Efficiency:
    """ESS per gradient evaluation and per second of a run, from its stats and timing.

    ``ess_per_grad_eval = min_j ESS_bulk(x_j) / sum(n_grad_evals)`` over all chains and
    draws; ``ess_per_second = min_j ESS_bulk(x_j) / timing["sampling"]``. Independent
    particles (``chains.particles``) have ``ESS = n``; draws on a mean-free ``target``
    are centred first (see :func:`scoresample.diagnostics.summary`).

    Example:
        >>> efficiency(chains).ess_per_grad_eval
    """
    ess = float(np.min(ess_bulk(chains, target)))
    grads = chains.total_grad_evals()
    seconds = float(chains.timing.get("sampling", math.nan))
    return Efficiency(
        ess_bulk_min=ess,
        n_grad_evals=grads,
        seconds=seconds,
        ess_per_grad_eval=ess / grads if grads > 0 else math.nan,
        ess_per_second=ess / seconds if seconds > 0 else math.nan,
    )
