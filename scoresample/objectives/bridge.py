"""Bridge matching by TSM (Eqs. 12-14) or DSM, trained on data from the bridge's start.

Per example: ``x0`` from the data, ``x1 ~ end``, ``w ~ N(0, I)``,
``y = (1 - t) x0 + t x1 + sigma sqrt(t (1 - t)) w``, and the loss
``1/2 |s(y, t) - target|^2`` with the target of one identity of
:func:`scoresample.bridges.identity_terms`: ``"start"`` (Eq. 12,
``grad log p0(x0) / (1 - t)``), ``"end"`` (Eq. 13, ``grad log p1(x1) / t``), ``"sum"``
(Eq. 14, ``grad log p0(x0) + grad log p1(x1)``) or ``"dsi"`` (DSM). All are minimised by
the score of ``Y_t``; their variances differ (Eq. 12 is exact as ``t -> 0``, Eq. 13 as
``t -> 1``, DSM is neither).

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.3, Prop. 3.4, Eqs. 12-14.
"""

from __future__ import annotations

import equinox as eqx
import jax

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ..bridges import IDENTITIES, Bridge, identity_terms
from ..errors import ConfigError
from ._base import LossOutput, regression
from .weighting import Weighting, sigma_squared


class BridgeMatching(eqx.Module):
    """Regress ``s(y, t)`` on one bridge identity's per-draw term (module docstring).

    The objective contract of :class:`~scoresample.objectives.Objective`: its ``process``
    is the bridge's :class:`~scoresample.bridges.BridgeSchedule`.

    Args:
        bridge: the :class:`~scoresample.bridges.Bridge`; ``end`` must draw samples.
        identity: ``"sum"`` (default), ``"start"``, ``"end"`` or ``"dsi"``.
        weighting: ``lambda(schedule, t)`` (default ``sigma(t)^2``).

    Example:
        >>> loss = BridgeMatching(Bridge(target, Gaussian(jnp.zeros(2), jnp.eye(2)), 1.0))
        >>> fit(ScoreMLP(2, key=key), loss, data, key=key)
    """

    bridge: Bridge
    identity: str = eqx.field(static=True)
    weighting: Weighting

    def __init__(self, bridge: Bridge, identity: str = "sum", weighting=None):
        if identity not in IDENTITIES:
            raise ConfigError(
                "BridgeMatching.identity", f"is {identity!r}", f"choose one of {IDENTITIES}"
            )
        self.bridge, self.identity = bridge, identity
        self.weighting = sigma_squared if weighting is None else weighting

    @property
    def process(self):
        return self.bridge.schedule

    @property
    def needs_scores(self) -> bool:
        return False

    def __call__(self, score_fn: ScoreFn, x0: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        key_end, key_w = jax.random.split(key)
        x1 = self.bridge.end.sample(key_end, 1)[0]
        y = self.bridge.noised(x0, x1, jax.random.normal(key_w, x0.shape), t)
        target = identity_terms(self.bridge, x0, x1, y, t)[self.identity]
        return regression(score_fn(y, t), target)
