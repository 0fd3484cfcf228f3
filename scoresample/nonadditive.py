"""Non-additive noise ``Y = T_t(X, W)``, ``W ~ F``, and its target score identity.

A noise model is known through two maps and the law ``F`` of the noise:

- ``Phi_t(y, x)``: the noise ``w`` that takes ``x`` to ``y`` (so ``Y = T_t(X, W)`` means
  ``W = Phi_t(Y, X)``), with ``y -> Phi_t(y, x)`` a diffeomorphism for each ``x``;
- ``X_t(y, w)``: the clean point that ``w`` takes to ``y``, the inverse of
  ``x -> Phi_t(y, x)``.

The conditional density is ``p(y | x) = F(Phi(y, x)) |det d_y Phi(y, x)|``. Substituting
``x = X(y, w)`` in ``p_t(y) = int p(x) p(y | x) dx`` and differentiating under the
integral at fixed ``w`` gives the **target score identity** for non-additive noise:

``grad log p_t(y) = E[ J_y X(y, w)^T grad log p(x) + grad_y V(y, w) | Y = y ]``, with
``w = Phi(y, x)`` held fixed and the volume term
``V(y, w) = log|det d_w X(y, w)| + log|det d_y Phi(y, X(y, w))|``.

It needs the clean score and the two maps, but neither the noise's density nor its
score. Where ``|det d_y Phi| = 1`` (so that ``p(y | x) = F(Phi(y, x))``, e.g. additive
noise), the second log-determinant vanishes and this is Prop. 3.1 of De Bortoli et al.
(2024) as they state it; the second term extends it to noise given as a transformation
of ``W`` (multiplicative noise, for one). For additive noise ``Y = alpha X + sigma W``
it reduces to TSI, ``E[grad log p(X) | y] / alpha``. The denoising identity's target is
``grad_y log p(y | x)``, which needs ``F``.

:class:`TransformedNoise` is the worked family: additive noise in the coordinates of an
elementwise bijection ``h`` (a NumPyro ``Transform``), ``Y = h(alpha g(X) + sigma W)``
with ``g = h^-1``. With ``h = exp`` it is multiplicative log-normal noise on positive data,
``Y = X^alpha exp(sigma W)``; :class:`~scoresample.targets.TransformedMixture` targets
have its noised marginal in closed form.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.1, Prop. 3.1.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions.transforms import Transform

from ._types import Position, PRNGKey, Scalar
from .errors import ConfigError
from .noise import NoiseProcess

_LOG_2PI = float(np.log(2 * np.pi))


class NoiseModel(eqx.Module):
    """``Y = T_t(X, W)``: the maps ``T``, ``Phi`` and ``X`` at time ``t`` and the noise law.

    ``levels`` is the schedule ``(alpha(t), sigma(t))`` of the noise's strength; it is
    what training samples ``t`` from and what the default weighting ``sigma(t)^2`` reads.
    ``W`` is standard normal unless a subclass says otherwise.
    """

    levels: NoiseProcess

    @abc.abstractmethod
    def apply(self, x: Position, w: Position, t: Scalar) -> Position:
        """``y = T_t(x, w)``."""

    @abc.abstractmethod
    def noise_of(self, y: Position, x: Position, t: Scalar) -> Position:
        """``w = Phi_t(y, x)``, the noise that takes ``x`` to ``y``."""

    @abc.abstractmethod
    def source(self, y: Position, w: Position, t: Scalar) -> Position:
        """``x = X_t(y, w)``, the clean point that ``w`` takes to ``y``."""

    def noise_log_prob(self, w: Position) -> Scalar:
        """``log F(w)``, standard normal."""
        return -0.5 * jnp.sum(w**2) - 0.5 * w.size * _LOG_2PI

    def sample_noise(self, key: PRNGKey, x: Position) -> Position:
        """One draw of ``W`` shaped like ``x``."""
        return jax.random.normal(key, jnp.shape(x))

    def log_prob(self, y: Position, x: Position, t: Scalar) -> Scalar:
        """``log p(y | x) = log F(Phi(y, x)) + log|det d_y Phi(y, x)|``."""
        jacobian = jax.jacfwd(lambda v: self.noise_of(v, x, t))(y)
        return self.noise_log_prob(self.noise_of(y, x, t)) + jnp.linalg.slogdet(jacobian)[1]


def transported_score(noise: NoiseModel, y: Position, x: Position, score_x, t) -> Position:
    """``J_y X(y, w)^T grad log p(x)`` at ``w = Phi(y, x)``: the clean score carried to ``y``
    (for additive noise ``grad log p(x) / alpha``)."""
    w = noise.noise_of(y, x, t)
    _, pullback = jax.vjp(lambda v: noise.source(v, w, t), y)
    return pullback(score_x)[0]


def volume_term(noise: NoiseModel, y: Position, x: Position, t) -> Position:
    """``grad_y V(y, w)`` at ``w = Phi(y, x)``, with
    ``V = log|det d_w X(y, w)| + log|det d_y Phi(y, X(y, w))|`` (zero for additive noise)."""
    w = noise.noise_of(y, x, t)

    def volume(v):
        clean = noise.source(v, w, t)
        d_noise = jax.jacfwd(lambda u: noise.source(v, u, t))(w)
        d_data = jax.jacfwd(lambda u: noise.noise_of(u, clean, t))(v)
        return jnp.linalg.slogdet(d_noise)[1] + jnp.linalg.slogdet(d_data)[1]

    return jax.grad(volume)(y)


def tsi_target(noise: NoiseModel, y: Position, x: Position, score_x, t) -> Position:
    """TSM's regression target for ``(x, y)``: ``J_y X^T grad log p(x) + grad_y V``; its
    posterior mean is ``grad log p_t(y)`` (module docstring)."""
    return transported_score(noise, y, x, score_x, t) + volume_term(noise, y, x, t)


def dsi_target(noise: NoiseModel, y: Position, x: Position, t) -> Position:
    """DSM's regression target ``grad_y log p(y | x)``; its posterior mean is
    ``grad log p_t(y)`` too."""
    return jax.grad(lambda v: noise.log_prob(v, x, t))(y)


class TransformedNoise(NoiseModel):
    """Additive noise in transformed coordinates: ``Y = h(alpha g(X) + sigma W)``, ``g = h^-1``.

    ``h`` is an elementwise NumPyro ``Transform`` from the real line onto the data's domain:
    ``ExpTransform()`` gives multiplicative log-normal noise on positive data,
    ``Y = X^alpha exp(sigma W)``; ``SoftplusTransform()`` another noise on positive data.
    ``Phi(y, x) = (g(y) - alpha g(x)) / sigma`` and ``X(y, w) = h((g(y) - sigma w) / alpha)``.

    Args:
        transform: ``h``, elementwise (``domain.event_dim == 0``), from the reals.
        levels: the schedule ``(alpha(t), sigma(t))``, e.g. ``VE(0.01, 1.0)``.

    Example:
        >>> from numpyro.distributions.transforms import ExpTransform
        >>> noise = TransformedNoise(ExpTransform(), VE(0.01, 1.0))
        >>> y = noise.apply(x, noise.sample_noise(key, x), 0.3)
    """

    transform: Transform  # a pytree without leaves (NumPyro registers its transforms)

    def __init__(self, transform: Transform, levels: NoiseProcess):
        if not isinstance(transform, Transform) or transform.domain.event_dim != 0:
            raise ConfigError(
                "TransformedNoise.transform",
                f"is {transform!r}",
                "pass an elementwise numpyro Transform, e.g. ExpTransform()",
            )
        self.transform, self.levels = transform, levels

    def apply(self, x, w, t):
        return self.transform(
            self.levels.alpha(t) * self.transform.inv(x) + self.levels.sigma(t) * w
        )

    def noise_of(self, y, x, t):
        g = self.transform.inv
        return (g(y) - self.levels.alpha(t) * g(x)) / self.levels.sigma(t)

    def source(self, y, w, t):
        return self.transform(
            (self.transform.inv(y) - self.levels.sigma(t) * w) / self.levels.alpha(t)
        )
