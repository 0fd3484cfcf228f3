"""Turn validated config sections into library objects: target, noise process,
objective, network, optimiser and training data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...errors import ConfigError, DataError
from ...networks import (
    EGNNEnergy,
    EGNNScore,
    EnergyMLP,
    EnergyNetwork,
    ScoreMLP,
    ScoreNetwork,
    SO3ScoreMLP,
    TorusScoreMLP,
)
from ...noise import VE, VP, NoiseProcess
from ...objectives import (
    DEM,
    GaussianKappa,
    Preconditioned,
    kappa_bar,
    make_objective,
    make_weighting,
)
from ...objectives.weighting import sigma_data_of
from ...targets import (
    ExactNoisedScore,
    ExactSampler,
    GaussianMixture,
    NoisedMarginal,
    ParticleSystem,
    Target,
    from_numpyro,
    make_target,
)
from ..config import DataConfig, NetworkConfig, ScoreConfig, TargetConfig


def _load_function(spec: str, field: str, base: Path):
    """``"path.py:name"`` (relative to the config file's folder) -> the function."""
    if ":" not in spec:
        raise ConfigError(field, f"{spec!r} has no ':name'", 'write "file.py:function"')
    file, name = spec.rsplit(":", 1)
    path = (base / file).resolve()
    if not path.is_file():
        raise ConfigError(field, f"file {str(path)!r} does not exist", "check the path")
    module_name = f"_scoresample_user_{path.stem}_{abs(hash(path))}"
    module = sys.modules.get(module_name)
    if module is None:
        loader = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        sys.modules[module_name] = module
    if not callable(getattr(module, name, None)):
        raise ConfigError(field, f"{file} has no function {name!r}", "check the name after ':'")
    return getattr(module, name)


def build_target(cfg: TargetConfig, base: Path = Path(".")):
    """The target of ``[target]``: a built-in, a user factory or a NumPyro model."""
    if cfg.name:
        return make_target(cfg.name, **cfg.params)
    if cfg.params:
        key = next(iter(cfg.params))
        raise ConfigError(f"target.{key}", "unknown key", "parameters go with a built-in name")
    if cfg.file:
        target = _load_function(cfg.file, "target.file", base)()
        if not isinstance(target, Target):
            raise ConfigError(
                "target.file",
                f"returned {type(target).__name__}, not a target",
                "return a Target, e.g. scoresample.targets.from_log_prob(f, dim)",
            )
        return target
    model = _load_function(cfg.numpyro, "target.numpyro", base)
    args, kwargs = _load_function(cfg.data, "target.data", base)() if cfg.data else ((), {})
    return from_numpyro(model, *args, **kwargs)


def build_process(cfg: ScoreConfig) -> NoiseProcess:
    """VP (cosine) or VE between ``sigma_min`` and ``sigma_max``."""
    return VP() if cfg.process == "vp" else VE(cfg.sigma_min, cfg.sigma_max)


def build_objective(cfg: ScoreConfig, process: NoiseProcess, target, samples: np.ndarray):
    """The training objective with its weighting and kappa; TSM-like objectives take the
    clean scores from the data (``fit`` pairs them with the samples)."""
    if cfg.objective == "dem":
        raise ConfigError(
            "score.objective",
            "is 'dem', which trains from the energy alone",
            'set [score.data] source = "energy"',
        )
    sigma_data = cfg.sigma_data if cfg.sigma_data is not None else sigma_data_of(samples)
    options = dict(cfg.objective_options)
    if cfg.weighting is not None:
        options["weighting"] = make_weighting(cfg.weighting, sigma_data)
    if cfg.objective == "kappa":
        options["kappa"] = _kappa(cfg, process, target, sigma_data)
    if cfg.objective == "esm":
        options["noised_score"] = _exact_noised_score(target, process)
    if cfg.objective == "kde_esm":
        options["data"] = samples  # the KDE of the training data
    group = getattr(target, "group", None)
    try:
        return make_objective(cfg.objective, process, group, **options)
    except ConfigError as error:
        raise ConfigError(f"score.{error.field}", error.problem, error.fix) from None


def build_energy_objective(cfg: ScoreConfig, process: NoiseProcess, target) -> DEM:
    """``[score.data] source = "energy"``: DEM on the configured importance-sampled
    estimator (the kappa one with ``score.kappa``: ``"bar"`` for a Gaussian mixture,
    ``"gaussian"`` with ``score.kappa_sigma`` or ``sigma_data``, or a constant)."""
    data = cfg.data
    if cfg.objective not in ("tsm", "dem"):  # "tsm" is the default, so not a user's choice
        raise ConfigError(
            "score.objective",
            f"is {cfg.objective!r}, but source = 'energy' regresses on an importance-sampled "
            "estimate (DEM)",
            'leave objective out, or set it to "dem"; choose the estimator in [score.data]',
        )
    options = {"k": data.k, "identity": data.estimator, "max_norm": data.max_norm}
    if cfg.weighting is not None:
        options["weighting"] = make_weighting(cfg.weighting, _energy_sigma_data(cfg, "weighting"))
    if data.estimator == "kappa":
        needed = cfg.kappa == "gaussian" and cfg.kappa_sigma is None
        sigma_data = _energy_sigma_data(cfg, "kappa") if needed else None
        options["kappa"] = _kappa(cfg, process, target, sigma_data)
    return DEM(process, target=target, **options)


def _energy_sigma_data(cfg: ScoreConfig, use: str) -> float:
    """``score.sigma_data``, which training from the energy cannot estimate from data."""
    if cfg.sigma_data is None:
        raise ConfigError(
            "score.sigma_data",
            f"is needed for {use} when source = 'energy' (there are no data to measure it on)",
            "set sigma_data to the target's scale (and kappa_sigma to one mode's), e.g. 1.0",
        )
    return cfg.sigma_data


def _exact_noised_score(target, process: NoiseProcess) -> ExactNoisedScore:
    if not isinstance(target, NoisedMarginal):
        raise ConfigError(
            "score.objective",
            "'esm' needs a target whose noised marginal is closed form (a Gaussian mixture)",
            'use "tsm", "kappa" or "dsm"',
        )
    return ExactNoisedScore(target, process)


def _kappa(cfg: ScoreConfig, process: NoiseProcess, target, sigma_data: float):
    if isinstance(cfg.kappa, float):
        if not 0.0 <= cfg.kappa <= 1.0:
            raise ConfigError("score.kappa", f"is {cfg.kappa}", "use a value in [0, 1]")
        return cfg.kappa
    if cfg.kappa == "gaussian":
        return GaussianKappa(process, cfg.kappa_sigma or sigma_data)
    if cfg.kappa == "bar":
        if not isinstance(target, GaussianMixture):
            raise ConfigError(
                "score.kappa",
                "'bar' needs a Gaussian-mixture target",
                'use kappa = "gaussian" with sigma_data',
            )
        return kappa_bar(process, target)
    raise ConfigError(
        "score.kappa", f"unknown value {cfg.kappa!r}", 'use "gaussian", "bar" or a number in [0, 1]'
    )


def build_network(
    cfg: ScoreConfig, dim: int, process: NoiseProcess, samples, key, target=None
) -> ScoreNetwork:
    """The configured network, optionally preconditioned for data of scale ``sigma_data``.

    ``score_mlp`` / ``energy_mlp``: a ScoreMLP / EnergyMLP on ``dim`` with the widths
    ``hidden``. ``egnn_score`` / ``egnn_energy``: an EGNNScore / EGNNEnergy on ``target``'s
    ``n_particles`` and ``space_dim`` (a particle target), with ``len(hidden)`` layers of
    width ``hidden[0]`` (all widths equal). ``embed``, ``activation`` and
    ``scale_by_sigma`` mean the same for every kind.
    """
    net = cfg.network
    options = {
        "embed": net.embed,
        "activation": net.activation,
        "process": process,
        "scale_by_sigma": net.scale_by_sigma,
        "key": key,
    }
    group = getattr(target, "group", None)
    if group is not None:
        model = _on_group(net, group, dim, options)
    elif net.kind in ("egnn_score", "egnn_energy"):
        model = _egnn(net, target, options)
    else:
        cls = EnergyMLP if net.kind == "energy_mlp" else ScoreMLP
        model = cls(dim, hidden=net.hidden, **options)
    if net.preconditioning == "none":
        return model
    if isinstance(model, EnergyNetwork):
        raise ConfigError(
            "score.network.preconditioning",
            "does not apply to energy networks",
            f'use preconditioning = "none" with kind = "{net.kind}"',
        )
    if cfg.sigma_data is not None:
        sigma_data = cfg.sigma_data
    elif samples is None:
        sigma_data = _energy_sigma_data(cfg, "preconditioning")
    else:
        sigma_data = sigma_data_of(samples)
    return Preconditioned(model, process, sigma_data, net.preconditioning)


#: The score network of each group: a function of the point, valued in the tangent space.
_GROUP_NETWORKS = {"so3": SO3ScoreMLP, "torus": TorusScoreMLP}


def _on_group(net: NetworkConfig, group, dim: int, options: dict) -> ScoreNetwork:
    """The group's score network (``score_mlp`` only, without preconditioning: its
    Euclidean skip connection would add ``y`` to a tangent vector)."""
    if net.kind != "score_mlp" or net.preconditioning != "none":
        raise ConfigError(
            "score.network",
            f"is kind = {net.kind!r}, preconditioning = {net.preconditioning!r} on {group.name}",
            'use kind = "score_mlp" and preconditioning = "none" (the group\'s own network)',
        )
    return _GROUP_NETWORKS[group.name](dim, hidden=net.hidden, **options)


def _egnn(net: NetworkConfig, target, options: dict) -> ScoreNetwork:
    """An EGNNScore or EGNNEnergy for the particles of ``target``."""
    if not isinstance(target, ParticleSystem):
        raise ConfigError(
            "score.network.kind",
            f"{net.kind!r} needs a particle target (n_particles, space_dim), "
            f"got {type(target).__name__}",
            'use kind = "score_mlp" or "energy_mlp", or a particle target (dw4, lj13)',
        )
    width, n_layers = net.hidden[0], len(net.hidden)
    if any(w != width for w in net.hidden):
        raise ConfigError(
            "score.network.hidden",
            f"is {net.hidden} but the layers of an EGNN share one width",
            f"write hidden = {[width] * n_layers} for {n_layers} layers of width {width}",
        )
    cls = EGNNEnergy if net.kind == "egnn_energy" else EGNNScore
    return cls(target.n_particles, target.space_dim, width, n_layers, **options)


#: Adam's constants, fixed in the program; the learning rate and weight decay are state
#: (``optax.inject_hyperparams``), so a sweep over them compiles ``fit`` once.
_STATIC = ("b1", "b2", "eps", "eps_root")


def build_optimizer(cfg: ScoreConfig) -> optax.GradientTransformation:
    """Adam or AdamW with the configured learning rate (and weight decay) as state: the
    same updates as ``optax.adam`` / ``optax.adamw``."""
    training = cfg.training
    if training.optimizer == "adam":
        return optax.inject_hyperparams(optax.adam, static_args=_STATIC)(training.learning_rate)
    return optax.inject_hyperparams(optax.adamw, static_args=_STATIC)(
        training.learning_rate, weight_decay=training.weight_decay
    )


def load_data_file(cfg: DataConfig, dim: int, base: Path) -> np.ndarray:
    """Samples ``(n, dim)`` from a ``.npy`` file, checked for shape and finiteness."""
    if not cfg.path:
        raise ConfigError(
            "score.data.path", "is required when source = 'file'", 'add path = "samples.npy"'
        )
    path = (base / cfg.path).resolve()
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(
            "score.data.path", f"{str(path)!r} does not exist", "check the path"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(
            "score.data.path",
            f"cannot read {str(path)!r} ({exc})",
            "save the samples with numpy.save",
        ) from None
    if data.ndim != 2 or data.shape[1] != dim:
        raise DataError(
            "score.data.path",
            f"holds shape {data.shape} but the target has dim {dim}",
            f"save an array of shape (n, {dim})",
        )
    if not np.issubdtype(data.dtype, np.number) or not np.all(np.isfinite(data)):
        raise DataError(
            "score.data.path",
            "contains NaN, inf or non-numbers",
            "remove those rows before training",
        )
    return as_default_float(data)


def as_default_float(array) -> np.ndarray:
    """``array`` as NumPy in JAX's default float type: float32, or float64 under
    ``jax_enable_x64``, so training data keep the precision the computation runs in."""
    return np.asarray(array, dtype=jnp.result_type(float))


def exact_data(target, n: int, key) -> np.ndarray:
    """``n`` exact samples, or a clear error if the target has no exact sampler."""
    if not isinstance(target, ExactSampler):
        raise ConfigError(
            "score.data.source",
            "the target has no exact sampler",
            'use source = "mcmc" (MALA on the exact score) or "file"',
        )
    return np.asarray(target.sample(key, n))


def attach_scores(target, samples: np.ndarray, objective):
    """``(samples, exact scores)`` for objectives that regress on the clean score (TSM,
    kappa mixtures: ``objective.needs_scores``), else the samples alone."""
    if not objective.needs_scores:
        return samples
    return samples, np.asarray(jax.jit(jax.vmap(target.score))(samples))
