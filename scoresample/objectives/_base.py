"""The Objective contract and the pieces every score-matching loss shares.

An objective is a per-example pure function ``loss(score_fn, x, t, key) -> (value, aux)``:
``x`` one clean example ``(d,)``, ``t`` a scalar time, ``key`` a PRNG key, ``value`` a
scalar and ``aux`` a dict of named scalar terms (``norm``, ``fitting``). It is unweighted
and unreduced: the training step vmaps it over a batch, multiplies by the objective's
``weighting(process, t)`` and averages, in that one place.

Objectives that regress on the clean score (TSM, kappa mixtures) get it in one of two
ways: built with ``clean_score=target.score``, or built without it, in which case
``x`` is the pair ``(x, score_x)`` and :attr:`Objective.needs_scores` is True, so that
``fit`` passes the data's exact scores alongside the samples.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import CleanScoreFn, Position, PRNGKey, Scalar, ScoreFn
from ..noise import NoiseProcess
from .weighting import Weighting, default_weighting

#: ``(value, aux)``: the per-example loss and its named scalar terms.
LossOutput = tuple[Scalar, dict[str, Scalar]]


class Objective(eqx.Module):
    """Base class: a per-example loss bound to a noise process, with its weighting.

    Subclasses implement ``__call__(score_fn, x, t, key) -> (value, aux)``. Without a
    ``weighting`` they get :func:`~scoresample.objectives.weighting.default_weighting`
    (``sigma^2``; uniform at a :class:`~scoresample.noise.FixedLevel`).
    """

    process: NoiseProcess
    weighting: Weighting | None = eqx.field(default=None, kw_only=True)

    def __post_init__(self):
        if self.weighting is None:
            self.weighting = self._default_weighting()

    def _default_weighting(self) -> Weighting:
        """The weighting used when none is given."""
        return default_weighting(self.process)

    @property
    def needs_scores(self) -> bool:
        """True if ``x`` must be the pair ``(x, score_x)`` (a clean score is not bound)."""
        return False

    @abc.abstractmethod
    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        """Unweighted loss of one example."""


def perturb(process: NoiseProcess, x: Position, t: Scalar, key: PRNGKey):
    """``y = alpha(t) x + sigma(t) eps``, ``eps ~ N(0, I)``; returns ``(y, eps, alpha, sigma)``."""
    eps = jax.random.normal(key, jnp.shape(x))
    alpha, sigma = process.alpha(t), process.sigma(t)
    return alpha * x + sigma * eps, eps, alpha, sigma


def regression(score: Position, target: Position, with_constant: bool = True) -> LossOutput:
    """``1/2 |s - target|^2`` split as ``norm = 1/2 |s|^2`` and ``fitting = -<s, target>``.

    With ``with_constant=False`` the value is ``norm + fitting``: the constant
    ``1/2 |target|^2`` (which does not depend on the network) is dropped.
    """
    norm = 0.5 * jnp.dot(score, score)
    fitting = -jnp.dot(score, target)
    residual = score - target
    value = 0.5 * jnp.dot(residual, residual) if with_constant else norm + fitting
    return value, {"norm": norm, "fitting": fitting}


def split_clean(x, clean_score: CleanScoreFn | None) -> tuple[Position, Position]:
    """``(x, grad log p(x))`` from either a bound clean score or the pair ``(x, score_x)``."""
    if clean_score is not None:
        return x, clean_score(x)
    if not isinstance(x, tuple | list) or len(x) != 2:
        raise TypeError(
            "this objective was built without clean_score, so x must be the pair (x, score_x)"
        )
    return x[0], x[1]
