"""TOML experiment configs, validated into dataclasses with clear one-line errors.

A config has a top-level ``seed``, a ``[target]``, a ``[score]`` (``exact`` or
``learned``, with ``[score.network]``, ``[score.training]`` and ``[score.data]``), one or
more ``[[sampler]]`` tables and ``[diagnostics]``. Every unknown key is an error with a
did-you-mean; every value is type-checked. Sampler tables pass their settings through
to :func:`scoresample.samplers.make_sampler`, which checks them against the sampler.

Example:
    >>> cfg = load_config("models/gmm40.toml", overrides=["score.training.steps=200"])
    >>> cfg.score.training.steps
    200
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..networks import ACTIVATIONS
from ..noise import TIME_SCHEMES
from ..objectives import OBJECTIVES
from ..samplers import SAMPLERS
from .schema import build, dump_toml, to_table

__all__ = [
    "Config",
    "apply_overrides",
    "config_to_table",
    "dump_toml",
    "load_config",
    "parse_config",
]


# Choices read from the library's registries, so that a config accepts exactly what the
# library offers (a list written out here would drift from them).
Activation = Literal[tuple(ACTIVATIONS)]
ObjectiveName = Literal[tuple(OBJECTIVES)]
TimeScheme = Literal[TIME_SCHEMES]
#: Samplers on the exact log density that can make training data (Markov chains).
MCMCSampler = Literal[
    tuple(name for name, e in SAMPLERS.items() if e.role == "log_prob" and not e.particles)
]


def _require_positive(section: str, **values) -> None:
    """Raise a ConfigError naming ``section.key`` for the first value that is not > 0."""
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        if value is not None and any(v <= 0 for v in items):
            raise ConfigError(
                f"{section}.{key}", f"must be > 0, got {value!r}", "use a positive value"
            )


@dataclass
class TargetConfig:
    """``[target]``: a built-in by ``name`` (other keys are its parameters), a user
    factory ``file = "path.py:function"``, or a NumPyro model ``numpyro = "path.py:model"``
    (with ``data = "path.py:function"`` returning ``(args, kwargs)`` for the model)."""

    name: str | None = None
    file: str | None = None
    numpyro: str | None = None
    data: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class NetworkConfig:
    """``[score.network]``: ``score_mlp`` or ``energy_mlp`` (needed by MH samplers), or
    for particle targets (DW-4, LJ-13) the E(n)-equivariant ``egnn_score`` or
    ``egnn_energy`` (:class:`~scoresample.networks.EGNNScore`, ``EGNNEnergy``), whose
    ``hidden = [H, ..., H]`` means ``len(hidden)`` EGNN layers of width ``H``.

    ``scale_by_sigma`` divides the output by ``sigma(t)`` (Song & Ermon 2020);
    ``preconditioning`` wraps the network as ``c_skip y + c_out net(c_in y, t)`` for
    data of scale ``sigma_data`` (EDM; De Bortoli et al. 2024, App. D), best trained with
    the matching ``weighting`` (``"tsm"`` or ``"edm"``). The defaults are
    :class:`~scoresample.networks.ScoreMLP`'s (tests/app/test_defaults.py)."""

    kind: Literal["score_mlp", "energy_mlp", "egnn_score", "egnn_energy"] = "score_mlp"
    hidden: list[int] = field(default_factory=lambda: [128, 128, 128])
    activation: Activation = "silu"
    embed: int = 16
    scale_by_sigma: bool = False
    preconditioning: Literal["none", "tsm", "dsm"] = "none"

    def __post_init__(self):
        _require_positive("score.network", hidden=self.hidden)
        if self.embed < 0 or self.embed % 2:
            raise ConfigError(
                "score.network.embed",
                f"is {self.embed}",
                "use an even number of features, or 0 for none",
            )


@dataclass
class TrainingConfig:
    """``[score.training]``: optimisation settings for ``fit``, with ``fit``'s defaults
    (tests/app/test_defaults.py); ``sigma`` trains at one fixed noise level instead of
    sampling ``t``."""

    steps: int = 2000
    batch_size: int = 256
    learning_rate: float = 1e-3
    optimizer: Literal["adam", "adamw"] = "adamw"
    weight_decay: float = 1e-4
    ema: float | None = None
    checkpoint_every: int = 500
    t_sampling: TimeScheme = "stratified"
    sigma: float | None = None

    def __post_init__(self):
        _require_positive(
            "score.training",
            steps=self.steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            sigma=self.sigma,
            checkpoint_every=self.checkpoint_every,
        )


