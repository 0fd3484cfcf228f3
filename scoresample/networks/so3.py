"""A score network on SO(3): a function of the rotation, valued in the tangent space.

``s(r, t) = MLP([vec R(r), emb(t)])``: the input is the rotation matrix, so the network
is a function of the rotation and not of its rotation vector (``r`` and ``-r (2 pi - |r|)
/ |r|`` near ``|r| = pi`` give one input), and continuous across the cut locus; its output
is a body-frame tangent vector of ``R^3`` (:mod:`scoresample.groups.so3`).
"""

from __future__ import annotations

import jax

from .._types import Position
from ..groups.so3 import SO3, embed
from .mlp import ScoreMLP


class SO3ScoreMLP(ScoreMLP):
    """``s(r, t) = MLP([vec R(r), emb(t)])`` on SO(3) (arguments as ``ScoreMLP``'s, with
    ``dim = 3``).

    Example:
        >>> model = SO3ScoreMLP(3, hidden=64, depth=3, key=key)
        >>> model(jnp.array([0.1, 3.0, -0.2]), 0.5).shape
        (3,)
    """

    group = SO3
    features_per_coordinate = 3

    def features(self, r: Position) -> jax.Array:
        """The rotation matrix, flattened (9 numbers)."""
        return embed(r)
