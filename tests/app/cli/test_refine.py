"""``[sampler.refine]`` and ``[sampler.reweight]``: a sampler's draws refined on the
exact target, the probability flow of its score reweighted by the target, and those
refined (resample-move) are further results, each with its own chains file, metrics
row and count of evaluations; bad settings name their field."""

import json
import tomllib

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from scoresample import targets
from scoresample.app.cli import main
from scoresample.app.config import RefineConfig, parse_config
from scoresample.app.pipeline.diagnose import diagnose_one
from scoresample.app.pipeline.sample import start_energy_bound
from scoresample.app.pipeline.train import Trained
from scoresample.chains import Chains
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
[sampler.reweight]
rtol = 1e-4
atol = 1e-4
[diagnostics]
n_reference = 100
plots = false
"""


def test_refined_and_reweighted_draws_are_further_results(tmp_path):
    config = tmp_path / "refine.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    moved = "annealed_reweighted_refined"
    assert sorted(metrics) == ["annealed", "annealed_refined", "annealed_reweighted", moved]
    assert metrics["annealed_refined"]["n_grad_evals"] == 100 * 6  # MALA: 1 per step
    assert metrics["annealed_refined"]["warmup_grad_evals"] == 100 * 4
    refined = load_chains(out / "chains" / "annealed_refined.nc")
    start = load_chains(out / "chains" / "annealed.nc")
    assert refined.positions.shape == start.positions.shape == (1, 100, 2)
    assert not np.allclose(refined.positions, start.positions)
    assert refined.settings["refined_from"] == "annealed_langevin"
    assert refined.settings["start_grad_evals"] == start.total_grad_evals()
    # Reweighting: the exact noised score at sigma_min = 1 draws from the mixture
    # convolved with N(0, I); the weights correct to the mixture, whose log Z is 0.
    weighted = load_chains(out / "chains" / "annealed_reweighted.nc").settings
    assert abs(weighted["log_z"]) < 4 * weighted["log_z_stderr"], weighted
    assert 0.3 < weighted["ess_fraction"] < 0.99, weighted  # neither collapsed nor ignored
    assert weighted["distinct_draws"] < 100  # resampled: duplicates
    # A proposal wider than the target bounds the weights: Pareto k-hat below 0.5, the
    # threshold at n = 100.
    assert weighted["pareto_k"] < 0.5 and weighted["reliable"] is True, weighted
    assert metrics["annealed_reweighted"]["ess_bulk_min"] == pytest.approx(weighted["kish_ess"])
    assert metrics["annealed_reweighted"]["warmup_grad_evals"] == 100  # the weights' energies
    # Resample-move: the refinement's count plus the weights' energies.
    assert metrics[moved]["n_grad_evals"] == 100 * 6
    assert metrics[moved]["warmup_grad_evals"] == 100 * 4 + 100
    assert metrics[moved]["mode_weight_tv"] < metrics["annealed_refined"]["mode_weight_tv"]


@pytest.mark.parametrize("pareto_k, warned", [(0.49, False), (0.51, True)])
def test_the_report_warns_of_weights_past_the_pareto_threshold(pareto_k, warned, key):
    # 100 resampled draws: the threshold is 1 - 1 / log10(100) = 0.5.
    draws = np.asarray(targets.ncsn_toy().sample(key, 100))[None]
    settings = {"kish_ess": 40.0, "pareto_k": pareto_k, "reliable": pareto_k <= 0.5}
    chains = Chains(draws, {}, "reweighted_flow", {}, settings, particles=True)
    found = diagnose_one("flow", chains, targets.ncsn_toy(), None, 100, key).warnings
    assert [w for w in found if "Pareto k-hat" in w] == (
        [
            f"flow: the importance weights' Pareto k-hat is {pareto_k:.2f}, above 0.50 for "
            "100 draws: log Z, its standard error, weighted means and resampled draws are "
            "unreliable (a few draws carry the weight); train the score longer or reweight "
            "more draws"
        ]
        if warned
        else []
    )


@pytest.mark.parametrize(
    "refine, field",
    [
        ('sampler = "nuts"', "sampler.0.refine.sampler"),
        ("num_steps = 0", "sampler.refine.num_steps"),
        ("num_warmup = -1", "sampler.refine.num_warmup"),
        ("steps = 5", "sampler.0.refine.steps"),
        ('max_start_energy = "dta"', "sampler.0.refine.max_start_energy"),
        ("relax_steps = 0", "sampler.refine.relax_steps"),
        ('[sampler.reweight]\ndivergence = "exat"', "sampler.0.reweight.divergence"),
        ("[sampler.reweight]\nrtol = 0", "sampler.reweight.rtol"),
    ],
)
def test_bad_refine_settings_name_their_field(refine, field):
    table = CONFIG.replace("[sampler.reweight]\nrtol = 1e-4\natol = 1e-4\n", "")
    table = tomllib.loads(table.replace("num_warmup = 4\nnum_steps = 6", refine))
    with pytest.raises(ConfigError) as error:
        parse_config(table)
    assert error.value.field == field


def test_the_data_bound_is_the_largest_energy_of_the_training_samples():
    mean, cov = np.array([0.7, -1.3]), np.array([[2.0, 0.6], [0.6, 0.5]])
    target = targets.Gaussian(jnp.asarray(mean), jnp.asarray(cov))
    samples = np.random.default_rng(4).multivariate_normal(mean, cov, size=50)
    trained = Trained(model=None, process=None, history={}, samples=samples)
    bound = start_energy_bound(RefineConfig(max_start_energy="data"), target, trained, "sampler.a")
    expected = np.max(-scipy.stats.multivariate_normal(mean, cov).logpdf(samples))
    np.testing.assert_allclose(bound, expected, rtol=1e-5)
    assert start_energy_bound(RefineConfig(max_start_energy=-2.5), target, None, "x") == -2.5
    assert start_energy_bound(RefineConfig(), target, trained, "x") is None


def test_the_data_bound_without_training_samples_names_its_field():
    target = targets.Gaussian(jnp.zeros(2), jnp.eye(2))
    with pytest.raises(ConfigError) as error:
        start_energy_bound(RefineConfig(max_start_energy="data"), target, None, "sampler.a")
    assert error.value.field == "sampler.a.refine.max_start_energy"
