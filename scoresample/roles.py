"""The roles a model plays for a sampler, as protocols: an object has a role when it has
the method, never because of how many arguments a function takes.

- :class:`LogDensityModel`: ``log_prob(x)``, a (possibly unnormalised) log density
  (MALA, HMC, NUTS). Targets have it.
- :class:`CleanScoreModel`: ``score(x) = grad log p(x)`` (ULA). Targets have it.
- :class:`NoisedScoreModel`: ``noised_score(y, t)``, the score of the noised marginal at
  time ``t``, with the noise ``process`` it belongs to (annealed Langevin, reverse
  diffusion). Score networks have it (:class:`scoresample.networks.ScoreNetwork`).
- :class:`EnergyModel`: ``energy(y, t)``, a time-conditioned energy; ``-energy(x, t_min)``
  is a log density for Metropolis-corrected samplers. Energy networks have it.

A target whose noised marginal is closed form (``noised(alpha, sigma)``, see
:class:`scoresample.targets.NoisedMarginal`) gives the exact noised score once a process
is named. A bare function has none of these methods: it is given to a sampler by
keyword (``log_prob=``, ``score=`` or ``noised_score=``), which says its role.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._types import Position, Scalar


@runtime_checkable
class LogDensityModel(Protocol):
    """Has ``log_prob(x) -> scalar``."""

    def log_prob(self, x: Position) -> Scalar: ...


@runtime_checkable
class CleanScoreModel(Protocol):
    """Has ``score(x) -> (d,)``, the gradient of the log density."""

    def score(self, x: Position) -> Position: ...


@runtime_checkable
class NoisedScoreModel(Protocol):
    """Has ``noised_score(y, t) -> (d,)`` and the noise ``process`` (or None) it belongs to."""

    @property
    def process(self): ...

    def noised_score(self, y: Position, t: Scalar) -> Position: ...


@runtime_checkable
class EnergyModel(Protocol):
    """Has ``energy(y, t) -> scalar``, so that ``p_t(y) ∝ exp(-energy(y, t))``."""

    def energy(self, y: Position, t: Scalar) -> Scalar: ...


__all__ = ["CleanScoreModel", "EnergyModel", "LogDensityModel", "NoisedScoreModel"]
