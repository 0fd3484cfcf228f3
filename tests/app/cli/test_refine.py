"""``[sampler.refine]``: a sampler's draws refined on the exact target are a second
result, with its own chains file, metrics row and gradient count; bad settings name
their field."""

import json
import tomllib

import numpy as np
import pytest

from scoresample.app.cli import main
from scoresample.app.config import parse_config
from scoresample.diagnostics import load_chains
from scoresample.errors import ConfigError

CONFIG = """
seed = 3
[target]
name = "ncsn_toy"
[score]
kind = "exact"
process = "ve"
sigma_min = 1.0
sigma_max = 20.0
[[sampler]]
name = "annealed_langevin"
label = "annealed"
n_chains = 100
n_levels = 2
n_steps_per_level = 2
step_size = 0.05
[sampler.refine]
num_warmup = 4
num_steps = 6
[diagnostics]
n_reference = 100
plots = false
"""


def test_refined_draws_are_a_second_result(tmp_path):
    config = tmp_path / "refine.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics) == ["annealed", "annealed_refined"]
    assert metrics["annealed_refined"]["n_grad_evals"] == 100 * 6  # MALA: 1 per step
    assert metrics["annealed_refined"]["warmup_grad_evals"] == 100 * 4
    refined = load_chains(out / "chains" / "annealed_refined.nc")
    start = load_chains(out / "chains" / "annealed.nc")
    assert refined.positions.shape == start.positions.shape == (1, 100, 2)
    assert not np.allclose(refined.positions, start.positions)
    assert refined.settings["refined_from"] == "annealed_langevin"
    assert refined.settings["start_grad_evals"] == start.total_grad_evals()


@pytest.mark.parametrize(
    "refine, field",
    [
        ('sampler = "nuts"', "sampler.0.refine.sampler"),
        ("num_steps = 0", "sampler.refine.num_steps"),
        ("num_warmup = -1", "sampler.refine.num_warmup"),
        ("steps = 5", "sampler.0.refine.steps"),
    ],
)
def test_bad_refine_settings_name_their_field(refine, field):
    table = tomllib.loads(CONFIG.replace("num_warmup = 4\nnum_steps = 6", refine))
    with pytest.raises(ConfigError) as error:
        parse_config(table)
    assert error.value.field == field
