"""Progress bars that behave in terminals, notebooks and log files.

A tqdm bar redraws itself with carriage returns; written to a file (a batch job's log,
CI output, ``nohup``) that becomes one long line or thousands of them. So
:func:`progress_bar` gives a tqdm bar only where it can redraw (stderr is a terminal,
or a Jupyter kernel shows it as a widget), and otherwise prints one plain line each
time the count passes a tenth of the total: a log shows that a long run is alive and
how it goes (with the postfix, e.g. the running loss), in at most ten lines per bar.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm.auto import tqdm

#: Plain lines per bar: one each time the count passes another ``1 / LINES`` of the total.
LINES = 10


def progress_bar(
    total: int, desc: str, *, enabled: bool = True, unit: str = "it", initial: int = 0
) -> Any:
    """A progress bar over ``total`` units, started at ``initial``.

    A tqdm bar when stderr is a terminal or inside a Jupyter kernel; otherwise a
    :class:`LogProgress` that prints one line per tenth of the total; nothing when not
    ``enabled``. All three are context managers with ``update(n)`` and
    ``set_postfix(**values)``.

    Example:
        >>> with progress_bar(2000, "fit", unit="step") as bar:
        ...     bar.set_postfix(loss="0.12")
        ...     bar.update(500)   # in a log: "fit: 25% (500/2000 steps), loss=0.12, 3 s"
    """
    if not enabled:
        return LogProgress(total, desc, unit=unit, initial=initial, silent=True)
    if _stderr_is_terminal() or _in_notebook():
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr)
    return LogProgress(total, desc, unit=unit, initial=initial)


class LogProgress:
    """Progress as plain lines on stderr: ``desc: 30% (600/2000 steps), loss=0.1, 12 s``,
    one each time the count passes another tenth of ``total``."""

    def __init__(
        self, total: int, desc: str, *, unit: str = "it", initial: int = 0, silent: bool = False
    ):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.silent = silent
        self.postfix: dict[str, Any] = {}
        self._logged = self._tenths(initial)
        self._start = time.perf_counter()

    def _tenths(self, n: int) -> int:
        return LINES * n // self.total if self.total > 0 else LINES

    def set_postfix(self, **values) -> None:
        """Values shown after the count (``name=value``), as tqdm's ``set_postfix``."""
        self.postfix = values

    def update(self, n: int = 1) -> None:
        """Advance by ``n``; print a line if a new tenth of the total was passed."""
        self.n += n
        tenths = self._tenths(self.n)
        if tenths > self._logged and not self.silent:
            print(self._line(), file=sys.stderr, flush=True)
        self._logged = max(self._logged, tenths)

    def _line(self) -> str:
        percent = 100 * self.n // self.total
        units = self.unit if self.total == 1 else f"{self.unit}s"
        extra = "".join(f", {name}={value}" for name, value in self.postfix.items())
        seconds = time.perf_counter() - self._start
        return f"{self.desc}: {percent}% ({self.n}/{self.total} {units}){extra}, {seconds:.0f} s"

    def close(self) -> None:
        """Nothing to release (tqdm's interface)."""

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), where tqdm draws a widget."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = getattr(ipython, "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"
