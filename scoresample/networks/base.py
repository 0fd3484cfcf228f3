"""What every score network is: a time-conditioned score ``model(y, t) -> (d,)`` that
knows its dimension and the noise process it is trained for.

A :class:`ScoreNetwork` plays the role :class:`~scoresample.roles.NoisedScoreModel`
(``noised_score(y, t)``, ``process``); an :class:`EnergyNetwork` also plays
:class:`~scoresample.roles.EnergyModel` (``energy(y, t)``, score ``-grad_y E``). The
process is ``None`` until the network is trained: :func:`scoresample.fit` binds the
objective's process (:meth:`ScoreNetwork.with_process`), so samplers take it from the
trained network and nobody passes it twice.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax

from .._types import Position, Scalar
from ..errors import ConfigError
from ..noise import NoiseProcess


class ScoreNetwork(eqx.Module):
    """Base class of score models ``s(y, t)``.

    Subclasses define ``__call__`` and, as fields or properties, ``dim`` (the dimension
    of ``y``, or None) and ``process`` (the noise process the network is trained for, or
    None before training). They are not declared
    here: a field declared in a base class would come first among the constructor's
    arguments of every subclass. A subclass that keeps its process elsewhere than in a
    ``process`` field overrides :meth:`_replace_process`.
    """

    @abc.abstractmethod
    def __call__(self, y: Position, t: Scalar) -> Position:
        """The score of the noised marginal at ``(y, t)``."""

    def _replace_process(self, process: NoiseProcess) -> ScoreNetwork:
        """A copy whose process is ``process`` (called only when none is set); this default
        sets a field named ``process``."""
        return eqx.tree_at(lambda n: n.process, self, process, is_leaf=lambda x: x is None)

    def noised_score(self, y: Position, t: Scalar) -> Position:
        """``self(y, t)``: the role :class:`~scoresample.roles.NoisedScoreModel`."""
        return self(y, t)

    def with_process(self, process: NoiseProcess, field: str = "process") -> ScoreNetwork:
        """This network bound to ``process``; an error if it is bound to another one.

        Example:
            >>> ScoreMLP(2, key=key).with_process(VP()).process
            VP()
        """
        if self.process is None:
            return self._replace_process(process)
        if not eqx.tree_equal(self.process, process):
            raise ConfigError(
                field,
                f"is {process} but the network is built for {self.process}",
                "use one noise process for the network, the objective and the sampler",
            )
        return self


class EnergyNetwork(ScoreNetwork):
    """Base class of energy models: subclasses define ``energy(y, t)``; the score is
    ``-grad_y E(y, t)``."""

    @abc.abstractmethod
    def energy(self, y: Position, t: Scalar) -> Scalar:
        """The energy ``E(y, t)``, a scalar."""

    def __call__(self, y: Position, t: Scalar) -> Position:
        return -jax.grad(self.energy)(y, t)
