"""Target score matching (TSM) and the score parameterisations that go with it.

TSM regresses the noised score on the clean one: by the target score identity
``grad log p_t(y) = E[grad log p(X) | Y_t = y] / alpha_t``, the loss
``1/2 |s(alpha x + sigma eps, t) - grad log p(x) / alpha|^2`` is minimised by the noised
score, and its target has vanishing variance as ``sigma -> 0``, where DSM's
``-eps / sigma`` explodes. ``E[TSM] - E[DSM]`` does not depend on the network.

Two parameterisations of the score help at low noise:

- :class:`TargetInformed`: ``s(y, t) = grad log p(y) / alpha_t + net(y, t)``.
- :class:`Preconditioned`: ``s(y, t) = c_skip y + c_out net(c_in y, t)`` with the EDM
  recipe applied to the TSM (or DSM) target for data of scale ``sigma_data`` (see
  :mod:`~scoresample.objectives.weighting`); train it with the matching weighting
  ``lambda = 1 / c_out^2`` (``TSMOptimal`` or ``EDM``).

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 1.2 (TSI, TSM) and App. D (parameterisation, preconditioning).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp

from .._types import CleanScoreFn, Position, PRNGKey, Scalar, ScoreFn
from .._validate import positive
from ..errors import ConfigError
from ..networks.base import ScoreNetwork
from ..noise import NoiseProcess
from ._base import LossOutput, Objective, perturb, regression, split_clean
from .weighting import EDM, TSMOptimal, gaussian_variance


class TSM(Objective):
    """Target score matching: regress ``s(y, t)`` on ``grad log p(x) / alpha(t)``.

    Args:
        process: the noise process (VE or VP).
        clean_score: ``x -> grad log p(x)``, e.g. ``target.score``. If omitted, each
            example is the pair ``(x, score_x)`` and ``fit`` supplies the data's scores.
        weighting: ``lambda(process, t)`` (default ``sigma^2``; uniform at a ``FixedLevel``).

    References:
        De Bortoli et al. (2024), Target score matching, Sec. 1.2.

    Example:
        >>> loss = TSM(VE(0.01, 10.0), clean_score=target.score)
        >>> value, aux = loss(model, x, 0.0, key)
    """

    clean_score: CleanScoreFn | None = eqx.field(default=None, kw_only=True)

    @property
    def needs_scores(self) -> bool:
        return self.clean_score is None

    def __call__(self, score_fn: ScoreFn, x, t: Scalar, key: PRNGKey) -> LossOutput:
        x, score_x = split_clean(x, self.clean_score)
        y, _, alpha, _ = perturb(self.process, x, t, key)
        return regression(score_fn(y, t), score_x / alpha)


class TargetInformed(ScoreNetwork):
    """Score ``s(y, t) = grad log p(y) / alpha(t) + net(y, t)``; the net learns a correction.

    Exact at ``sigma = 0``; ``fit`` never trains the clean score's parameters (targets
    and noise processes inside a model are frozen).

    References:
        De Bortoli et al. (2024), Target score matching, App. D.

    Example:
        >>> model = TargetInformed(ScoreMLP(2, key=key), target.score, VE(0.01, 10.0))
    """

    net: ScoreFn
    clean_score: CleanScoreFn
    process: NoiseProcess

    @property
    def dim(self) -> int | None:
        """Dimension of the positions, from the wrapped network."""
        return getattr(self.net, "dim", None)

    def __call__(self, y: Position, t: Scalar) -> Position:
        return self.clean_score(y) / self.process.alpha(t) + self.net(y, t)


def preconditioning(
    process: NoiseProcess, t, sigma_data: float, loss: Literal["tsm", "dsm"] = "tsm"
) -> dict[str, Scalar]:
    """``c_in, c_out, c_skip`` and ``weight = 1 / c_out^2`` for centred data of scale
    ``sigma_data``.

    ``c_in = 1 / sqrt(v)``, ``c_skip = -1 / v`` (the score of ``N(0, v I)``),
    ``v = alpha^2 sigma_data^2 + sigma^2``, and ``c_out^2`` the variance of the regression
    target left after the skip: ``sigma^2 / (alpha^2 sigma_data^2 v)`` for TSM,
    ``alpha^2 sigma_data^2 / (sigma^2 v)`` for DSM.

    References:
        Karras et al. (2022), EDM, App. B.6; De Bortoli et al. (2024), App. D.
    """
    weighting = {"tsm": TSMOptimal, "dsm": EDM}
    if loss not in weighting:
        raise ConfigError("preconditioning.loss", f"is {loss!r}", "choose 'tsm' or 'dsm'")
    variance = gaussian_variance(process, t, sigma_data)
    weight = weighting[loss](sigma_data)(process, t)
    return {
        "c_in": 1.0 / jnp.sqrt(variance),
        "c_out": 1.0 / jnp.sqrt(weight),
        "c_skip": -1.0 / variance,
        "weight": weight,
    }


class Preconditioned(ScoreNetwork):
    """Score ``s(y, t) = c_skip(t) y + c_out(t) net(c_in(t) y, t)`` (see :func:`preconditioning`).

    The network sees unit-variance inputs and regresses unit-variance targets at every
    noise level when trained with ``weighting = 1 / c_out^2`` (``TSMOptimal(sigma_data)``
    for ``loss="tsm"``, ``EDM(sigma_data)`` for ``loss="dsm"``).

    Example:
        >>> model = Preconditioned(ScoreMLP(2, key=key), VE(0.01, 10.0), sigma_data=1.0)
        >>> objective = TSM(VE(0.01, 10.0), weighting=TSMOptimal(1.0))
    """

    net: ScoreFn
    process: NoiseProcess
    sigma_data: float = eqx.field(static=True)
    loss: str = eqx.field(default="tsm", static=True)

    def __init__(self, net, process, sigma_data: float, loss: Literal["tsm", "dsm"] = "tsm"):
        positive(sigma_data, "Preconditioned.sigma_data")
        preconditioning(process, 0.5, float(sigma_data), loss)  # validates `loss`
        self.net, self.process, self.sigma_data, self.loss = net, process, float(sigma_data), loss

    @property
    def dim(self) -> int | None:
        """Dimension of the positions, from the wrapped network."""
        return getattr(self.net, "dim", None)

    def __call__(self, y: Position, t: Scalar) -> Position:
        c = preconditioning(self.process, t, self.sigma_data, self.loss)
        return c["c_skip"] * y + c["c_out"] * self.net(c["c_in"] * y, t)
