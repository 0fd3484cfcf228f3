"""A score network on the torus: periodic in every angle, valued in the tangent space.

``s(y, t) = MLP([cos y, sin y, emb(t)])``: a function of the point of ``T^d``, not of the
angle's representative, so ``s(y + 2 pi k, t) = s(y, t)``; its output is a vector of
``R^d``, the torus's tangent space (the Lie algebra, the same at every point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp

from .._types import Position, PRNGKey, Scalar
from .._validate import check_position
from ..noise import NoiseProcess
from .mlp import ScoreMLP, TimeConditioned


class TorusScoreMLP(ScoreMLP):
    """``s(y, t) = MLP([cos y, sin y, emb(t)])`` on ``T^d`` (arguments as ``ScoreMLP``'s).

    Example:
        >>> model = TorusScoreMLP(2, hidden=64, depth=3, key=key)
        >>> model(jnp.array([0.1, 3.0]), 0.5).shape
        (2,)
    """

    def __init__(
        self,
        dim: int,
        hidden: int | Sequence[int] = 128,
        depth: int = 3,
        embed: int = 16,
        activation: str | Callable = "silu",
        *,
        process: NoiseProcess | None = None,
        key: PRNGKey,
    ):
        self.body = TimeConditioned(
            2 * dim, dim, hidden, depth, embed, activation, process, "t", False, key
        )

    @property
    def dim(self) -> int:
        """Dimension of the positions (angles) ``y``."""
        return self.body.dim // 2

    def __call__(self, y: Position, t: Scalar) -> Position:
        check_position(y, self.dim, "TorusScoreMLP input")
        return self.body(jnp.concatenate([jnp.cos(y), jnp.sin(y)]), t)