@dataclass
class DataConfig:
    """``[score.data]``: training samples from the target's exact sampler, from an MCMC
    run on the target (with exact scores attached), from a ``.npy`` file, or none at all:
    ``source = "energy"`` trains from the energy alone (iDEM's loop,
    :func:`scoresample.fit_data_free`), regressing on an importance-sampled ``estimator``
    (``"kappa"`` with ``score.kappa``, ``"tsi"`` as iDEM, or ``"dsi"``) from ``k``
    proposals, clipped to ``max_norm``, at points of a replay buffer of ``n`` that
    reverse diffusion on the model refills with ``refill`` draws (``refill_steps`` steps)
    every ``refill_every`` optimiser steps. There the scales cannot be measured on data:
    ``score.kappa_sigma`` (or ``sigma_data``) must be given for the kappa estimator, and
    a preconditioned network (``[score.network] preconditioning = "tsm"``) keeps the
    untrained model's first draws at that scale, where a plain one can diverge."""

    source: Literal["exact", "mcmc", "file", "energy"] = "exact"
    n: int = 10_000
    path: str | None = None
    mcmc_sampler: MCMCSampler = "mala"
    mcmc_chains: int = 100
    mcmc_warmup: int = 500
    estimator: Literal["kappa", "tsi", "dsi"] = "kappa"
    k: int = 100
    max_norm: float | None = None
    refill: int = 1000
    refill_steps: int = 100
    refill_every: int = 100

    def __post_init__(self):
        _require_positive(
            "score.data",
            n=self.n,
            mcmc_chains=self.mcmc_chains,
            mcmc_warmup=self.mcmc_warmup,
            k=self.k,
            max_norm=self.max_norm,
            refill=self.refill,
            refill_steps=self.refill_steps,
            refill_every=self.refill_every,
        )


@dataclass
class ScoreConfig:
    """``[score]``: ``kind = "exact"`` uses the target's score; ``"learned"`` trains one.

    ``weighting`` names a ``lambda(t)`` (``sigma2``, ``uniform``, ``edm``, ``tsm``...);
    ``kappa`` is ``"gaussian"`` (``kappa_t`` from ``kappa_sigma``, default ``sigma_data``;
    for a multimodal target the within-mode scale, kappa-bar's choice; ``kappa_sigma =
    "laplace"`` measures it on the energy alone, :func:`scoresample.estimators.laplace_fit`
    from a training point, or from ``sigma_data`` times a normal draw when training from the
    energy; its evaluations count with the data's), ``"bar"``
    (kappa-bar of a Gaussian-mixture target) or a constant; ``sigma_data`` defaults to
    the data's RMS standard deviation; ``objective_options`` go to the objective (e.g.
    ``divergence = "hutchinson"`` for ISM)."""

    kind: Literal["exact", "learned"] = "exact"
    objective: ObjectiveName = "tsm"
    process: Literal["vp", "ve"] = "vp"
    sigma_min: float = 0.01
    sigma_max: float = 10.0
    weighting: str | None = None
    kappa: str | float = "gaussian"
    sigma_data: float | None = None
    kappa_sigma: float | Literal["laplace"] | None = None
    objective_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        _require_positive(
            "score",
            sigma_min=self.sigma_min,
            sigma_max=self.sigma_max,
            sigma_data=self.sigma_data,
            kappa_sigma=None if self.kappa_sigma == "laplace" else self.kappa_sigma,
        )

    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    data: DataConfig = field(default_factory=DataConfig)


@dataclass
class RefineConfig:
    """``[sampler.refine]``: Metropolis refinement of the sampler's draws on the exact
    target (:func:`scoresample.samplers.refine`): each draw starts a chain of the refiner
    ``sampler`` with ``num_warmup`` adaptation and ``num_steps`` kept steps; the refined
    draws are a second result, labelled ``<label>_refined``. Draws whose energy is above
    ``max_start_energy`` (a number, or ``"data"``: the largest energy of the training
    data) are first relaxed below it by at most ``relax_steps`` steps of steepest descent
    (:func:`scoresample.samplers.relax`)."""

    sampler: Literal["mala", "hmc"] = "mala"
    num_steps: int = 100
    num_warmup: int = 100
    max_start_energy: Literal["data"] | float | None = None
    relax_steps: int = 1000

    def __post_init__(self):
        _require_positive("sampler.refine", num_steps=self.num_steps, relax_steps=self.relax_steps)
        if self.num_warmup < 0:
            raise ConfigError(
                "sampler.refine.num_warmup",
                f"must be >= 0, got {self.num_warmup}",
                "use 0 or more",
            )


@dataclass
class ReweightConfig:
    """``[sampler.reweight]``: importance reweighting by the exact target
    (:func:`scoresample.samplers.reweight`): as many draws as the sampler made, of the
    probability-flow ODE of the score that drove it, each with its exact log density
    ``log q`` (the divergence ``"exact"``, ``"hutchinson"`` or ``"auto"``: exact up to
    d = 64; the solver's ``rtol`` and ``atol``), weighed by ``p~(x) / q(x)`` and
    resampled: a result ``<label>_reweighted`` with Kish's ESS and ``log Z`` in its
    settings. With ``[sampler.refine]`` the resampled draws are refined too
    (resample-move, Gilks and Berzuini 2001): ``<label>_reweighted_refined``."""

    divergence: Literal["auto", "exact", "hutchinson"] = "auto"
    rtol: float = 1e-5
    atol: float = 1e-5

    def __post_init__(self):
        _require_positive("sampler.reweight", rtol=self.rtol, atol=self.atol)


