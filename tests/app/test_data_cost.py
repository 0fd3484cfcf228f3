"""The training data's cost in energy gradients is counted, saved beside the data and read
back on resume (the budget that learned samplers are compared at)."""

import jax
import numpy as np

from scoresample.app.config import parse_config
from scoresample.app.pipeline import train
from scoresample.targets import make_target


def _config(source: str):
    data = {"source": source, "n": 60, "mcmc_sampler": "mala", "mcmc_chains": 6, "mcmc_warmup": 30}
    return parse_config(
        {
            "target": {"name": "gaussian", "dim": 3},
            "score": {"kind": "learned", "objective": "tsm", "data": data},
            "sampler": [{"name": "mala"}],
        }
    )


def test_mcmc_data_cost_is_counted_saved_and_read_back(tmp_path, key, monkeypatch):
    config, target = _config("mcmc"), make_target("gaussian", dim=3)
    samples, cost = train.training_samples(config, target, tmp_path, key, tmp_path, False)
    # MALA takes one gradient per step: 6 chains x (30 warm-up + 60 / 6 kept steps)
    assert samples.shape == (60, 3) and cost == 6 * (30 + 10)

    def fail(*args, **kwargs):
        raise AssertionError("the data were made again")

    monkeypatch.setattr(train, "mcmc_data", fail)
    again, cost_again = train.training_samples(config, target, tmp_path, key, tmp_path, False)
    np.testing.assert_array_equal(again, samples)
    assert cost_again == cost


def test_exact_data_cost_nothing_but_the_scores_attached(tmp_path):
    config = _config("exact")
    config.score.training.steps = 2
    trained = train.train_stage(
        config,
        make_target("gaussian", dim=3),
        tmp_path,
        jax.random.PRNGKey(0),
        resume=False,
        progress=False,
        base=tmp_path,
    )
    assert trained.data_energy_evals == 60  # one exact score per training point (TSM)
