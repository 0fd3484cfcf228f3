"""A self-check of the exact targets: Stein identities under exact samples.

For exact samples ``x ~ p`` and the exact score ``s = grad log p``,
``E[s(x)] = 0`` and ``E[s(x) x^T] = -I`` (Stein's identity, integration by parts).
Each entry is reported as a z-score against its Monte Carlo standard error; a correct
target gives ``|z|`` of order one.
"""

from __future__ import annotations

import time
from statistics import NormalDist

import jax
import numpy as np

from .targets import ExactSampler, builtin_targets, make_target


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


def run_selfcheck(n: int = 20_000, seed: int = 0) -> bool:
    """Print one row per built-in target with an exact sampler; True if all pass.

    A target passes when its largest ``|z|`` is below the Bonferroni threshold for its
    ``d + d^2`` identities at family-wise error 1e-3.
    """
    key = jax.random.PRNGKey(seed)
    print(f"Stein identities E[s] = 0, E[s x^T] = -I under {n} exact samples")
    print(f"{'target':<12} {'dim':>4} {'max |z|':>8} {'limit':>6} {'seconds':>8}  result")
    passed = True
    for i, info in enumerate(builtin_targets()):
        target = make_target(info.name)
        if not isinstance(target, ExactSampler):
            continue
        start = time.perf_counter()
        z = stein_max_abs_z(target, jax.random.fold_in(key, i), n)
        limit = family_threshold(info.dim + info.dim**2)
        ok = z < limit
        passed &= ok
        elapsed = time.perf_counter() - start
        print(
            f"{info.name:<12} {info.dim:>4} {z:>8.2f} {limit:>6.2f} {elapsed:>8.2f}  "
            f"{'ok' if ok else 'FAIL'}"
        )
    print("all exact scores agree with their exact samplers" if passed else "some checks FAILED")
    return passed
