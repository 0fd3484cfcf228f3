"""Gaussian mixtures pushed through an elementwise bijection: ``X = h(Z)``, ``Z`` a mixture.

``log p(x) = log p_Z(g(x)) + sum_i log g'(x_i)`` with ``g = h^-1``. With ``h = exp`` this
is a log-normal mixture on positive data. Under the matching non-additive noise
:class:`~scoresample.nonadditive.TransformedNoise`, ``Y = h(alpha g(X) + sigma W)``, the
noised marginal is the same kind of target, with the mixture noised additively
(``g(Y) = alpha Z + sigma W``), and the posterior ``p(x | y)`` is the mixture's posterior
pushed through ``h``: the exact ground truth for TSM with non-additive noise.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3.1.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from numpyro.distributions.transforms import ExpTransform, Transform

from .._types import Batch, Position, PRNGKey, Scalar
from ..errors import ConfigError
from ._base import AbstractTarget
from .mixture import GaussianMixture


class TransformedMixture(AbstractTarget):
    """The law of ``h(Z)``, ``Z ~ mixture``, for an elementwise NumPyro ``Transform`` ``h``.

    ``log_prob`` is normalised on ``h``'s codomain (positive ``x`` for ``exp``) and is not
    defined outside it; ``score`` is its gradient by autodiff.

    Args:
        mixture: the law of ``Z = g(X)``.
        transform: ``h``, elementwise, from the reals onto the data's domain.

    Example:
        >>> target = lognormal_mixture([0.7, 0.3], [[0.0, 1.0], [1.5, -0.5]], 0.3)
        >>> noise = TransformedNoise(ExpTransform(), VE(0.01, 1.0))
        >>> target.noised_by(noise, 0.2).score(y)   # exact noised score
    """

    mixture: GaussianMixture
    transform: Transform  # a pytree without leaves (NumPyro registers its transforms)

    @property
    def dim(self) -> int:
        return self.mixture.dim

    @property
    def log_Z(self) -> float:
        return 0.0

    def log_prob(self, x: Position) -> Scalar:
        z = self.transform.inv(x)
        return self.mixture.log_prob(z) - jnp.sum(self.transform.log_abs_det_jacobian(z, x))

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        """``n`` exact draws ``h(z)``, ``z ~ mixture``."""
        return self.transform(self.mixture.sample(key, n))

    def noised_by(self, noise, t) -> TransformedMixture:
        """The exact law of ``Y = h(alpha g(X) + sigma W)`` (``noise`` a
        :class:`~scoresample.nonadditive.TransformedNoise` with this target's ``h``)."""
        self._check_noise(noise)
        alpha, sigma = noise.levels.alpha(t), noise.levels.sigma(t)
        return TransformedMixture(self.mixture.noised(alpha, sigma), self.transform)

    def posterior_sample(self, key: PRNGKey, y: Position, noise, t, n: int) -> Batch:
        """``n`` exact draws of ``X | Y = y`` under ``noise`` at time ``t``."""
        self._check_noise(noise)
        alpha, sigma = noise.levels.alpha(t), noise.levels.sigma(t)
        return self.transform(
            self.mixture.posterior(self.transform.inv(y), alpha, sigma).sample(key, n)
        )

    def _check_noise(self, noise) -> None:
        if type(getattr(noise, "transform", None)) is not type(self.transform):
            raise ConfigError(
                "noise",
                f"is {noise!r}, not additive in this target's coordinates {self.transform!r}",
                "use TransformedNoise with the target's transform",
            )


def lognormal_mixture(weights, means, scales) -> TransformedMixture:
    """A log-normal mixture on positive data: ``X = exp(Z)``, ``Z ~ GaussianMixture(weights,
    means, scales)`` (diagonal covariances, as :class:`GaussianMixture` takes them)."""
    return TransformedMixture(GaussianMixture(weights, means, scales), ExpTransform())
