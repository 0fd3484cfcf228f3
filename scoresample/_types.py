"""Type aliases shared across the package.

A *position* is a flat vector of shape ``(d,)``; a batch of positions is ``(n, d)``.
"""

from collections.abc import Callable

from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

Position = Float[Array, " d"]
Batch = Float[Array, "n d"]
Scalar = Float[Array, ""]
PRNGKey = PRNGKeyArray

#: ``log_prob(x) -> scalar``: a (possibly unnormalised) log density of one position.
LogDensityFn = Callable[[Position], Scalar]
#: ``score(x) -> (d,)``: the gradient of a log density at one position.
CleanScoreFn = Callable[[Position], Position]
#: ``score_fn(y, t) -> (d,)``: the score of the noised marginal at time ``t``.
ScoreFn = Callable[[Position, Scalar], Position]

__all__ = [
    "ArrayLike",
    "Batch",
    "CleanScoreFn",
    "LogDensityFn",
    "PRNGKey",
    "Position",
    "Scalar",
    "ScoreFn",
]
