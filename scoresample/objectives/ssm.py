"""Sliced score matching (SSM) and its variance-reduced form (SSM-VR).

With probes ``v`` such that ``E[v v^T] = I``:
``SSM = v^T J v + 1/2 (v^T s)^2`` and ``SSM-VR = v^T J v + 1/2 |s|^2`` (the norm taken
exactly), averaged over ``n_probes`` probes; ``J = d s / d y``. Both equal ISM in
expectation. Each probe costs one JVP of the linearised network.

References:
    Song, Garg, Shi & Ermon (2019), Sliced score matching: a scalable approach to
    density and score estimation, UAI, Sec. 3 (SSM and SSM-VR).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ._base import LossOutput, Objective, perturb
from .ism import check_probes, divergence_hutchinson
from .weighting import Weighting, uniform


class SSM(Objective):
    """Sliced score matching; aux ``norm`` and ``fitting = mean_j v_j^T J v_j``.

    Args:
        process: the noise process.
        probes: ``"rademacher"`` or ``"gaussian"``.
        n_probes: projections per example.
        variance_reduced: SSM-VR, with the exact ``1/2 |s|^2``.
        clean: evaluate at the clean ``x`` instead of ``alpha x + sigma eps``.
        weighting: ``lambda(process, t)``; default ``sigma^2`` (see
            :func:`~scoresample.objectives.weighting.default_weighting`), uniform when ``clean``.

    Example:
        >>> loss = SSM(VE(0.01, 10.0), n_probes=4, variance_reduced=True)
    """

    probes: Literal["rademacher", "gaussian"] = eqx.field(
        default="rademacher", static=True, kw_only=True
    )
    n_probes: int = eqx.field(default=1, static=True, kw_only=True)
    variance_reduced: bool = eqx.field(default=False, static=True, kw_only=True)
    clean: bool = eqx.field(default=False, static=True, kw_only=True)

    def __post_init__(self):
        self.n_probes = check_probes(self.probes, self.n_probes, "SSM")
        super().__post_init__()

    def _default_weighting(self) -> Weighting:
        return uniform if self.clean else super()._default_weighting()

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        key_noise, key_probe = jax.random.split(key)
        y = x if self.clean else perturb(self.process, x, t, key_noise)[0]
        score, fitting, probes = divergence_hutchinson(
            lambda z: score_fn(z, t), y, key_probe, self.n_probes, self.probes
        )
        if self.variance_reduced:
            norm = 0.5 * jnp.dot(score, score)
        else:
            norm = 0.5 * jnp.mean((probes @ score) ** 2)
        return norm + fitting, {"norm": norm, "fitting": fitting}
