"""Kappa mixtures of the denoising and target score identities.

For any ``kappa`` in ``[0, 1]``,
``grad log p_t(y) = E[kappa (alpha X - y) / sigma^2 + (1 - kappa) grad log p(X) / alpha | y]``,
so regressing on ``kappa (-eps / sigma) + (1 - kappa) grad log p(x) / alpha`` learns the
noised score for every ``kappa(t)``. ``kappa = 1`` is DSM, ``kappa = 0`` is TSM. For
Gaussian data of variance ``sigma_data^2`` the choice
``kappa_t = sigma_t^2 / (sigma_t^2 + alpha_t^2 sigma_data^2)`` makes the target exact
(zero variance): TSM at low noise, DSM at high noise. ``kappa-bar`` uses, for a Gaussian
mixture, the mixture-weighted average component variance as ``sigma_data^2``.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

from .._types import CleanScoreFn, PRNGKey, Scalar, ScoreFn
from .._validate import positive
from ..noise import NoiseProcess
from ._base import LossOutput, Objective, perturb, regression, split_clean

#: ``kappa(t) -> scalar in [0, 1]``.
KappaFn = Callable[[Scalar], Scalar]


class GaussianKappa(eqx.Module):
    """``kappa_t = sigma_t^2 / (sigma_t^2 + alpha_t^2 sigma_data^2)``, optimal for Gaussian data.

    Example:
        >>> GaussianKappa(VE(0.01, 10.0), sigma_data=1.0)(0.0)   # ~1e-4: TSM at low noise
    """

    process: NoiseProcess
    sigma_data: float = eqx.field(static=True)

    def __init__(self, process: NoiseProcess, sigma_data: float):
        positive(sigma_data, "kappa.sigma_data")
        self.process, self.sigma_data = process, float(sigma_data)

    def __call__(self, t) -> Scalar:
        noise = self.process.sigma(t) ** 2
        return noise / (noise + self.process.alpha(t) ** 2 * self.sigma_data**2)


def average_component_variance(mixture) -> float:
    """``sum_k w_k mean_i s_ki^2`` of a :class:`~scoresample.targets.GaussianMixture`."""
    per_component = jnp.mean(mixture.scales**2, axis=1)
    return float(jnp.sum(mixture.weights * per_component))


def kappa_bar(process: NoiseProcess, mixture) -> GaussianKappa:
    """Kappa-bar: :class:`GaussianKappa` with ``sigma_data^2`` the mixture-weighted average
    component variance (the within-mode scale, not the spread between modes)."""
    return GaussianKappa(process, float(jnp.sqrt(average_component_variance(mixture))))


def kappa_value(kappa: KappaFn | float, t) -> Scalar:
    """``kappa(t)`` for a function of ``t`` or a constant."""
    return kappa(t) if callable(kappa) else jnp.asarray(kappa, float)


class KappaMixture(Objective):
    """Regress ``s(y, t)`` on ``kappa(t) (-eps / sigma) + (1 - kappa(t)) grad log p(x) / alpha``.

    Args:
        process: the noise process.
        kappa: a function of ``t`` (e.g. :class:`GaussianKappa`, :func:`kappa_bar`, any
            user function) or a constant in ``[0, 1]``.
        clean_score: ``x -> grad log p(x)``; if omitted each example is ``(x, score_x)``.
        weighting: ``lambda(process, t)`` (default ``sigma^2``; uniform at a ``FixedLevel``).

    References:
        De Bortoli et al. (2024), Target score matching, Sec. 3.

    Example:
        >>> loss = KappaMixture(process, kappa_bar(process, target), clean_score=target.score)
    """

    kappa: KappaFn | float
    clean_score: CleanScoreFn | None = eqx.field(default=None, kw_only=True)

    @property
    def needs_scores(self) -> bool:
        return self.clean_score is None

    def __call__(self, score_fn: ScoreFn, x, t: Scalar, key: PRNGKey) -> LossOutput:
        x, score_x = split_clean(x, self.clean_score)
        y, eps, alpha, sigma = perturb(self.process, x, t, key)
        weight = kappa_value(self.kappa, t)
        target = weight * (-eps / sigma) + (1.0 - weight) * score_x / alpha
        return regression(score_fn(y, t), target)
