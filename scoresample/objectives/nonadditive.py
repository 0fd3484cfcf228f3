"""Target and denoising score matching under non-additive noise ``Y = T_t(X, W)``.

Per example, ``w ~ F``, ``y = T_t(x, w)`` and the loss is ``1/2 |s(y, t) - target|^2``
with TSM's target ``J_y X(y, w)^T grad log p(x) + grad_y V(y, w)`` or DSM's
``grad_y log p(y | x)`` (:mod:`scoresample.nonadditive`). Both are minimised by the
noised score; TSM's target needs the clean score, not the noise's density, and its
variance vanishes as the noise does, where DSM's explodes.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.1, Prop. 3.1.
"""

from __future__ import annotations

import equinox as eqx

from .._types import CleanScoreFn, Position, PRNGKey, Scalar, ScoreFn
from ..nonadditive import NoiseModel, dsi_target, tsi_target
from ._base import LossOutput, regression, split_clean
from .weighting import Weighting, default_weighting


class _NonAdditive(eqx.Module):
    """The objective contract (as :class:`~scoresample.objectives.Objective`) for a noise
    model: its ``process`` is the model's schedule, its default weighting ``sigma(t)^2``."""

    noise: NoiseModel
    weighting: Weighting

    def __init__(self, noise: NoiseModel, *, weighting: Weighting | None = None):
        self.noise = noise
        self.weighting = default_weighting(noise.levels) if weighting is None else weighting

    @property
    def process(self):
        return self.noise.levels

    @property
    def needs_scores(self) -> bool:
        return False

    def _noised(self, x: Position, t: Scalar, key: PRNGKey) -> Position:
        return self.noise.apply(x, self.noise.sample_noise(key, x), t)


class NonAdditiveTSM(_NonAdditive):
    """TSM under non-additive noise: regress ``s(y, t)`` on
    ``J_y X(y, w)^T grad log p(x) + grad_y V(y, w)``.

    Args:
        noise: the noise model, e.g. ``TransformedNoise(ExpTransform(), VE(0.01, 1.0))``.
        clean_score: ``x -> grad log p(x)``; if omitted, each example is ``(x, score_x)``.
        weighting: ``lambda(levels, t)`` (default ``sigma(t)^2``).

    Example:
        >>> loss = NonAdditiveTSM(noise, clean_score=target.score)
        >>> value, aux = loss(model, x, 0.3, key)
    """

    clean_score: CleanScoreFn | None

    def __init__(self, noise, *, clean_score=None, weighting=None):
        super().__init__(noise, weighting=weighting)
        self.clean_score = clean_score

    @property
    def needs_scores(self) -> bool:
        return self.clean_score is None

    def __call__(self, score_fn: ScoreFn, x, t: Scalar, key: PRNGKey) -> LossOutput:
        x, score_x = split_clean(x, self.clean_score)
        y = self._noised(x, t, key)
        return regression(score_fn(y, t), tsi_target(self.noise, y, x, score_x, t))


class NonAdditiveDSM(_NonAdditive):
    """DSM under non-additive noise: regress ``s(y, t)`` on ``grad_y log p(y | x)``.

    Example:
        >>> loss = NonAdditiveDSM(noise)
        >>> value, aux = loss(model, x, 0.3, key)
    """

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        y = self._noised(x, t, key)
        return regression(score_fn(y, t), dsi_target(self.noise, y, x, t))
