"""Atomic writes."""

import pytest

from scoresample._io import atomic_path, write_text
from scoresample.errors import OutputError


def test_write_text_replaces_atomically(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    write_text(target, "first")
    write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]
    assert target.stat().st_mode & 0o044  # readable by others, like a plain open()


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="writable output directory"):
        write_text(blocker / "a.txt", "x")
