"""A score network on the torus: periodic in every angle, valued in the tangent space.

``s(y, t) = MLP([cos y, sin y, emb(t)])``: a function of the point of ``T^d``, not of the
angle's representative, so ``s(y + 2 pi k, t) = s(y, t)``; its output is a vector of
``R^d``, the torus's tangent space (the Lie algebra, the same at every point).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._types import Position
from ..groups.torus import TORUS
from .mlp import ScoreMLP


class TorusScoreMLP(ScoreMLP):
    """``s(y, t) = MLP([cos y, sin y, emb(t)])`` on ``T^d`` (arguments as ``ScoreMLP``'s).

    Example:
        >>> model = TorusScoreMLP(2, hidden=64, depth=3, key=key)
        >>> model(jnp.array([0.1, 3.0]), 0.5).shape
        (2,)
    """

    group = TORUS
    features_per_coordinate = 2

    def features(self, y: Position) -> jax.Array:
        """``(cos y, sin y)``: the point of the torus, not the angle's representative."""
        return jnp.concatenate([jnp.cos(y), jnp.sin(y)])
