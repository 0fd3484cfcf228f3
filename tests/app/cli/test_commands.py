"""The ``scoresample`` command line."""

import os
import re
import tempfile

import pytest

from scoresample.app import cli
from scoresample.app.cli import main
from scoresample.errors import ConfigError


def test_targets_lists_builtins(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "gmm40" in out and "many_well" in out and "capabilities" in out


def test_check_runs_and_passes(capsys):
    assert main(["check", "--n", "10000"]) == 0
    out = capsys.readouterr().out
    assert "double_well" in out and "all exact scores agree" in out


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def raising(error: BaseException):
    def command(args):
        raise error

    return command


@pytest.fixture
def crash_dir(tmp_path, monkeypatch):
    """The temporary directory where crash logs go."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_crash_is_one_line_and_a_log_with_the_traceback(monkeypatch, capsys, crash_dir):
    monkeypatch.setattr(cli, "_cmd_targets", raising(RuntimeError("boom\nsecond line")))
    assert main(["targets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "scoresample: internal error (RuntimeError: boom)"
    )
    (log,) = crash_dir.glob("scoresample-crash-*.log")
    assert err.rstrip().endswith(str(log))
    assert re.fullmatch(rf"scoresample-crash-\d{{8}}-\d{{6}}-{os.getpid()}\.log", log.name)
    text = log.read_text()
    assert text.startswith("command: scoresample targets\n")
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text
    assert "in command" in text and "second line" in text


def test_a_crash_without_a_writable_log_shows_the_traceback(monkeypatch, capsys, crash_dir):
    monkeypatch.setattr(tempfile, "tempdir", str(crash_dir / "file"))
    (crash_dir / "file").write_text("not a directory")
    monkeypatch.setattr(cli, "_cmd_targets", raising(ValueError()))
    assert main(["targets"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "scoresample: internal error (ValueError); no crash log" in err.splitlines()[-1]


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (ConfigError("target.name", "is 'x'", "choose one"), 2, "scoresample: error: target.name"),
        (KeyboardInterrupt(), 130, "scoresample: interrupted"),
    ],
)
def test_user_errors_and_interrupts_keep_their_status_and_leave_no_log(
    error, status, line, monkeypatch, capsys, crash_dir
):
    monkeypatch.setattr(cli, "_cmd_targets", raising(error))
    assert main(["targets"]) == status
    (printed,) = capsys.readouterr().err.strip().splitlines()
    assert printed.startswith(line)
    assert not list(crash_dir.iterdir())
