"""The training data's cost in energy gradients is counted, saved beside the data and read
back on resume (the budget that learned samplers are compared at)."""

import jax
import numpy as np
import pytest

from scoresample.app.config import parse_config
from scoresample.app.pipeline import train
from scoresample.errors import ConfigError
from scoresample.estimators import laplace_fit
from scoresample.targets import make_target
from scoresample.training import CHECKPOINT_NAME


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


def test_a_laplace_kappa_scale_is_counted_with_the_data(tmp_path):
    """``kappa_sigma = "laplace"`` spends L-BFGS and Hessian evaluations from the first
    training point: the data's count grows by exactly :func:`laplace_fit`'s."""
    config = _config("exact")
    config.score.objective, config.score.kappa_sigma = "kappa", "laplace"
    config.score.training.steps = 2
    target = make_target("gaussian", dim=3)
    trained = train.train_stage(
        config, target, tmp_path, jax.random.PRNGKey(0), resume=False, progress=False,
        base=tmp_path,
    )  # fmt: skip
    laplace = laplace_fit(target.log_prob, np.asarray(trained.samples[0], np.float64))
    assert trained.data_energy_evals == 60 + laplace.energy_evals


def _energy_config(**score):
    data = {"source": "energy", "n": 32, "k": 4, "refill": 8, "refill_steps": 5}
    training = {"steps": 20, "batch_size": 8, "checkpoint_every": 10}
    return parse_config(
        {
            "target": {"name": "gaussian", "dim": 3},
            "score": {
                "kind": "learned", "process": "ve", "sigma_max": 3.0, "sigma_data": 1.0,
                "data": data | {"refill_every": 10}, "training": training, **score,
            },
            "sampler": [{"name": "reverse_diffusion"}],
        }
    )  # fmt: skip


def test_training_from_the_energy_costs_the_estimators_proposals_and_resumes(tmp_path):
    """steps x batch x k energy evaluations; no training set (and so no reference from
    it); a second call resumes from the checkpoint to the same model."""
    target = make_target("gaussian", dim=3)

    def train_once(resume):
        return train.train_stage(
            _energy_config(), target, tmp_path, jax.random.PRNGKey(0),
            resume=resume, progress=False, base=tmp_path,
        )  # fmt: skip

    trained = train_once(False)
    assert trained.data_energy_evals == 20 * 8 * 4 and trained.samples is None
    assert (tmp_path / "model" / CHECKPOINT_NAME).exists()
    again = train_once(True)
    y = jax.numpy.ones(3)
    np.testing.assert_array_equal(trained.model(y, 0.5), again.model(y, 0.5))


def test_training_from_the_energy_names_the_setting_it_lacks(tmp_path):
    target = make_target("gaussian", dim=3)
    config = _energy_config()
    config.score.sigma_data = None
    options = {"resume": False, "progress": False, "base": tmp_path}
    with pytest.raises(ConfigError, match="score.sigma_data"):
        train.train_stage(config, target, tmp_path, jax.random.PRNGKey(0), **options)
    with pytest.raises(ConfigError, match="score.objective"):
        dsm = _energy_config(objective="dsm")
        train.train_stage(dsm, target, tmp_path / "b", jax.random.PRNGKey(0), **options)
    with pytest.raises(ConfigError, match="score.training.sigma"):
        one_level = _energy_config()
        one_level.score.training.sigma = 0.5
        train.train_stage(one_level, target, tmp_path / "c", jax.random.PRNGKey(0), **options)
