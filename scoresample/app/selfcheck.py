"""``scoresample check``: every exact score against its exact sampler.

One row per built-in target with an exact sampler: the largest ``|z|`` of its Stein
identities (:func:`scoresample.diagnostics.stein.stein_max_abs_z`) against the Bonferroni
threshold (:func:`~scoresample.diagnostics.stein.family_threshold`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax

from ..diagnostics.stein import family_threshold, stein_max_abs_z
from ..errors import ConfigError
from ..targets import builtin_targets, make_target


def run_selfcheck(n: int = 20_000, seed: int = 0, names: Sequence[str] = ()) -> bool:
    """Print one row per built-in target with an exact sampler (or per target in
    ``names``); True if all pass.

    A target passes when its largest ``|z|`` is below the Bonferroni threshold for its
    identities (``d + d^2`` on ``R^d``) at family-wise error 1e-3. Each target's key
    depends on ``seed`` and the target's place among the samplable built-ins, not on which
    others run, so its row is the same in any selection.

    Raises:
        ConfigError: a name that is not a built-in target, or one without an exact sampler.
    """
    samplable = [info.name for info in builtin_targets() if "sample" in info.capabilities]
    for name in names:
        if name not in samplable:
            make_target(name)  # an unknown name: its error says which names exist
            raise ConfigError(
                "targets",
                f"{name!r} has no exact sampler to check its score against",
                f"choose among {', '.join(samplable)}",
            )
    checked = [name for name in samplable if not names or name in names]
    width = max(len("target"), *map(len, checked))
    key = jax.random.PRNGKey(seed)
    identities = "E[s] = 0, E[s x^T] = -I (on a group: E[s e^T + X e] = 0)"
    print(f"Stein identities {identities} under {n} exact samples")
    print(f"{'target':<{width}} {'dim':>4} {'max |z|':>8} {'limit':>6} {'seconds':>8}  result")
    passed = True
    for name in checked:
        target = make_target(name)
        start = time.perf_counter()
        z, n_identities = stein_max_abs_z(target, jax.random.fold_in(key, samplable.index(name)), n)
        limit = family_threshold(n_identities)
        ok = z < limit
        passed &= ok
        elapsed = time.perf_counter() - start
        print(
            f"{name:<{width}} {target.dim:>4} {z:>8.2f} {limit:>6.2f} {elapsed:>8.2f}  "
            f"{'ok' if ok else 'FAIL'}"
        )
    print("all exact scores agree with their exact samplers" if passed else "some checks FAILED")
    return passed
