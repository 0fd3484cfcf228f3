"""Denoising energy matching: regress the score on an importance-sampled score identity.

With no samples of the target, only its energy ``E = -log p~``, the noised score at
``y = alpha x + sigma eps`` is estimated by self-normalised importance sampling
(:mod:`scoresample.estimators.importance`): ``K`` proposals ``x_i ~ N(y / alpha,
(sigma / alpha)^2 I)``, weights ``w_i ∝ exp(-E(x_i))``, and one identity's weighted mean.
The loss is ``1/2 |s(y, t) - S_K(y, t)|^2`` with the estimate ``S_K`` held fixed (no
gradient flows into it). DEM (Akhound-Sadegh et al. 2024) regresses on TSI,
``S_K = sum_i w_i grad log p(x_i) / alpha``; here the identity is a choice: TSI, DSI,
or a kappa mixture of the two (De Bortoli et al. 2024), such as kappa-bar.

The clean points ``x`` come from wherever the caller draws them: iDEM draws them from a
replay buffer that the model refills by sampling itself
(:func:`scoresample.data_free.fit_data_free`). As ``S_K`` is biased at ``O(1 / K)``, so is
the minimiser; as ``K`` grows it tends to the noised score.

Every example costs ``K`` evaluations of the energy, each with its gradient (one autodiff
pass): :attr:`DEM.energy_evals_per_example`.

References:
    Akhound-Sadegh et al. (2024), Iterated denoising energy matching for sampling from
    Boltzmann densities, ICML, Sec. 3 (DEM, iDEM);
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax

from .._types import Position, PRNGKey, Scalar, ScoreFn
from .._validate import positive_int
from ..errors import ConfigError
from ..estimators import importance, posterior  # modules: they import objectives.kappa
from ._base import LossOutput, Objective, regression
from .kappa import KappaFn


class DEM(Objective):
    """Regress ``s(y, t)`` on an importance-sampled estimate of ``grad log p_t(y)``.

    Args:
        process: the noise process (VE or VP).
        target: anything with an unnormalised ``log_prob`` (``-E``); particle systems
            that are translation-invariant get mean-free noise and proposals.
        k: proposals per example (DEM and iDEM use 100 to 1000).
        identity: ``"tsi"`` (DEM's and iDEM's estimator), ``"dsi"``, or ``"kappa"``
            (with ``kappa``: e.g. ``kappa_bar(process, mixture)`` or ``GaussianKappa``).
        kappa: the weight of DSI in the kappa mixture, a function of ``t`` or a constant.
        max_norm: clip the estimate's norm to this, as DEM's ``max_score_norm``.
        weighting: ``lambda(process, t)`` (default ``sigma^2``, as DEM).

    References:
        Akhound-Sadegh et al. (2024), iDEM, Sec. 3; De Bortoli et al. (2024), Sec. 3.

    Example:
        >>> process = VE(0.01, 50.0)
        >>> loss = DEM(process, target=gmm40(), k=500, identity="kappa",
        ...            kappa=kappa_bar(process, gmm40()))
        >>> value, aux = loss(model, x, 0.5, key)
    """

    target: object = eqx.field(kw_only=True)
    k: int = eqx.field(default=100, static=True, kw_only=True)
    identity: Literal["tsi", "dsi", "kappa"] = eqx.field(default="tsi", static=True, kw_only=True)
    kappa: KappaFn | float | None = eqx.field(default=None, kw_only=True)
    max_norm: float | None = eqx.field(default=None, static=True, kw_only=True)

    def __check_init__(self):
        if positive_int(self.k, "dem.k") < 2:
            raise ConfigError("dem.k", "is 1", "use at least 2 proposals")
        posterior.kappas_for(self.identity, self.kappa, prefix="dem.")
        if self.identity != "kappa" and self.kappa is not None:
            raise ConfigError(
                "dem.kappa",
                f"is given with identity {self.identity!r}, which does not use it",
                "give kappa only with identity = 'kappa'",
            )
        if self.max_norm is not None and not self.max_norm > 0:
            raise ConfigError("dem.max_norm", f"is {self.max_norm}", "give a positive norm")

    @property
    def energy_evals_per_example(self) -> int:
        """Energy evaluations (each with its gradient) one example costs: ``k``."""
        return self.k

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        key_noise, key_estimate = jax.random.split(key)
        y = noised(self.target, self.process, x, t, key_noise)
        estimate = importance.importance_score(
            self.target, self.process, y, t, key_estimate, self.k,
            self.identity, self.kappa, self.max_norm,
        )  # fmt: skip
        return regression(score_fn(y, t), jax.lax.stop_gradient(estimate.mean))


def noised(target, process, x: Position, t: Scalar, key: PRNGKey) -> Position:
    """``alpha x + sigma eps`` with the noise the proposals use (mean-free
    for a translation-invariant particle system): ``y`` from one proposal around ``alpha x``."""
    alpha = process.alpha(t)
    return alpha * importance.proposals(target, process, alpha * x, t, key, 1)[0]
