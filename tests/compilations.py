"""Counting XLA compilations, for tests that a call compiles nothing (or something).

    with count_compilations() as compiled:
        fit(...)
    assert compiled.names == [], compiled.names

JAX reports every backend compilation (a ``jit``-ted function, and each eager operation
the first time it meets a shape) to :mod:`jax.monitoring` as the event
``/jax/core/compile/backend_compile_duration``, with the function's name. A hit in JAX's
persistent compilation cache (off unless configured) skips the backend and is not counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

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
    """Record the backend compilations that happen inside the ``with`` block."""
    compiled = Compilations()
    listener = compiled.record
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield compiled
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
