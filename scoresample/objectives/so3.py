"""TSM and DSM on SO(3): ``y = x w``, ``w ~ IGSO(I, sigma^2)`` (right multiplication).

Prop. 3.3 of De Bortoli et al. (2024) on a group with a bi-invariant metric: the score of
``Y`` is the posterior mean of the clean score transported from ``X`` to ``Y`` by right
multiplication with ``X^{-1} Y = W``. For matrices that is ``grad log p(x) x^{-1} y``; in
body coordinates (:mod:`scoresample.groups.so3`) it is the clean score rotated by
``W^T``. TSM regresses ``s(y, t)`` on ``W^T grad log p(x)``; DSM on the heat kernel's
score ``grad_y log IGSO(y; x, sigma^2) = c(|w|) w``. Both are minimised by the noised
score; TSM's target stays bounded as ``sigma -> 0`` where DSM's grows like ``1 / sigma``.
Without the transport (the abelian formula) TSM's target is biased: a test checks it.
The process must not contract (``alpha = 1``: VE or a fixed level).

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.2, Prop. 3.3.
"""

from __future__ import annotations

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ..groups.so3 import angle, compose, igso3_sample, igso3_score_factor, rotate
from ._base import LossOutput, Objective, regression, split_clean
from .tsm import TSM


def _noised(process, x: Position, t: Scalar, key: PRNGKey) -> tuple[Position, Position, Scalar]:
    """``(x w, w, sigma)``: the group's noising at time ``t``, ``w ~ IGSO(I, sigma^2)``."""
    sigma = process.sigma(t)
    w = igso3_sample(key, sigma)
    return compose(x, w), w, sigma


def transported_score(w: Position, clean_score: Position) -> Position:
    """``W^T g``: the body-frame clean score ``g`` at ``x`` carried to ``y = x W``."""
    return rotate(-w, clean_score)


class SO3TSM(TSM):
    """TSM on SO(3): regress ``s(x w, t)`` on ``W^T grad log p(x)`` (the clean score,
    bound as ``clean_score`` or given with each example, as :class:`TSM`).

    Example:
        >>> loss = SO3TSM(VE(0.05, 2.0), clean_score=target.score)
    """

    def __call__(self, score_fn: ScoreFn, x, t: Scalar, key: PRNGKey) -> LossOutput:
        x, score_x = split_clean(x, self.clean_score)
        y, w, _ = _noised(self.process, x, t, key)
        return regression(score_fn(y, t), transported_score(w, score_x))


class SO3DSM(Objective):
    """DSM on SO(3): regress ``s(x w, t)`` on ``grad_y log IGSO(y; x, sigma^2) = c(|w|) w``.

    Example:
        >>> loss = SO3DSM(VE(0.05, 2.0))
    """

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        y, w, sigma = _noised(self.process, x, t, key)
        return regression(score_fn(y, t), igso3_score_factor(angle(w), sigma) * w)
