"""Exact one- and two-dimensional marginal densities of the built-in targets, for plots.

Closed forms exist for Gaussian mixtures (any coordinates), Gaussians, and many-wells
(each coordinate; each well's coordinate pair). Other targets return None, and plots
fall back to reference samples.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from ...targets import Gaussian, GaussianMixture, ManyWell
from ...targets.wells import X1_NORMALISER, x1_log_density
from ..metrics._arrays import batched, to_jax

LogDensity2D = Callable[[np.ndarray], np.ndarray]


def _normal_logpdf(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))


def marginal_log_density(target, j: int) -> Callable[[np.ndarray], np.ndarray] | None:
    """The exact log density of coordinate ``j`` as a NumPy function of a grid, or None."""
    if isinstance(target, GaussianMixture):
        log_w = np.log(np.asarray(target.weights))
        mu, s = np.asarray(target.means[:, j]), np.asarray(target.scales[:, j])
        return lambda x: logsumexp(log_w + _normal_logpdf(x[:, None], mu, s), axis=1)
    if isinstance(target, Gaussian):
        mean, sd = float(target.mean[j]), float(np.sqrt(target.cov[j, j]))
        return lambda x: _normal_logpdf(x, mean, sd)
    if isinstance(target, ManyWell):
        if j % 2:
            return lambda x: _normal_logpdf(x, 0.0, 1.0)
        return lambda x: x1_log_density(x) - np.log(X1_NORMALISER)
    return None


def _restricted(target, i: int, j: int):
    """A 2-D target for coordinates ``(i, j)`` when its density is closed form, or None."""
    pair = [i, j]
    if target.dim == 2 and pair == [0, 1]:
        return target
    if isinstance(target, GaussianMixture):
        return GaussianMixture(target.weights, target.means[:, pair], target.scales[:, pair])
    if isinstance(target, Gaussian):
        return Gaussian(target.mean[jnp.asarray(pair)], target.cov[jnp.ix_(pair, pair)])
    if isinstance(target, ManyWell) and i % 2 == 0 and j == i + 1:
        return ManyWell(1)
    return None


def pair_log_density(target, i: int, j: int) -> LogDensity2D | None:
    """The exact log density of coordinates ``(i, j)``, a function of ``(n, 2)`` points."""
    restricted = None if target is None else _restricted(target, i, j)
    if restricted is None and isinstance(target, ManyWell):
        # Coordinates of different wells are independent.
        log_i, log_j = marginal_log_density(target, i), marginal_log_density(target, j)
        return lambda points: log_i(points[:, 0]) + log_j(points[:, 1])
    if restricted is None:
        return None
    return lambda points: np.asarray(batched(restricted.log_prob, to_jax(points)))
