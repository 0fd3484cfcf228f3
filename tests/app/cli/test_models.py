"""Every config in models/ runs end to end at a reduced size and leaves its run directory.

Sizes are cut with ``--set`` overrides built from each sampler's own settings, so a
config that gains a sampler is covered without editing this file. Three configs (exact
scores, a NumPyro model, a score learned by ISM) run in the default suite; the
rest are marked slow.
"""

import json
import tomllib
from pathlib import Path

import pytest
from helpers import small_run_overrides

from scoresample.app.cli import main

MODELS = Path(__file__).resolve().parents[3] / "models"
FAST = {"ncsn_toy", "eight_schools", "half_moons_ism"}


def _cases():
    for path in sorted(MODELS.glob("*.toml")):
        marks = () if path.stem in FAST else (pytest.mark.slow,)
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("config", list(_cases()))
def test_model_config_runs(config, tmp_path):
    text = config.read_text()
    assert text.startswith("#"), "each config opens with a comment saying what it shows"
    assert "minute" in text.split("\n\n")[0] or "about" in text.lower()
    out = tmp_path / config.stem
    args = ["run", str(config), "--out", str(out), "--quiet"]
    for override in small_run_overrides(config):
        args += ["--set", override]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    labels = []
    for sampler in tomllib.loads(text)["sampler"]:
        label = sampler.get("label", sampler["name"])
        results = [label, f"{label}_reweighted"] if "reweight" in sampler else [label]
        if "refine" in sampler:  # each result refined
            results += [f"{name}_refined" for name in results]
        labels += results
    assert sorted(metrics) == sorted(labels)
    assert all((out / "chains" / f"{label}.nc").exists() for label in labels)
    assert (out / "report.html").exists() and (out / "summary.csv").exists()
