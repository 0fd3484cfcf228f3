"""Counting XLA compilations, for tests that a call compiles nothing (or something).

    with count_compilations() as compiled:
        fit(...)
    assert compiled.names == [], compiled.names

JAX reports every backend compilation (a ``jit``-ted function, and each eager operation
the first time it meets a shape) to :mod:`jax.monitoring` as the event
``/jax/core/compile/backend_compile_duration``, with the function's name. A hit in JAX's
persistent compilation cache (which the tests turn on, see ``conftest.py``) would skip the
backend and go uncounted, so the cache is off while counting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
from jax.experimental.compilation_cache import compilation_cache

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


class Compilations:
    """The names of the functions compiled so far (``jit(<name>)``), in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @property
    def count(self) -> int:
        return len(self.names)

    def record(self, event: str, duration: float, **kwargs) -> None:
        if event == BACKEND_COMPILE:
            self.names.append(str(kwargs.get("fun_name", "?")))


@contextlib.contextmanager
def count_compilations() -> Iterator[Compilations]:
    """Record the backend compilations that happen inside the ``with`` block (with the
    persistent compilation cache off, so that each is a real compilation)."""
    compiled = Compilations()
    listener = compiled.record
    with _persistent_cache(enabled=False):
        jax.monitoring.register_event_duration_secs_listener(listener)
        try:
            yield compiled
        finally:
            jax.monitoring.unregister_event_duration_listener(listener)


@contextlib.contextmanager
def _persistent_cache(enabled: bool) -> Iterator[None]:
    """JAX's persistent compilation cache on or off inside the block; JAX decides once
    per process whether to use it, so the decision is reset on the way in and out."""
    before = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", enabled)
    compilation_cache.reset_cache()
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", before)
        compilation_cache.reset_cache()
