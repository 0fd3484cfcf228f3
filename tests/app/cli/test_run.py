"""End to end: the demo's run directory, its report in a browser, resume, and
interruptions (Ctrl-C and kill -9) that lose nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from browser import render

from scoresample.app.cli import main
from scoresample.app.config import dump_toml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--quick", "--out", str(out), "--quiet"]) == 0
    return out


def test_demo_writes_the_run_directory(demo_run, capsys):
    for name in (
        "config.toml",
        "model/checkpoint.eqx",
        "train_history.csv",
        "summary.csv",
        "metrics.json",
        "report.html",
        "plots/training.png",
        "plots/score_field.png",
    ):
        assert (demo_run / name).stat().st_size > 0, name
    labels = ["annealed_langevin", "reverse_diffusion", "mala", "nuts"]
    assert sorted(p.stem for p in (demo_run / "chains").glob("*.nc")) == sorted(labels)
    metrics = json.loads((demo_run / "metrics.json").read_text())
    assert sorted(metrics) == sorted(labels)
    for label in labels:
        row = metrics[label]
        for key in (
            "seconds",
            "n_grad_evals",
            "ess_bulk_min",
            "ess_bulk_median",
            "ess_tail_min",
            "divergences",
            "mmd2",
            "mmd2_floor",
            "w2",
            "w2_floor",
            "mode_weight_tv",
        ):
            assert key in row, (label, key)
        assert row["n_grad_evals"] > 0
    assert metrics["mala"]["r_hat_max"] is not None and metrics["mala"]["score"] == "exact"
    assert metrics["reverse_diffusion"]["score"] == "learned"


def test_report_renders_with_every_image(demo_run):
    result = render(demo_run / "report.html")
    assert result["title"] == "scoresample demo"
    assert len(result["images"]) >= 8
    assert all(loaded for _, loaded in result["images"]), result["images"]


def test_existing_run_needs_resume_or_force(demo_run, capsys):
    assert main(["demo", "--quick", "--out", str(demo_run), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_resume_of_a_finished_run_reuses_everything(demo_run, capsys):
    before = json.loads((demo_run / "metrics.json").read_text())
    chains_before = {p: p.stat().st_mtime_ns for p in (demo_run / "chains").glob("*.nc")}
    assert main(["demo", "--quick", "--out", str(demo_run), "--quiet", "--resume"]) == 0
    after = json.loads((demo_run / "metrics.json").read_text())
    assert {p: p.stat().st_mtime_ns for p in chains_before} == chains_before  # not re-run
    for label, row in before.items():
        assert (
            after[label]["w2"] == row["w2"] and after[label]["ess_bulk_min"] == row["ess_bulk_min"]
        )
    assert "report:" in capsys.readouterr().out


def test_resume_with_a_changed_config_is_refused(demo_run, capsys):
    args = ["demo", "--quick", "--out", str(demo_run), "--quiet", "--resume"]
    assert main([*args, "--set", "seed=5"]) == 2
    assert "config differs" in capsys.readouterr().err


def test_diagnose_a_run_directory(demo_run, capsys):
    assert main(["diagnose", str(demo_run)]) == 0
    out = capsys.readouterr().out
    assert "== mala" in out and "r_hat" in out and "W2 [floor]" in out


# --- interruptions -------------------------------------------------------------------

TRAIN_ONLY = {
    "seed": 1,
    "target": {"name": "ncsn_toy"},
    "score": {
        "kind": "learned",
        "objective": "dsm",
        "process": "ve",
        "sigma_max": 20.0,
        "network": {"hidden": [16], "embed": 4},
        "training": {"steps": 12000, "batch_size": 32, "checkpoint_every": 500},
        "data": {"n": 500},
    },
    "sampler": [{"name": "ula", "n_chains": 2, "num_samples": 3, "step_size": 0.01}],
    "diagnostics": {"plots": False},
}


#: The command line as a user's terminal runs it. A process started in the background
#: by a shell without job control inherits SIGINT ignored, and Python then keeps it
#: ignored: the child installs Python's Ctrl-C handler itself, so the test does not
#: depend on how pytest was started.
_CLI_WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'scoresample'; runpy.run_module('scoresample.app.cli', run_name='__main__')"
)


def _start(config: Path, out: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CLI_WITH_CTRL_C,
            "run",
            str(config),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def _checkpoint_step(out: Path) -> int:
    with open(out / "model" / "checkpoint.eqx", "rb") as file:
        return json.loads(file.readline())["step"]


def _interrupt_after_first_checkpoint(config: Path, out: Path, sig) -> tuple[int, str]:
    proc = _start(config, out)
    deadline = time.monotonic() + 300
    while not (out / "model" / "checkpoint.eqx").exists():
        assert proc.poll() is None, _finish(proc)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    return _finish(proc)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for ``proc``; return its exit status and stderr (closing its pipes)."""
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err


def _run_in_process(config: Path, out: Path, *extra) -> int:
    """The command in this process: only the interrupted runs need one of their own, and
    a new Python process spends seconds importing JAX, ArviZ and the rest."""
    return main(["run", str(config), "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("interrupt")
    config = base / "train.toml"
    config.write_text(dump_toml(TRAIN_ONLY))
    out = base / "reference"
    assert _run_in_process(config, out) == 0
    return config, out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_training_resumes_to_the_same_model(uninterrupted, sig, tmp_path):
    config, reference = uninterrupted
    out = tmp_path / "run"
    code, err = _interrupt_after_first_checkpoint(config, out, sig)
    step = _checkpoint_step(out)
    assert 0 < step < TRAIN_ONLY["score"]["training"]["steps"], "interrupt came too late"
    if sig == signal.SIGINT:
        assert code == 130 and "--resume" in err, err
    assert _run_in_process(config, out, "--resume") == 0
    final, expected = out / "model" / "checkpoint.eqx", reference / "model" / "checkpoint.eqx"
    assert final.read_bytes() == expected.read_bytes()
    history = np.loadtxt(out / "train_history.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(
        history, np.loadtxt(reference / "train_history.csv", delimiter=",", skiprows=1)
    )
