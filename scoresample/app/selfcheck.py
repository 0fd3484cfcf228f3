"""``scoresample check``: every exact score against its exact sampler.

One row per built-in target with an exact sampler: the largest ``|z|`` of its Stein
identities (:func:`scoresample.diagnostics.stein.stein_max_abs_z`) against the Bonferroni
threshold (:func:`~scoresample.diagnostics.stein.family_threshold`).
"""

from __future__ import annotations

import time

import jax

from ..diagnostics.stein import family_threshold, stein_max_abs_z
from ..targets import ExactSampler, builtin_targets, make_target


def run_selfcheck(n: int = 20_000, seed: int = 0) -> bool:
    """Print one row per built-in target with an exact sampler; True if all pass.

    A target passes when its largest ``|z|`` is below the Bonferroni threshold for its
    identities (``d + d^2`` on ``R^d``) at family-wise error 1e-3.
    """
    key = jax.random.PRNGKey(seed)
    identities = "E[s] = 0, E[s x^T] = -I (on a group: E[s e^T + X e] = 0)"
    print(f"Stein identities {identities} under {n} exact samples")
    print(f"{'target':<12} {'dim':>4} {'max |z|':>8} {'limit':>6} {'seconds':>8}  result")
    passed = True
    for i, info in enumerate(builtin_targets()):
        target = make_target(info.name)
        if not isinstance(target, ExactSampler):
            continue
        start = time.perf_counter()
        z, n_identities = stein_max_abs_z(target, jax.random.fold_in(key, i), n)
        limit = family_threshold(n_identities)
        ok = z < limit
        passed &= ok
        elapsed = time.perf_counter() - start
        print(
            f"{info.name:<12} {info.dim:>4} {z:>8.2f} {limit:>6.2f} {elapsed:>8.2f}  "
            f"{'ok' if ok else 'FAIL'}"
        )
    print("all exact scores agree with their exact samplers" if passed else "some checks FAILED")
    return passed
