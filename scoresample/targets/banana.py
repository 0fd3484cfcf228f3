"""The banana (twisted Gaussian) of Haario, Saksman and Tamminen.

A Gaussian ``N(0, diag(s^2, 1, ..., 1))`` pushed through the volume-preserving twist
``phi_b(x) = (x_1, x_2 + b x_1^2 - b s^2, x_3, ...)``:
``log p(x) = log N(phi_b(x); 0, diag(s^2, 1, ...))``. Normalised; exact samples are
``phi_b^{-1}(z)`` with ``z`` Gaussian. Curvature ``b`` sets how hard it is.

References:
    Haario, Saksman, Tamminen (1999), Adaptive proposal distribution for random walk
    Metropolis algorithm, Comput. Statist. 14, Sec. 4.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import positive, positive_int
from ..errors import ConfigError
from ._base import AbstractTarget

_LOG_2PI = float(np.log(2 * np.pi))


class Banana(AbstractTarget):
    """Twisted Gaussian in ``dim >= 2`` dimensions with curvature ``b`` and first scale ``s``."""

    dim: int = eqx.field(static=True)
    curvature: float = eqx.field(static=True)
    scale: float = eqx.field(static=True)

    def __init__(self, dim: int = 2, curvature: float = 0.1, scale: float = 10.0):
        self.dim = positive_int(dim, "banana.dim")
        if self.dim < 2:
            raise ConfigError("banana.dim", f"must be >= 2, got {dim}", "use dim = 2 or more")
        positive(scale, "banana.scale")
        self.curvature, self.scale = float(curvature), float(scale)

    @property
    def log_Z(self) -> float:
        return 0.0

    def _twist(self, x: Position) -> Position:
        shift = self.curvature * (x[0] ** 2 - self.scale**2)
        return x.at[1].add(shift)

    def log_prob(self, x: Position) -> Scalar:
        z = self._twist(x)
        quad = (z[0] / self.scale) ** 2 + jnp.sum(z[1:] ** 2)
        return -0.5 * quad - np.log(self.scale) - 0.5 * self.dim * _LOG_2PI

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        z = jax.random.normal(key, (n, self.dim)).at[:, 0].multiply(self.scale)
        return z.at[:, 1].add(-self.curvature * (z[:, 0] ** 2 - self.scale**2))


def banana(dim: int = 2, curvature: float = 0.1, scale: float = 10.0) -> Banana:
    """The twisted-Gaussian banana (Haario et al. 1999), default ``b = 0.1, s = 10``."""
    return Banana(dim, curvature, scale)
