"""XLA's quickest compilation for the test processes.

Almost all of the suite's time is XLA compiling (about 3900 programs, 930 of 1320 s of
test time, measured on 2 cores), and most test programs run for milliseconds. LLVM at
optimisation level 0 without its expensive passes, and on jaxlib 0.10 XLA's legacy CPU
emitters, compile much faster. Measured on tests/samplers, objectives and targets
(jaxlib 0.10, cold cache, 2 workers): 305 s with XLA's defaults, 198 s with all three
flags, 217 s without the expensive-pass flag, 297 s and 308 s with level 0 or the legacy
emitters alone. On jaxlib 0.12 (float64), four compile-heavy test files: 93 s, 73 s with
the two LLVM flags. jaxlib 0.12 no longer has the legacy emitters (an unknown flag aborts
XLA), so they are asked for only before 0.11.

XLA reads ``XLA_FLAGS`` once, when JAX first touches a device: ``conftest.py`` sets it
before anything can, and the subprocesses the tests start inherit it.
``SCORESAMPLE_TEST_XLA_DEFAULTS=1`` keeps XLA's defaults (to time what users get).
"""

import os

import jaxlib.version

LEGACY_EMITTERS = tuple(jaxlib.version.__version_info__[:2]) < (0, 11)
QUICK = ("--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true") + (
    ("--xla_cpu_use_fusion_emitters=false",) if LEGACY_EMITTERS else ()
)


def without_quick(flags: str) -> str:
    """``flags`` with the quick-compilation flags taken out (XLA's defaults again)."""
    return " ".join(flag for flag in flags.split() if flag not in QUICK)


def with_quick(flags: str) -> str:
    """``flags`` with the quick-compilation flags added (once)."""
    return " ".join([*without_quick(flags).split(), *QUICK])


def apply() -> None:
    """Add the quick flags to this process's ``XLA_FLAGS`` unless the environment says no."""
    if os.environ.get("SCORESAMPLE_TEST_XLA_DEFAULTS") != "1":
        os.environ["XLA_FLAGS"] = with_quick(os.environ.get("XLA_FLAGS", ""))
