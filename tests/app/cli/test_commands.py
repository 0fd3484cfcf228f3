"""The ``scoresample`` command line."""

import pytest

from scoresample.app.cli import main


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
