"""Bad input: one clear line on stderr naming the field and the fix, exit status 2."""

import copy
import re

import numpy as np
import pytest

from scoresample.app.cli import main
from scoresample.app.config import dump_toml

EXACT = {
    "target": {"name": "ncsn_toy"},
    "sampler": [{"name": "mala", "n_chains": 2, "num_warmup": 10, "num_samples": 10}],
}
LEARNED = {
    "target": {"name": "ncsn_toy"},
    "score": {
        "kind": "learned",
        "objective": "dsm",
        "training": {"steps": 5},
        "network": {"hidden": [8], "embed": 4},
        "data": {"source": "file", "path": "data.npy"},
    },
    "sampler": [{"name": "ula", "n_chains": 2, "num_samples": 2, "step_size": 0.01}],
}


def _with(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the dotted ``path`` (list indices as numbers) set."""
    table = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = table
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value
    return table


CASES = {
    "unknown target": (
        _with(EXACT, "target.name", "gmm04"),
        r"target.name: .*did you mean 'gmm40'",
    ),
    "unknown sampler": (
        _with(EXACT, "sampler.0.name", "nutz"),
        r"sampler.name: .*did you mean 'nuts'",
    ),
    "wrong type": (
        _with(LEARNED, "score.training.steps", "many"),
        r"score.training.steps: must be int",
    ),
    "negative step size": (_with(EXACT, "sampler.0.step_size", -0.1), r"step_size"),
    "zero samples": (_with(EXACT, "sampler.0.num_samples", 0), r"num_samples"),
    "zero training steps": (_with(LEARNED, "score.training.steps", 0), r"steps"),
    "unknown key": (_with(EXACT, "seeed", 1), r"seeed: unknown key; did you mean 'seed'"),
    "unknown sampler setting": (
        _with(EXACT, "sampler.0.num_sample", 5),
        r"num_sample.*num_samples",
    ),
    "missing data file": (LEARNED, r"score.data.path: .*does not exist"),
}


def _run(tmp_path, table, capsys, extra=()):
    config = tmp_path / "config.toml"
    config.write_text(dump_toml(table))
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(case, tmp_path, capsys):
    table, pattern = CASES[case]
    code, err = _run(tmp_path, table, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scoresample: error: "), err
    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (np.full((10, 2), np.nan), r"score.data.path: contains NaN"),
        (np.ones(10), r"score.data.path: holds shape \(10,\) but the target has dim 2"),
        (np.ones((10, 3)), r"holds shape \(10, 3\) but the target has dim 2"),
    ],
    ids=["nan", "wrong shape", "dimension mismatch"],
)
def test_bad_data_file(data, pattern, tmp_path, capsys):
    np.save(tmp_path / "data.npy", data)
    code, err = _run(tmp_path, LEARNED, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(pattern, err), err


def test_unreadable_data_file(tmp_path, capsys):
    (tmp_path / "data.npy").write_text("not an array")
    code, err = _run(tmp_path, LEARNED, capsys)
    assert code == 2 and "score.data.path: cannot read" in err


def test_unwritable_output_directory(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file")
    config = tmp_path / "config.toml"
    config.write_text(dump_toml(EXACT))
    code = main(["run", str(config), "--out", str(tmp_path / "blocker" / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot be created" in err and "--out" in err


def test_missing_and_malformed_config(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 2")
    assert main(["run", str(bad)]) == 2
    assert "is not valid TOML" in capsys.readouterr().err


def test_existing_run_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, err = _run(tmp_path, EXACT, capsys)
    assert code == 2 and "already holds a run" in err and "--resume" in err
    assert (out / "precious.txt").read_text() == "keep me"
