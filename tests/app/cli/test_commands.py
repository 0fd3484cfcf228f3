"""The ``scoresample`` command line."""

import os
import re
import tempfile

import pytest

from scoresample.app import cli, selfcheck
from scoresample.app.cli import main
from scoresample.errors import ConfigError


def test_targets_lists_builtins(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "gmm40" in out and "many_well" in out and "capabilities" in out


def test_check_runs_and_passes(capsys):
    """One Euclidean and one group target (every target's Stein identities are tested in
    tests/targets/test_scores.py, by an independent computation)."""
    assert main(["check", "double_well", "torus_mixture", "--n", "10000"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[0] for row in rows[2:4]] == ["double_well", "torus_mixture"]
    assert all(row.endswith("ok") for row in rows[2:4]) and "all exact scores agree" in rows[-1]


class _TooWide:
    """double_well's draws judged by the score of a double well 10% wider: a wrong score."""

    def __init__(self, target):
        self.sample, self.dim = target.sample, target.dim
        self.score_batch = lambda xs: target.score_batch(xs / 1.1) / 1.1


def test_check_fails_for_a_wrong_score(capsys, monkeypatch):
    right = selfcheck.make_target
    monkeypatch.setattr(selfcheck, "make_target", lambda name: _TooWide(right(name)))
    assert main(["check", "double_well", "--n", "10000"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "some checks FAILED" in out


@pytest.mark.parametrize(
    ("name", "message"), [("gmm41", "did you mean 'gmm40'"), ("dw4", "no exact sampler")]
)
def test_check_refuses_a_target_it_cannot_check(name, message, capsys):
    assert main(["check", name]) == 2
    assert message in capsys.readouterr().err


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
