"""Stein identities of an exact target, and the z-score thresholds of honest tests.

For exact samples ``x ~ p`` and the exact score ``s = grad log p``,
``E[s(x)] = 0`` and ``E[s(x) x^T] = -I`` (Stein's identity, integration by parts).
Each entry is a z-score against its Monte Carlo standard error; a correct target gives
``|z|`` of order one. :func:`family_threshold` is the Bonferroni bound that a family of
correct z-scores stays under.

On a compact Lie group (a target with a ``group``), ``s`` is the body-frame Riemannian
gradient and integration by parts holds along the left-invariant fields ``X_i``, which
are divergence-free for the Haar measure: ``E[s(x)] = 0`` and
``E[s_i(x) e(x) + X_i e(x)] = 0`` with ``e`` the group's embedding (``X_i e`` by
autodiff along ``exp_x``); the Euclidean identity is the case ``e(x) = x``.

References:
    Stein (1972), A bound for the error in the normal approximation, Proc. 6th Berkeley
    Symp. 2 (the identity ``E[s(x) f(x) + f'(x)] = 0``).
"""

from __future__ import annotations

from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np


def family_threshold(n_tests: int, family_error: float = 1e-3) -> float:
    """Bonferroni ``|z|`` threshold, at least 4: ``n_tests`` correct z-scores all fall
    below it with probability ``>= 1 - family_error``."""
    return max(4.0, NormalDist().inv_cdf(1 - family_error / (2 * max(n_tests, 1))))


def stein_terms(target, xs) -> np.ndarray:
    """``(n, d + d k)`` per-draw terms of the Stein identities, each of mean zero under
    exact draws: ``s`` and ``s_i e_j + X_i e_j`` (``e(x) = x``, ``k = d``, on ``R^d``)."""
    s = np.asarray(target.score_batch(xs), dtype=np.float64)
    group = getattr(target, "group", None)
    if group is None:
        e = np.asarray(xs, dtype=np.float64)
        derivative = np.broadcast_to(np.eye(e.shape[1]), (len(e), e.shape[1], e.shape[1]))
    else:
        along = jax.jacfwd(lambda u, x: group.embed(group.exp_map(x, u)))
        e = np.asarray(group.embed(xs), dtype=np.float64)
        jacobians = jax.vmap(along, (None, 0))(jnp.zeros(xs.shape[1], xs.dtype), xs)
        derivative = np.swapaxes(np.asarray(jacobians, np.float64), 1, 2)  # (n, d, k)
    products = np.einsum("ni,nj->nij", s, e) + derivative
    return np.concatenate([s, products.reshape(len(s), -1)], axis=1)


def stein_max_abs_z(target, key: jax.Array, n: int) -> tuple[float, int]:
    """Largest ``|z|`` over the Stein identities from ``n`` exact draws, and how many
    identities there are (``d + d^2`` on ``R^d``)."""
    terms = stein_terms(target, target.sample(key, n))
    stderr = terms.std(axis=0, ddof=1) / np.sqrt(n)
    return float(np.max(np.abs(terms.mean(axis=0) / stderr))), terms.shape[1]
