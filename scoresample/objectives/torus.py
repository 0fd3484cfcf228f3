"""TSM and DSM on the torus: ``y = x +_G sigma w = wrap(x + sigma w)``.

The torus is abelian, so the transport of Prop. 3.3 is the identity: TSM regresses
``s(y, t)`` on the clean score ``grad log p(x)``, DSM on the heat kernel's score
``grad_y log WN(y; x, sigma^2)`` (:mod:`scoresample.groups.torus`). Both are minimised
by the noised score; TSM's target stays bounded as ``sigma -> 0`` where DSM's explodes.
The process must not contract (``alpha = 1``: VE or a fixed level).

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.2, Prop. 3.3.
"""

from __future__ import annotations

import jax

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ..groups.torus import exp_map, heat_kernel_score
from ._base import LossOutput, Objective, regression, split_clean
from .tsm import TSM


def _noised(process, x: Position, t: Scalar, key: PRNGKey) -> tuple[Position, Scalar]:
    """``(wrap(x + sigma w), sigma)``: the group's noising at time ``t``."""
    sigma = process.sigma(t)
    return exp_map(x, sigma * jax.random.normal(key, x.shape)), sigma


class TorusTSM(TSM):
    """TSM on the torus: regress ``s(x +_G sigma w, t)`` on ``grad log p(x)`` (the clean
    score, bound as ``clean_score`` or given with each example, as :class:`TSM`).

    Example:
        >>> loss = TorusTSM(VE(0.05, 2.0), clean_score=target.score)
    """

    def __call__(self, score_fn: ScoreFn, x, t: Scalar, key: PRNGKey) -> LossOutput:
        x, score_x = split_clean(x, self.clean_score)
        y, _ = _noised(self.process, x, t, key)
        return regression(score_fn(y, t), score_x)


class TorusDSM(Objective):
    """DSM on the torus: regress ``s(x +_G sigma w, t)`` on ``grad_y log WN(y; x, sigma^2)``.

    Example:
        >>> loss = TorusDSM(VE(0.05, 2.0))
    """

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        y, sigma = _noised(self.process, x, t, key)
        return regression(score_fn(y, t), heat_kernel_score(y, x, sigma))
