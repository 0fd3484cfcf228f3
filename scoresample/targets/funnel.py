"""Neal's funnel: a hierarchical target whose scale varies over orders of magnitude.

``v ~ N(0, 3^2)``, ``x_i | v ~ N(0, e^v)`` for ``i = 1..d-1``; position ``(v, x_1, ...)``.
Normalised, with an exact sampler.

References:
    Neal (2003), Slice sampling, Ann. Statist. 31(3), Sec. 8.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import positive, positive_int
from ._base import AbstractTarget

_LOG_2PI = float(np.log(2 * np.pi))


class Funnel(AbstractTarget):
    """Neal's funnel in ``dim`` dimensions with log-scale standard deviation ``v_scale``.

    ``log p = log N(v; 0, v_scale^2) + sum_i log N(x_i; 0, e^v)``.
    """

    dim: int = eqx.field(static=True)
    v_scale: float = eqx.field(static=True)

    def __init__(self, dim: int = 10, v_scale: float = 3.0):
        self.dim = positive_int(dim, "funnel.dim")
        positive(v_scale, "funnel.v_scale")
        self.v_scale = float(v_scale)

    @property
    def log_Z(self) -> float:
        return 0.0

    def log_prob(self, x: Position) -> Scalar:
        v, rest = x[0], x[1:]
        log_pv = -0.5 * (v / self.v_scale) ** 2 - np.log(self.v_scale) - 0.5 * _LOG_2PI
        log_px = -0.5 * jnp.sum(rest**2) * jnp.exp(-v) - 0.5 * (self.dim - 1) * (v + _LOG_2PI)
        return log_pv + log_px

    def score(self, x: Position) -> Position:
        v, rest = x[0], x[1:]
        d_v = -v / self.v_scale**2 + 0.5 * jnp.sum(rest**2) * jnp.exp(-v) - 0.5 * (self.dim - 1)
        return jnp.concatenate([d_v[None], -rest * jnp.exp(-v)])

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        key_v, key_x = jax.random.split(key)
        v = self.v_scale * jax.random.normal(key_v, (n, 1))
        rest = jnp.exp(0.5 * v) * jax.random.normal(key_x, (n, self.dim - 1))
        return jnp.concatenate([v, rest], axis=1)


def funnel(dim: int = 10, v_scale: float = 3.0) -> Funnel:
    """Neal's funnel (default ``dim = 10``, ``v ~ N(0, 9)``)."""
    return Funnel(dim, v_scale)