@dataclass
class SamplerConfig:
    """``[[sampler]]``: a sampler ``name``, an optional unique ``label`` for its outputs,
    which ``score`` drives it (``exact`` target or ``learned`` model; default: learned
    when one is trained and the sampler can use it), where chains start (``prior``: the
    sampler's default; ``exact``: exact samples of the target), an optional
    ``[sampler.refine]`` and ``[sampler.reweight]`` corrections by the exact target, and
    its settings (all other keys, checked by the sampler)."""

    name: str
    label: str | None = None
    score: Literal["exact", "learned"] | None = None
    init: Literal["prior", "exact"] = "prior"
    refine: RefineConfig | None = None
    reweight: ReweightConfig | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiagnosticsConfig:
    """``[diagnostics]``: reference sample size for metrics, plots on or off."""

    n_reference: int = 2000
    plots: bool = True

    def __post_init__(self):
        _require_positive("diagnostics", n_reference=self.n_reference)


@dataclass
class Config:
    """A whole experiment."""

    target: TargetConfig
    sampler: list[SamplerConfig]
    seed: int = 0
    name: str | None = None
    score: ScoreConfig = field(default_factory=ScoreConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)


#: Dataclasses whose unknown keys are collected into a pass-through dict, by field name.
_PASSTHROUGH = {TargetConfig: "params", SamplerConfig: "settings"}


def _parse_override(text: str) -> tuple[list[str], Any]:
    """``"score.training.steps=200"`` -> (["score", "training", "steps"], 200)."""
    if "=" not in text:
        raise ConfigError("--set", f"{text!r} has no '='", "write --set section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip().split("."), value


def apply_overrides(table: dict, overrides: list[str]) -> dict:
    """Apply ``--set`` overrides; ``sampler.KEY`` sets KEY on every sampler, and
    ``sampler.N.KEY`` (0-based) on one, also in its tables (``sampler.0.refine.num_steps``)."""
    for text in overrides:
        path, value = _parse_override(text)
        if path[0] == "sampler":
            samplers = table.get("sampler", [])
            if len(path) >= 3 and path[1].isdigit():
                index = int(path[1])
                if index >= len(samplers):
                    raise ConfigError(
                        f"--set {text}",
                        f"there are only {len(samplers)} samplers",
                        "use an index from 0",
                    )
                _set_in(samplers[index], path[2:], value, text)
            elif len(path) == 2:
                for sampler in samplers:
                    sampler[path[1]] = value
            else:
                raise ConfigError(
                    f"--set {text}",
                    "is not sampler.KEY or sampler.N.KEY",
                    "e.g. --set sampler.num_samples=100, or sampler.0.refine.num_steps=10",
                )
            continue
        _set_in(table, path, value, text)
    return table


def _set_in(node: dict, path: list[str], value, text: str) -> None:
    """``node[path[0]]...[path[-1]] = value``, making the tables on the way."""
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {text}", f"{part} is not a table", "check the key path")
    node[path[-1]] = value


def parse_config(table: dict, overrides: list[str] = ()) -> Config:
    """Validate a TOML table (after ``overrides``) into a :class:`Config`."""
    table = apply_overrides(dict(table), list(overrides))
    if "sampler" in table and isinstance(table["sampler"], dict):
        table["sampler"] = [table["sampler"]]
    config = build(Config, table, "", _PASSTHROUGH)
    target = config.target
    sources = [s for s in ("name", "file", "numpyro") if getattr(target, s)]
    if len(sources) != 1:
        raise ConfigError(
            "target",
            f"sets {sources or 'none'} of name, file and numpyro",
            'set exactly one, e.g. name = "gmm40"',
        )
    if not config.sampler:
        raise ConfigError("sampler", "no [[sampler]] tables", 'add [[sampler]] with name = "mala"')
    labels = [s.label or s.name for s in config.sampler]
    for i, label in enumerate(labels):
        config.sampler[i].label = label
        if label in labels[:i]:
            raise ConfigError(
                f"sampler.{i}.label", f"{label!r} is used twice", "give each sampler a unique label"
            )
    return config


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(str(path), "does not exist", "check the path to the config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})", "fix the syntax") from None
    return parse_config(table, overrides)


def config_to_table(config: Config) -> dict:
    """The resolved config as a TOML-ready table (pass-through dicts merged back)."""
    return to_table(config, _PASSTHROUGH)
