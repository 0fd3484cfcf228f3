"""A multivariate Gaussian with full covariance, with its noised marginal and posterior.

``p(x) = N(x; mu, Sigma)``, ``score(x) = -Sigma^{-1} (x - mu)``. Under
``Y = alpha X + sigma W`` the marginal is ``N(alpha mu, alpha^2 Sigma + sigma^2 I)`` and
the posterior ``p(x | y)`` has precision ``Sigma^{-1} + (alpha^2 / sigma^2) I``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import finite_array, is_traced
from ..errors import ConfigError
from ._base import AbstractTarget

_LOG_2PI = float(np.log(2 * np.pi))


def _checked(mean, cov):
    mu = finite_array(mean, "Gaussian.mean", ndim=1)
    sigma = finite_array(cov, "Gaussian.cov", ndim=2)
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise ConfigError("Gaussian.cov", f"has shape {sigma.shape}", f"give a ({d}, {d}) matrix")
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-10):
        raise ConfigError("Gaussian.cov", "is not symmetric", "pass (C + C.T) / 2")
    if np.linalg.eigvalsh(sigma).min() <= 0:
        raise ConfigError(
            "Gaussian.cov", "is not positive definite", "add a multiple of the identity"
        )
    return mu, sigma


class Gaussian(AbstractTarget):
    """Multivariate normal ``N(mean, cov)``; normalised.

    Args:
        mean: ``(d,)`` mean.
        cov: ``(d, d)`` symmetric positive definite covariance.

    Example:
        >>> g = Gaussian(jnp.zeros(2), jnp.eye(2))
        >>> g.score(jnp.ones(2))
        Array([-1., -1.], dtype=float32)
    """

    mean: Float[Array, " d"]
    cov: Float[Array, "d d"]
    chol: Float[Array, "d d"]

    def __init__(self, mean, cov):
        if not (is_traced(mean) or is_traced(cov)):
            mean, cov = _checked(mean, cov)
        self.mean = jnp.asarray(mean, dtype=float)
        self.cov = jnp.asarray(cov, dtype=float)
        self.chol = jnp.linalg.cholesky(self.cov)

    @classmethod
    def standard(cls, dim: int, scale: float = 1.0) -> Gaussian:
        """``N(0, scale^2 I)`` in ``dim`` dimensions."""
        return cls(jnp.zeros(dim), scale**2 * jnp.eye(dim))

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    @property
    def log_Z(self) -> float:
        return 0.0

    def _whiten(self, x: Position) -> Position:
        return jsl.solve_triangular(self.chol, x - self.mean, lower=True)

    def log_prob(self, x: Position) -> Scalar:
        z = self._whiten(x)
        log_det = jnp.sum(jnp.log(jnp.diag(self.chol)))
        return -0.5 * jnp.dot(z, z) - log_det - 0.5 * self.dim * _LOG_2PI

    def score(self, x: Position) -> Position:
        return -jsl.cho_solve((self.chol, True), x - self.mean)

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        z = jax.random.normal(key, (n, self.dim))
        return self.mean[None, :] + z @ self.chol.T

    def noised(self, alpha, sigma) -> Gaussian:
        """Exact marginal of ``alpha X + sigma W``: ``N(alpha mu, alpha^2 Sigma + sigma^2 I)``."""
        return Gaussian(alpha * self.mean, alpha**2 * self.cov + sigma**2 * jnp.eye(self.dim))

    def posterior(self, y: Position, alpha, sigma) -> Gaussian:
        """Exact ``p(x | alpha x + sigma w = y)``; requires ``sigma > 0``."""
        precision = jnp.linalg.inv(self.cov) + (alpha**2 / sigma**2) * jnp.eye(self.dim)
        cov = jnp.linalg.inv(precision)
        cov = 0.5 * (cov + cov.T)
        mean = cov @ (jsl.cho_solve((self.chol, True), self.mean) + alpha * y / sigma**2)
        return Gaussian(mean, cov)
