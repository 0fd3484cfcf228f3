"""Bridges between two laws and their score identities (bridge matching with TSM).

``Y_t = alpha X0 + (1 - alpha) X1 + s W`` with ``alpha = 1 - t``, ``X0 ~ p0`` and
``X1 ~ p1`` independent (the independent coupling), ``W ~ N(0, I)`` and the Brownian
bridge's scale ``s = sigma sqrt(t (1 - t))``: ``Y_0 = X0`` and ``Y_1 = X1``. As ``Y`` is
``alpha X0`` plus noise independent of ``X0`` (and ``(1 - alpha) X1`` plus noise
independent of ``X1``), the target score identity holds for either end:

- Eq. 12: ``grad log p_t(y) = E[grad log p0(X0) | Y_t = y] / alpha``;
- Eq. 13: ``grad log p_t(y) = E[grad log p1(X1) | Y_t = y] / (1 - alpha)``;
- Eq. 14: ``grad log p_t(y) = E[grad log p0(X0) + grad log p1(X1) | Y_t = y]``, the
  convex combination of the two with weights ``alpha`` and ``1 - alpha``;
- and the denoising identity ``E[-(y - alpha X0 - (1 - alpha) X1) / s^2 | Y_t = y]``.

Eq. 12 is exact at ``t -> 0``, Eq. 13 at ``t -> 1``, and Eq. 14 uses both scores at once.
With Gaussian-mixture ends (:class:`MixtureBridge`) the law of ``Y_t`` and the
posterior of ``(X0, X1)`` are closed form, so each identity can be checked exactly.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.3, Prop. 3.4, Eqs. 12-14; Peluchetti (2023), Shi et al. (2023) (bridge matching).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._types import Batch, Position, PRNGKey, Scalar
from ._validate import positive
from .errors import ConfigError
from .noise import NoiseProcess
from .targets.mixture import GaussianMixture

#: The identities, by the names :func:`identity_terms` gives them.
IDENTITIES = ("start", "end", "sum", "dsi")


class BridgeSchedule(NoiseProcess):
    """The bridge's schedule as training sees it: ``alpha(t) = 1 - t`` (the weight of
    ``X0``) and ``sigma(t) = sigma sqrt(t (1 - t))``, on ``t`` in ``[0.001, 0.999]``.

    ``fit`` samples ``t``, weights examples (``sigma(t)^2`` by default) and binds networks
    with it. It is not a diffusion: ``Y_t`` also holds ``t X1``, so a bridge's score does
    not drive the diffusion samplers, and ``sigma(t)`` is not monotone in ``t``.
    """

    scale: float = eqx.field(static=True)

    def alpha(self, t) -> Scalar:
        return 1.0 - jnp.asarray(t, float)

    def sigma(self, t) -> Scalar:
        t = jnp.asarray(t, float)
        return self.scale * jnp.sqrt(t * (1.0 - t))

    def t_of_sigma(self, sigma) -> Scalar:
        raise ConfigError("bridge", "has a noise scale that is not monotone in t", "give times")

    def t_of_noise_to_signal(self, ratio) -> Scalar:
        return self.t_of_sigma(ratio)

    def drift(self, t) -> Scalar:
        raise ConfigError(
            "bridge", "is not a diffusion: its marginal holds t X1", "sample it another way"
        )

    @property
    def t_range(self) -> tuple[float, float]:
        return (1e-3, 1.0 - 1e-3)


class Bridge(eqx.Module):
    """``Y_t = (1 - t) X0 + t X1 + sigma sqrt(t (1 - t)) W`` between two targets with scores,
    ``X0 ~ start`` and ``X1 ~ end`` independent.

    Args:
        start: the law ``p0`` of ``X0 = Y_0`` (its ``score`` for Eqs. 12 and 14).
        end: the law ``p1`` of ``X1 = Y_1``, of the same dimension (its ``score`` for
            Eqs. 13 and 14; ``sample`` to train on data from ``start``).
        sigma: the bridge's noise scale (> 0).

    Example:
        >>> bridge = Bridge(ncsn_toy(), Gaussian(jnp.zeros(2), jnp.eye(2)), 0.5)
    """

    start: object
    end: object
    sigma: float = eqx.field(static=True)

    def __init__(self, start, end, sigma: float):
        if start.dim != end.dim:
            raise ConfigError(
                f"{type(self).__name__}.end",
                f"has dimension {end.dim}, the start {start.dim}",
                "bridge two laws on the same space",
            )
        positive(sigma, f"{type(self).__name__}.sigma")
        self.start, self.end, self.sigma = start, end, float(sigma)

    @property
    def dim(self) -> int:
        return self.start.dim

    @property
    def schedule(self) -> BridgeSchedule:
        """``alpha(t)`` and ``sigma(t)`` for training (:class:`BridgeSchedule`)."""
        return BridgeSchedule(self.sigma)

    def alpha(self, t) -> Scalar:
        """Weight of ``X0``: ``1 - t``."""
        return self.schedule.alpha(t)

    def scale(self, t) -> Scalar:
        """Noise scale ``sigma sqrt(t (1 - t))``."""
        return self.schedule.sigma(t)

    def noised(self, x0: Position, x1: Position, w: Position, t) -> Position:
        """``y = alpha x0 + (1 - alpha) x1 + s w``."""
        alpha = self.alpha(t)
        return alpha * x0 + (1 - alpha) * x1 + self.scale(t) * w

    def sample(self, key: PRNGKey, t, n: int) -> tuple[Batch, Batch, Batch]:
        """``n`` draws ``(x0, x1, y)`` of the bridge at time ``t``."""
        k0, k1, kw = jax.random.split(key, 3)
        x0, x1 = self.start.sample(k0, n), self.end.sample(k1, n)
        return x0, x1, self.noised(x0, x1, jax.random.normal(kw, x0.shape), t)


class MixtureBridge(Bridge):
    """A :class:`Bridge` between two Gaussian mixtures, with its exact marginal and
    posterior.

    Example:
        >>> bridge = MixtureBridge(ncsn_toy(), GaussianMixture([1.0], [[0.0, 0.0]], 1.0), 0.5)
        >>> bridge.marginal(0.3).score(y)   # exact score of Y_0.3
    """

    start: GaussianMixture
    end: GaussianMixture

    def marginal(self, t) -> GaussianMixture:
        """The exact law of ``Y_t``: a mixture over component pairs ``(k, l)`` with weights
        ``w0_k w1_l``, means ``alpha mu0_k + (1 - alpha) mu1_l`` and variances
        ``alpha^2 s0_k^2 + (1 - alpha)^2 s1_l^2 + s^2``."""
        alpha, start, end = self.alpha(t), self.start, self.end
        weights = start.weights[:, None] * end.weights[None, :]
        means = alpha * start.means[:, None] + (1 - alpha) * end.means[None, :]
        variances = (
            (alpha * start.scales[:, None]) ** 2
            + ((1 - alpha) * end.scales[None, :]) ** 2
            + self.scale(t) ** 2
        )
        pairs = start.n_components * end.n_components
        return GaussianMixture(
            weights.reshape(pairs),
            means.reshape(pairs, self.dim),
            jnp.sqrt(variances).reshape(pairs, self.dim),
        )

    def posterior_sample(self, key: PRNGKey, y: Position, t, n: int) -> tuple[Batch, Batch]:
        """``n`` exact draws of ``(X0, X1) | Y_t = y``.

        A component pair ``(k, l) ~ p(k, l | y)``, then Matheron's rule: a joint prior draw
        ``(x0', x1', y')`` of that pair corrected by ``x0 = x0' + alpha s0^2 / S (y - y')``
        and ``x1 = x1' + (1 - alpha) s1^2 / S (y - y')``, ``S`` the variance of ``Y_t``.
        """
        alpha, s = self.alpha(t), self.scale(t)
        key_pair, key_0, key_1, key_w = jax.random.split(key, 4)
        weights = self.marginal(t).responsibilities(y)
        pair = jax.random.choice(key_pair, weights.shape[0], (n,), p=weights)
        k0, k1 = jnp.divmod(pair, self.end.n_components)
        s0, s1 = self.start.scales[k0], self.end.scales[k1]
        x0 = self.start.means[k0] + s0 * jax.random.normal(key_0, (n, self.dim))
        x1 = self.end.means[k1] + s1 * jax.random.normal(key_1, (n, self.dim))
        y_prior = alpha * x0 + (1 - alpha) * x1 + s * jax.random.normal(key_w, (n, self.dim))
        residual = (y[None, :] - y_prior) / ((alpha * s0) ** 2 + ((1 - alpha) * s1) ** 2 + s**2)
        return x0 + alpha * s0**2 * residual, x1 + (1 - alpha) * s1**2 * residual


def identity_terms(bridge, x0: Position, x1: Position, y: Position, t) -> dict[str, Position]:
    """The per-draw terms of the four identities at one posterior draw ``(x0, x1)``:
    ``start`` (Eq. 12), ``end`` (Eq. 13), ``sum`` (Eq. 14) and ``dsi``; the posterior mean
    of each is ``grad log p_t(y)``. ``bridge`` needs ``start.score``, ``end.score``,
    ``alpha(t)`` and ``scale(t)``."""
    alpha, s = bridge.alpha(t), bridge.scale(t)
    score_0, score_1 = bridge.start.score(x0), bridge.end.score(x1)
    return {
        "start": score_0 / alpha,
        "end": score_1 / (1 - alpha),
        "sum": score_0 + score_1,
        "dsi": -(y - alpha * x0 - (1 - alpha) * x1) / s**2,
    }
