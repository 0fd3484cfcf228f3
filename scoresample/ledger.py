"""The energy-evaluation ledger: what a sampler cost, counted where the energy is called.

Honest comparisons of learned samplers with MCMC put them at the same number of energy
evaluations, training included (Akhound-Sadegh et al. 2024 count DEM's; the ICLR 2025
re-evaluation "Bootstrapped energy-based models: what are they good for?" shows MCMC
with the same count matching iDEM). A ledger keeps that count by stage: training data or
estimator proposals, buffer refills, sampling, correction. One evaluation is one
evaluation of the energy at one point, with its gradient when the stage uses it (an
autodiff pass gives both, so they count once, as MCMC's gradient evaluations do).
Stages that call only a network (sampling a learned score) are recorded at zero, so a
reader sees they were counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class EnergyLedger:
    """Energy evaluations by stage, in the order the stages ran.

    Example:
        >>> ledger = EnergyLedger().plus("training", 51_200_000).plus("refill", 0)
        >>> ledger.total, ledger.counts
        (51200000, {'training': 51200000, 'refill': 0})
    """

    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def plus(self, stage: str, evaluations: int) -> EnergyLedger:
        """A ledger with ``evaluations`` more at ``stage`` (a non-negative integer)."""
        if int(evaluations) != evaluations or evaluations < 0:
            raise ConfigError(
                f"ledger.{stage}", f"is {evaluations}", "count evaluations as an integer >= 0"
            )
        counts = dict(self.counts)
        counts[stage] = counts.get(stage, 0) + int(evaluations)
        return EnergyLedger(counts)

    @property
    def total(self) -> int:
        """All stages' evaluations."""
        return sum(self.counts.values())
