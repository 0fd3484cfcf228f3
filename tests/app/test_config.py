"""Config files: validation with one-line errors, overrides, and a faithful round trip."""

import tomllib

import pytest

from scoresample.app.config import config_to_table, dump_toml, load_config, parse_config
from scoresample.errors import ConfigError

BASE = {
    "seed": 3,
    "target": {"name": "many_well", "dim": 8},
    "score": {"kind": "learned", "objective": "tsm", "training": {"steps": 100}},
    "sampler": [{"name": "mala", "num_samples": 50}, {"name": "nuts", "label": "nuts_long"}],
}


def _table(**changes):
    table = tomllib.loads(dump_toml(BASE))
    table.update(changes)
    return table


def test_parse_fills_defaults_and_passes_settings_through():
    cfg = parse_config(_table())
    assert cfg.seed == 3 and cfg.target.params == {"dim": 8}
    assert cfg.score.training.steps == 100 and cfg.score.training.batch_size == 256
    assert cfg.sampler[0].settings == {"num_samples": 50} and cfg.sampler[0].label == "mala"
    assert cfg.sampler[1].label == "nuts_long"


def test_round_trip_through_toml():
    cfg = parse_config(_table())
    again = parse_config(tomllib.loads(dump_toml(config_to_table(cfg))))
    assert again == cfg


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeed": 1}, r"seeed: unknown key; did you mean 'seed'\?"),
        (
            {"score": {"kind": "learnt"}},
            r"score.kind: unknown value 'learnt'; did you mean 'learned'\?",
        ),
        ({"score": {"training": {"steps": "many"}}}, r"score.training.steps: must be int, got str"),
        ({"score": {"training": {"steps": True}}}, r"score.training.steps: must be int"),
        ({"score": {"network": {"hidden": 128}}}, r"score.network.hidden: must be a list"),
        ({"target": {"name": "gmm40", "file": "x.py:f"}}, r"target: sets \['name', 'file'\]"),
        ({"target": {}}, r"target: sets none"),
        ({"sampler": []}, r"sampler: no \[\[sampler\]\] tables"),
        (
            {"sampler": [{"name": "mala"}, {"name": "mala"}]},
            r"sampler.1.label: 'mala' is used twice",
        ),
        ({"sampler": [{"label": "x"}]}, r"sampler.0.name: is required; add name = ..."),
    ],
)
def test_bad_configs_name_the_field_and_the_fix(change, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(_table(**change))
    assert "\n" not in str(info.value)


def test_overrides():
    cfg = parse_config(
        _table(),
        ["score.training.steps=7", "sampler.num_samples=9", "sampler.1.step_size=0.1", "name=run"],
    )
    assert cfg.score.training.steps == 7 and cfg.name == "run"
    assert cfg.sampler[0].settings["num_samples"] == 9
    assert cfg.sampler[1].settings == {"num_samples": 9, "step_size": 0.1}
    with pytest.raises(ConfigError, match="--set"):
        parse_config(_table(), ["score.training.steps"])
    with pytest.raises(ConfigError, match="only 2 samplers"):
        parse_config(_table(), ["sampler.5.step_size=1"])
    # a sampler's own tables, by index only
    cfg = parse_config(_table(), ["sampler.1.refine.num_steps=7", "sampler.1.reweight.rtol=0.01"])
    assert cfg.sampler[1].refine.num_steps == 7 and cfg.sampler[1].reweight.rtol == 0.01
    assert cfg.sampler[0].refine is None and cfg.sampler[0].reweight is None
    with pytest.raises(ConfigError, match="sampler.N.KEY"):
        parse_config(_table(), ["sampler.refine.num_steps=7"])


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def _learned(**score) -> dict:
    return {
        "target": {"name": "gmm40"},
        "score": {"kind": "learned", **score},
        "sampler": [{"name": "mala"}],
    }


def test_config_choices_are_the_registries():
    from scoresample.networks import ACTIVATIONS
    from scoresample.objectives import OBJECTIVES
    from scoresample.samplers import SAMPLERS

    for name in ACTIVATIONS:
        assert parse_config(_learned(network={"activation": name})).score.network.activation
    for name in OBJECTIVES:
        assert parse_config(_learned(objective=name)).score.objective == name
    markov = [n for n, e in SAMPLERS.items() if e.role == "log_prob" and not e.particles]
    assert markov == ["mala", "hmc", "nuts"]
    for name in markov:
        assert parse_config(_learned(data={"mcmc_sampler": name})).score.data.mcmc_sampler
    with pytest.raises(ConfigError, match="score.data.mcmc_sampler.*'reverse_diffusion'"):
        parse_config(_learned(data={"mcmc_sampler": "reverse_diffusion"}))
    with pytest.raises(ConfigError, match="did you mean 'swish'"):
        parse_config(_learned(network={"activation": "swissh"}))
