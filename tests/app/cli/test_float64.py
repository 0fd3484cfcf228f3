"""``scoresample run`` under ``JAX_ENABLE_X64=1`` (issue 12): the many-well config (exact
scores, MCMC) and a learned score (ISM on exact data) run end to end at test size, and
their draws and training data are float64.

JAX reads ``JAX_ENABLE_X64`` when it is imported, so each run is a subprocess; it
inherits the tests' quick XLA compilation (``compile_flags``), which keeps these
compile-bound runs short. CI's float64 leg runs the library's tests (targets, samplers,
diagnostics, dtypes); these two runs are the command's float64 counterpart.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from helpers import small_run_overrides

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # CI runs it once, with the slow tests
@pytest.mark.parametrize("name", ["many_well", "half_moons_ism"])
def test_model_config_runs_in_float64(name, tmp_path):
    config, out = ROOT / "models" / f"{name}.toml", tmp_path / name
    args = ["run", str(config), "--out", str(out), "--quiet"]
    for override in small_run_overrides(config):
        args += ["--set", override]
    env = os.environ | {"JAX_ENABLE_X64": "1"}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "scoresample.app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    runs = sorted((out / "chains").glob("*.nc"))
    assert runs and (out / "report.html").exists()
    for path in runs:
        with xr.open_dataset(path, group="posterior", engine="h5netcdf") as posterior:
            assert {v.dtype for v in posterior.data_vars.values()} == {np.dtype("float64")}
    if (out / "model").exists():
        assert np.load(out / "model" / "train_data.npy").dtype == np.float64
