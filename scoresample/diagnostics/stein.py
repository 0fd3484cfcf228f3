"""Stein identities of an exact target, and the z-score thresholds of honest tests.

For exact samples ``x ~ p`` and the exact score ``s = grad log p``,
``E[s(x)] = 0`` and ``E[s(x) x^T] = -I`` (Stein's identity, integration by parts).
Each entry is a z-score against its Monte Carlo standard error; a correct target gives
``|z|`` of order one. :func:`family_threshold` is the Bonferroni bound that a family of
correct z-scores stays under.

References:
    Stein (1972), A bound for the error in the normal approximation, Proc. 6th Berkeley
    Symp. 2 (the identity ``E[s(x) f(x) + f'(x)] = 0``).
"""

from __future__ import annotations

from statistics import NormalDist

import jax
import numpy as np


def family_threshold(n_tests: int, family_error: float = 1e-3) -> float:
    """Bonferroni ``|z|`` threshold, at least 4: ``n_tests`` correct z-scores all fall
    below it with probability ``>= 1 - family_error``."""
    return max(4.0, NormalDist().inv_cdf(1 - family_error / (2 * max(n_tests, 1))))


def stein_max_abs_z(target, key: jax.Array, n: int) -> float:
    """Largest ``|z|`` over the ``d + d^2`` Stein identities, from ``n`` exact draws."""
    xs = target.sample(key, n)
    s = np.asarray(target.score_batch(xs), dtype=np.float64)
    x = np.asarray(xs, dtype=np.float64)
    terms = np.concatenate([s, np.einsum("ni,nj->nij", s, x).reshape(n, -1)], axis=1)
    exact = np.concatenate([np.zeros(x.shape[1]), -np.eye(x.shape[1]).ravel()])
    stderr = terms.std(axis=0, ddof=1) / np.sqrt(n)
    return float(np.max(np.abs((terms.mean(axis=0) - exact) / stderr)))
