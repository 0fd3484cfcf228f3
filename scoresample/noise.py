"""Noise processes ``Y_t = alpha(t) X + sigma(t) W``, ``W ~ N(0, I)``, ``t`` in ``[0, 1]``.

- :class:`VE`: variance exploding, ``alpha = 1`` and geometric
  ``sigma(t) = sigma_min (sigma_max / sigma_min)^t`` (Song & Ermon 2019; Song et al. 2021).
- :class:`VP`: variance preserving with the cosine schedule ``alpha = cos(pi t / 2)``,
  ``sigma = sin(pi t / 2)`` (Nichol & Dhariwal 2021; De Bortoli et al. 2024).

Both are the marginals of the forward SDE ``dY = f(t) Y dt + g(t) dB`` with
``f = d log alpha / dt`` and ``g^2 = d sigma^2 / dt - 2 f sigma^2`` (Song et al. 2021,
Eq. 5; Kingma et al. 2021, App. A); :meth:`NoiseProcess.drift` and
:meth:`NoiseProcess.diffusion_squared` compute them by autodiff from the schedule, so a
new schedule needs only ``alpha`` and ``sigma``.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._types import Scalar
from ._validate import positive, positive_int
from .errors import ConfigError


class NoiseProcess(eqx.Module):
    """A schedule ``(alpha(t), sigma(t))`` on ``t`` in ``[0, 1]``."""

    @abc.abstractmethod
    def alpha(self, t) -> Scalar:
        """Signal scale ``alpha(t)``."""

    @abc.abstractmethod
    def sigma(self, t) -> Scalar:
        """Noise scale ``sigma(t)``."""

    @abc.abstractmethod
    def t_of_sigma(self, sigma) -> Scalar:
        """The time at which the noise scale equals ``sigma`` (inverse of ``sigma(t)``)."""

    def drift(self, t) -> Scalar:
        """``f(t) = d log alpha(t) / dt`` of the forward SDE ``dY = f Y dt + g dB``."""
        return jax.grad(lambda s: jnp.log(self.alpha(s)))(jnp.asarray(t, float))

    def diffusion_squared(self, t) -> Scalar:
        """``g(t)^2 = d sigma^2 / dt - 2 f(t) sigma(t)^2``."""
        t = jnp.asarray(t, float)
        d_var = jax.grad(lambda s: self.sigma(s) ** 2)(t)
        return d_var - 2.0 * self.drift(t) * self.sigma(t) ** 2

    def snr(self, t) -> Scalar:
        """Signal-to-noise ratio ``alpha(t)^2 / sigma(t)^2``."""
        return self.alpha(t) ** 2 / self.sigma(t) ** 2


class VE(NoiseProcess):
    """Variance exploding: ``alpha = 1``, ``sigma(t) = sigma_min (sigma_max / sigma_min)^t``.

    Example:
        >>> VE(0.01, 10.0).sigma(0.5)   # geometric midpoint sqrt(0.01 * 10)
        Array(0.31622776, dtype=float32, weak_type=True)
    """

    sigma_min: float = eqx.field(static=True)
    sigma_max: float = eqx.field(static=True)

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 10.0):
        positive(sigma_min, "noise.sigma_min")
        if not sigma_max > sigma_min:
            raise ConfigError(
                "noise.sigma_max",
                f"must exceed sigma_min = {sigma_min}, got {sigma_max}",
                "choose sigma_max > sigma_min",
            )
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)

    def alpha(self, t) -> Scalar:
        return jnp.ones_like(jnp.asarray(t, float))

    def sigma(self, t) -> Scalar:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** jnp.asarray(t, float)

    def t_of_sigma(self, sigma) -> Scalar:
        return jnp.log(sigma / self.sigma_min) / np.log(self.sigma_max / self.sigma_min)


class VP(NoiseProcess):
    """Variance preserving, cosine schedule: ``alpha = cos(pi t / 2)``, ``sigma = sin(pi t / 2)``.

    ``alpha^2 + sigma^2 = 1``; ``t = 1`` is pure noise. The SDE coefficients
    ``f = -(pi / 2) tan(pi t / 2)`` and ``g^2 = pi tan(pi t / 2)`` blow up at ``t = 1``, so
    reverse-time samplers start slightly below it.
    """

    def alpha(self, t) -> Scalar:
        return jnp.cos(0.5 * jnp.pi * jnp.asarray(t, float))

    def sigma(self, t) -> Scalar:
        return jnp.sin(0.5 * jnp.pi * jnp.asarray(t, float))

    def t_of_sigma(self, sigma) -> Scalar:
        return 2.0 / jnp.pi * jnp.arcsin(sigma)


def geometric_levels(sigma_first: float, sigma_last: float, n_levels: int) -> jax.Array:
    """Noise levels ``sigma_1 > ... > sigma_L`` in geometric progression (NCSN).

    ``sigma_i = sigma_1 (sigma_L / sigma_1)^((i - 1) / (L - 1))``; Song & Ermon (2019), Sec. 4.2.
    """
    positive(sigma_first, "levels.sigma_first")
    positive(sigma_last, "levels.sigma_last")
    n_levels = positive_int(n_levels, "levels.n_levels")
    if n_levels > 1 and not sigma_first > sigma_last:
        raise ConfigError(
            "levels.sigma_first",
            f"must exceed sigma_last ({sigma_first} <= {sigma_last})",
            "levels run from the largest noise down to the smallest",
        )
    return jnp.asarray(np.geomspace(sigma_first, sigma_last, n_levels), dtype=float)
