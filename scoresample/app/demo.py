"""The demo experiment (``scoresample demo``), shipped inside the package."""

from __future__ import annotations

import tomllib
from importlib import resources

from .config import Config, parse_config

#: ``--quick``: the same experiment, small enough for a test (under a minute).
QUICK = [
    "score.training.steps=300",
    "score.training.checkpoint_every=100",
    "score.data.n=2000",
    "score.network.hidden=[64, 64]",
    "score.network.embed=16",
    "sampler.0.n_chains=500",
    "sampler.0.n_levels=10",
    "sampler.0.n_steps_per_level=10",
    "sampler.1.n_chains=500",
    "sampler.1.n_steps=100",
    "sampler.2.num_warmup=200",
    "sampler.2.num_samples=200",
    "sampler.2.n_chains=4",
    "sampler.3.num_warmup=100",
    "sampler.3.num_samples=100",
    "sampler.3.n_chains=4",
    "diagnostics.n_reference=500",
]


def demo_text() -> str:
    """The demo's TOML config, with its comments."""
    return resources.files("scoresample.app").joinpath("demo.toml").read_text()


def demo_config(quick: bool = False, overrides: list[str] = ()) -> Config:
    """The demo config (``quick``: the small version), then ``overrides``."""
    return parse_config(tomllib.loads(demo_text()), [*(QUICK if quick else []), *overrides])
