"""Test-wide settings: silent broadcasting is a bug, every seed is explicit, and compiled
programs persist on disk between test processes.

JAX's persistent compilation cache (``.pytest_cache/jax``, or ``JAX_COMPILATION_CACHE_DIR``
where set) serves every process of a test run, the pytest workers and the CLI and
tutorial subprocesses they start, which compile many of the same programs (the same
config run, interrupted and resumed), and makes a second run of the suite about three
times faster. It has no size cap: with one, JAX locks the folder and lists and reads
every entry on each write (to evict the least recently used), a cost that grows with
the cache, so that a cold run wrote its later entries at ~160 ms each. Without the cap
there are no locks, and a process may read an entry that another is still writing: JAX
then warns "Error reading persistent compilation cache entry" and compiles it afresh,
which ``pyproject.toml`` lets pass. ``count_compilations`` (``tests/compilations.py``)
switches it off while it counts. XLA compiles at its quickest (``tests/compile_flags.py``):
compiling is most of the suite's time.
"""

import os
from pathlib import Path

import compile_flags

compile_flags.apply()  # before JAX starts XLA: it reads XLA_FLAGS once

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

#: JAX option -> (its type, its value in the tests unless the environment sets it).
_CACHE = {
    "jax_compilation_cache_dir": (str, Path(__file__).parents[1] / ".pytest_cache" / "jax"),
    "jax_persistent_cache_min_compile_time_secs": (float, 0),
    "jax_compilation_cache_max_size": (int, -1),
}
for option, (kind, value) in _CACHE.items():
    value = os.environ.setdefault(option.upper(), str(value))  # the subprocesses inherit it
    jax.config.update(option, kind(value))


@pytest.fixture
def key():
    """A fixed PRNG key; tests split it rather than inventing seeds."""
    return jax.random.PRNGKey(20241123)


def zscore(estimate, exact, stderr):
    """``(estimate - exact) / stderr`` as a NumPy array."""
    return (np.asarray(estimate) - np.asarray(exact)) / np.asarray(stderr)
