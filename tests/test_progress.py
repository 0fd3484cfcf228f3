"""progress_bar: tqdm where it can redraw, one plain line per tenth of the total elsewhere."""

import io
import re

from tqdm.std import tqdm

import scoresample._progress as progress
from scoresample._progress import LogProgress, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines_of(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def percents(lines: list[str]) -> list[int]:
    return [int(re.match(r"fit: (\d+)% \(", line).group(1)) for line in lines]


def redirect_stderr(monkeypatch, stream: io.StringIO) -> io.StringIO:
    """Point stderr at ``stream`` (in the test itself: pytest's capture replaces
    sys.stderr between a fixture's set-up and the test)."""
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_a_log_gets_one_line_per_tenth(monkeypatch):
    log = redirect_stderr(monkeypatch, io.StringIO())
    with progress_bar(1000, "fit", unit="step") as bar:
        assert isinstance(bar, LogProgress)
        for _ in range(143):  # 7 at a time: 1001 passes every tenth once
            bar.set_postfix(loss="0.5")
            bar.update(7)
    lines = lines_of(log)
    assert percents(lines) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert lines[0].startswith("fit: 10% (105/1000 steps), loss=0.5, ")
    assert lines[-1].endswith(" s") and "(1001/1000 steps)" in lines[-1]


def test_a_log_line_per_update_when_updates_pass_several_tenths(monkeypatch):
    log = redirect_stderr(monkeypatch, io.StringIO())
    with progress_bar(2000, "fit", unit="step") as bar:
        for _ in range(4):
            bar.update(500)
    assert percents(lines_of(log)) == [25, 50, 75, 100]


def test_a_resumed_bar_logs_only_the_tenths_still_to_come(monkeypatch):
    log = redirect_stderr(monkeypatch, io.StringIO())
    with progress_bar(100, "fit", initial=45) as bar:
        for _ in range(11):
            bar.update(5)
    assert percents(lines_of(log)) == [50, 60, 70, 80, 90, 100]


def test_disabled_or_empty_bars_print_nothing(monkeypatch):
    log = redirect_stderr(monkeypatch, io.StringIO())
    with progress_bar(100, "fit", enabled=False) as bar:
        bar.update(100)
    with progress_bar(0, "fit") as bar:
        bar.update(0)
    assert log.getvalue() == ""


def test_a_terminal_or_a_notebook_gets_tqdm(monkeypatch):
    redirect_stderr(monkeypatch, io.StringIO())
    assert not progress._in_notebook()
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    with progress_bar(10, "fit") as bar:
        assert isinstance(bar, tqdm)
    monkeypatch.setattr(progress, "_in_notebook", lambda: False)
    terminal = redirect_stderr(monkeypatch, Terminal())
    with progress_bar(10, "fit") as bar:
        assert isinstance(bar, tqdm)
        bar.update(10)
    assert "\r" in terminal.getvalue()  # a redrawn bar, not lines
