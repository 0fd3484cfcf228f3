"""Samplers by name: the one place that knows each sampler's settings, its role, and how
to build it from a model.

``make_sampler("nuts", num_warmup=500)`` (from Python or a TOML ``[[sampler]]`` table)
gives a :class:`SamplerSpec`, a name with its validated settings, and
``make_sampler(blackjax.mala(logdensity_fn, 0.1))`` one around any BlackJAX
``SamplingAlgorithm``. ``spec.build(model, dim)`` turns a spec and a
:class:`~scoresample.samplers.model.SamplingModel` into a
:class:`~scoresample.samplers.base.Sampler`, which :func:`scoresample.samplers.run` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import blackjax
import jax.numpy as jnp
import numpy as np

from .. import _validate as V
from ..errors import ConfigError
from ..noise import geometric_levels
from . import annealed_langevin, hmc, mala, reverse_diffusion, ula
from ._process import time_range
from .base import Sampler, from_algorithm, normal_prior
from .model import SamplingModel


class Setting(NamedTuple):
    """A default value, a check ``(value, field) -> value`` and one line of help."""

    default: Any
    check: Callable[[Any, str], Any]
    doc: str


#: Settings of every Markov chain sampler (MALA, HMC, NUTS, ULA, any SamplingAlgorithm).
CHAIN_SETTINGS = {
    "n_chains": Setting(4, V.positive_int, "number of chains"),
    "num_warmup": Setting(1000, V.non_negative_int, "adaptation (or burn-in) steps, discarded"),
    "num_samples": Setting(1000, V.positive_int, "draws kept per chain, after thinning"),
    "thinning": Setting(1, V.positive_int, "kernel steps per kept draw"),
    "chain_method": Setting(
        "auto",
        V.choice("auto", "vectorized", "sequential"),
        "chains of a device in lockstep (vmap) or one by one (auto: one by one for NUTS on CPU)",
    ),
}
_STEP = Setting(None, V.optional_positive_float, "step size; the warm-up's starting value (1.0)")
_HMC_FAMILY = {
    **CHAIN_SETTINGS,
    "step_size": _STEP,
    "inverse_mass_matrix": Setting(
        None, V.optional_positive_array, "diagonal (d,) or dense (d, d); default identity"
    ),
    "dense_mass": Setting(False, V.boolean, "adapt a dense instead of a diagonal matrix"),
    "target_acceptance_rate": Setting(0.8, V.probability, "dual-averaging target"),
}


def _mala(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    logdensity_fn = model.require("log_prob", "mala")
    parameters = _hmc_parameters(settings, "mala", dim)
    target_rate = settings["target_acceptance_rate"]
    if settings["adapt_mass_matrix"]:
        diagonal = parameters["inverse_mass_matrix"].ndim == 1
        warmup = mala.window_warmup(logdensity_fn, target_rate, diagonal)
    else:
        warmup = mala.dual_averaging_warmup(logdensity_fn, target_rate)
    algorithm = partial(mala.as_top_level_api, logdensity_fn)
    return Sampler(algorithm, parameters, warmup, grad_evals_per_step=1)


def _hmc(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    n_leapfrog = settings["num_integration_steps"]
    algorithm, parameters, warmup = _hamiltonian(
        blackjax.hmc, "hmc", settings, model, dim, num_integration_steps=n_leapfrog
    )
    return Sampler(
        algorithm,
        parameters,
        warmup,
        grad_evals_per_step=n_leapfrog,
        extra_stats=hmc.energy_at_draw,
    )


def _nuts(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    doublings = settings["max_num_doublings"]
    return Sampler(
        *_hamiltonian(blackjax.nuts, "nuts", settings, model, dim, max_num_doublings=doublings),
        variable_length=True,
    )


def _hamiltonian(top_level, name: str, settings: dict, model: SamplingModel, dim: int, **extra):
    """``(algorithm, parameters, warmup)`` of BlackJAX's ``hmc`` or ``nuts`` on the model's
    log density, with Stan's window adaptation; ``extra`` goes to the algorithm."""
    logdensity_fn = model.require("log_prob", name)
    parameters = _hmc_parameters(settings, name, dim)
    diagonal = parameters["inverse_mass_matrix"].ndim == 1
    target_rate = settings["target_acceptance_rate"]
    warmup = hmc.window_warmup(top_level, logdensity_fn, target_rate, diagonal, **extra)
    return partial(top_level, logdensity_fn, **extra), parameters, warmup


def _exp_map(model: SamplingModel):
    """The group's geodesic step, or None on ``R^d``."""
    return None if model.group is None else model.group.exp_map


def _haar_prior(model: SamplingModel):
    """Initial positions from the group's uniform law, or None on ``R^d``."""
    return None if model.group is None else model.group.uniform


def _ula(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    algorithm = partial(
        ula.as_top_level_api, model.require("score", "ula"), exp_map=_exp_map(model)
    )
    return Sampler(
        algorithm,
        {"step_size": jnp.asarray(settings["step_size"])},
        grad_evals_per_step=1,
        prior=_haar_prior(model),
    )


def _annealed_langevin(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    score_fn, process = model.require("noised_score", "annealed_langevin"), model.process
    t_start, t_end = time_range(process, None, None)
    first = settings["sigma_first"] or float(process.noise_to_signal(t_start))
    last = settings["sigma_last"] or float(process.noise_to_signal(t_end))
    step_size = settings["step_size"] or 0.05 * last**2
    levels = annealed_langevin.schedule(
        process, geometric_levels(first, last, settings["n_levels"]), step_size
    )
    n_steps, denoise = settings["n_steps_per_level"], settings["denoise"]
    exp_map = _exp_map(model)
    report = {name: np.asarray(value).tolist() for name, value in levels._asdict().items()}
    return Sampler(
        lambda levels: annealed_langevin.as_top_level_api(
            score_fn, levels, n_steps, denoise, exp_map
        ),
        {},
        shared={"levels": levels},
        particles=True,
        grad_evals_per_step=settings["n_levels"] * n_steps + denoise,
        prior=_haar_prior(model) or normal_prior(first),
        report={**report, "step_size": step_size},
    )


def _reverse_diffusion(settings: dict, model: SamplingModel, dim: int) -> Sampler:
    score_fn = model.require("noised_score", "reverse_diffusion")
    grid = reverse_diffusion.schedule(
        model.process,
        settings["n_steps"],
        settings["t_start"],
        settings["t_end"],
        settings["time_grid"],
        settings["corrector_snr"],
    )
    corrector, denoise = settings["corrector_steps"], settings["denoise"]
    return Sampler(
        lambda grid: reverse_diffusion.as_top_level_api(score_fn, grid, corrector, denoise),
        {},
        shared={"grid": grid},
        particles=True,
        grad_evals_per_step=settings["n_steps"] * (1 + corrector) + denoise,
        prior=normal_prior(float(model.process.sigma(grid.times[0]))),
        report={"times": np.asarray(grid.times).tolist()},
    )


def _initial_step_size(settings: dict, sampler: str) -> float:
    """The step size to start from; required when no warm-up adapts it."""
    if settings["num_warmup"] == 0 and settings["step_size"] is None:
        raise ConfigError(
            f"{sampler}.step_size",
            "is required (no warm-up adapts it when num_warmup = 0)",
            "set step_size, e.g. 0.01",
        )
    return settings["step_size"] or 1.0


def _hmc_parameters(settings: dict, sampler: str, dim: int) -> dict:
    """Step size and inverse mass matrix before (or without) adaptation."""
    step_size = _initial_step_size(settings, sampler)
    matrix = settings["inverse_mass_matrix"]
    if matrix is None:
        matrix = np.eye(dim) if settings["dense_mass"] else np.ones(dim)
    elif matrix.shape[0] != dim or (matrix.ndim == 2 and matrix.shape != (dim, dim)):
        raise ConfigError(
            f"{sampler}.inverse_mass_matrix",
            f"has shape {matrix.shape} for a target of dimension {dim}",
            f"give ({dim},) or ({dim}, {dim}) values",
        )
    if settings["dense_mass"] and matrix.ndim == 1:
        matrix = np.diag(matrix)
    return {
        "step_size": jnp.asarray(step_size),
        "inverse_mass_matrix": jnp.asarray(matrix, dtype=float),
    }


class Entry(NamedTuple):
    """A sampler name: the role of the model it drives on (see :mod:`scoresample.roles`),
    whether it yields independent particles, its settings, its builder, and the settings
    whose values reach the compiled sampler only as arguments (parameters or shared
    arrays), so that a new value compiles nothing; every other setting is structural."""

    role: str
    particles: bool
    settings: dict[str, Setting]
    build: Callable[[dict, SamplingModel, int], Sampler]
    runtime: frozenset[str] = frozenset()


SAMPLERS: dict[str, Entry] = {
    "mala": Entry(
        "log_prob",
        False,
        {
            **_HMC_FAMILY,
            "target_acceptance_rate": Setting(0.574, V.probability, "dual-averaging target"),
            "adapt_mass_matrix": Setting(
                True, V.boolean, "learn the matrix in Stan's windows; false: step size only"
            ),
        },
        _mala,
        frozenset({"step_size", "inverse_mass_matrix"}),
    ),
    "hmc": Entry(
        "log_prob",
        False,
        {
            **_HMC_FAMILY,
            "num_integration_steps": Setting(10, V.positive_int, "leapfrog steps per transition"),
        },
        _hmc,
        frozenset({"step_size", "inverse_mass_matrix"}),
    ),
    "nuts": Entry(
        "log_prob",
        False,
        {**_HMC_FAMILY, "max_num_doublings": Setting(10, V.positive_int, "maximum tree depth")},
        _nuts,
        frozenset({"step_size", "inverse_mass_matrix"}),
    ),
    "ula": Entry(
        "score",
        False,
        {
            **CHAIN_SETTINGS,
            "num_warmup": Setting(0, V.non_negative_int, "burn-in steps, discarded"),
            "step_size": Setting(
                None,
                V.required_positive_float("ULA has no adaptation"),
                "h in x + h s + sqrt(2h) z",
            ),
        },
        _ula,
        frozenset({"step_size"}),
    ),
    "annealed_langevin": Entry(
        "noised_score",
        True,
        {
            "n_chains": Setting(1000, V.positive_int, "number of independent particles"),
            "n_levels": Setting(10, V.positive_int, "noise levels L"),
            "sigma_first": Setting(
                None, V.optional_positive_float, "largest level of sigma / alpha (at t_start)"
            ),
            "sigma_last": Setting(
                None, V.optional_positive_float, "smallest level of sigma / alpha (at t_end)"
            ),
            "n_steps_per_level": Setting(100, V.positive_int, "Langevin steps T per level"),
            "step_size": Setting(
                None, V.optional_positive_float, "h at the last level (0.05 sigma_L^2)"
            ),
            "denoise": Setting(True, V.boolean, "finish with Tweedie's denoising step"),
        },
        _annealed_langevin,
        frozenset({"step_size", "sigma_first", "sigma_last"}),
    ),
    "reverse_diffusion": Entry(
        "noised_score",
        True,
        {
            "n_chains": Setting(1000, V.positive_int, "number of independent particles"),
            "n_steps": Setting(500, V.positive_int, "Euler-Maruyama (predictor) steps"),
            "t_start": Setting(None, V.optional_time, "start time (1, or 0.999 for VP)"),
            "t_end": Setting(None, V.optional_time, "end time (0, or 0.001 where sigma(0) = 0)"),
            "time_grid": Setting("uniform", V.choice("uniform", "log_snr"), "spacing of the steps"),
            "corrector_steps": Setting(0, V.non_negative_int, "Langevin corrector steps per step"),
            "corrector_snr": Setting(0.16, V.positive_float, "r in h = (r sigma)^2"),
            "denoise": Setting(True, V.boolean, "finish with Tweedie's denoising step"),
        },
        _reverse_diffusion,
        frozenset({"t_start", "t_end", "time_grid", "corrector_snr"}),
    ),
}

#: Settings of a spec around a ready ``SamplingAlgorithm``: no adaptation, so no warm-up
#: by default; ``name`` labels its chains.
#: The samplers that step along a group's exp map (the rest are Euclidean).
GEODESIC = frozenset({"ula", "annealed_langevin"})

ALGORITHM_SETTINGS = {
    **CHAIN_SETTINGS,
    "num_warmup": Setting(0, V.non_negative_int, "burn-in steps, discarded"),
    "name": Setting("custom", lambda value, _: str(value), "the name its chains carry"),
}


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler ``name`` and its complete, validated ``settings``, or a ready BlackJAX
    ``algorithm`` with the chain settings. Build with :func:`make_sampler`; change
    settings with :meth:`replace`."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    algorithm: Any = None

    @property
    def role(self) -> str | None:
        """What the sampler drives on: ``"log_prob"``, ``"score"`` or ``"noised_score"``;
        None for a ready algorithm (its model is already bound)."""
        return None if self.algorithm is not None else SAMPLERS[self.name].role

    @property
    def particles(self) -> bool:
        """True when each chain yields one independent draw (a particle sampler)."""
        return self.algorithm is None and SAMPLERS[self.name].particles

    @property
    def trace_key(self) -> tuple:
        """What of this spec changes the compiled sampler: the name (or the ready
        algorithm) and the structural settings. Runtime settings (step sizes, mass
        matrices, noise levels) are left out, and so are the run's sizes, which the
        shapes of the arguments and the programs' own keys carry."""
        if self.algorithm is not None:
            return ("algorithm", self.algorithm, _frozen(self.settings, {"name", *_SIZES}))
        return (self.name, _frozen(self.settings, SAMPLERS[self.name].runtime | _SIZES))

    def build(self, model: SamplingModel, dim: int) -> Sampler:
        """The :class:`~scoresample.samplers.base.Sampler` of this spec on ``model``."""
        if self.algorithm is not None:
            return from_algorithm(self.algorithm)
        if model.group is not None and self.name not in GEODESIC:
            raise ConfigError(
                "sampler",
                f"{self.name} steps in R^d, but the model lives on {model.group.name}",
                f"use one of {sorted(GEODESIC)} (geodesic steps along the group's exp map)",
            )
        return SAMPLERS[self.name].build(self.settings, model, dim)

    def replace(self, **changes: Any) -> SamplerSpec:
        """A copy with some settings changed (and checked again)."""
        what = self.algorithm if self.algorithm is not None else self.name
        return make_sampler(what, **{**self.settings, **changes})


def make_sampler(sampler, **settings: Any) -> SamplerSpec:
    """A validated sampler: by name (``mala``, ``hmc``, ``nuts``, ``ula``,
    ``annealed_langevin``, ``reverse_diffusion``) with keyword ``settings``, or around a
    BlackJAX ``SamplingAlgorithm`` (``blackjax.mala(logdensity_fn, 0.1)``) with the chain
    settings ``n_chains``, ``num_warmup`` (burn-in, default 0), ``num_samples``,
    ``thinning`` and ``name``.

    Raises:
        ConfigError: an unknown name or setting (with a did-you-mean), or a bad value
            (e.g. a non-positive step size or step count).

    Example:
        >>> spec = make_sampler("nuts", num_warmup=500, num_samples=1000, n_chains=4)
        >>> spec.settings["target_acceptance_rate"]
        0.8
    """
    if _is_algorithm(sampler):
        checked = validate("sampler", ALGORITHM_SETTINGS, settings)
        return SamplerSpec(checked["name"], checked, sampler)
    return SamplerSpec(sampler, validate(sampler, _entry(sampler).settings, settings))


def sampler_settings(name: str) -> dict[str, tuple[Any, str]]:
    """``{setting: (default, help)}`` of the sampler ``name``, for documentation and CLIs."""
    return {key: (s.default, s.doc) for key, s in _entry(name).settings.items()}


def validate(sampler: str, table: dict[str, Setting], given: dict[str, Any]) -> dict[str, Any]:
    """Defaults of ``table`` updated by ``given``, each value checked; unknown keys raise."""
    for key in given:
        if key not in table:
            raise ConfigError(
                f"{sampler}.{key}", f"is not a setting of {sampler}", V.did_you_mean(key, table)
            )
    return {
        key: setting.check(given.get(key, setting.default), f"{sampler}.{key}")
        for key, setting in table.items()
    }


#: Settings that size a run; ``run`` keys its programs by the sizes they depend on.
_SIZES = frozenset({"n_chains", "num_warmup", "num_samples"})


def _frozen(settings: dict, leave_out) -> tuple:
    """``settings`` without ``leave_out`` as a hashable, sorted tuple."""
    return tuple(
        (key, tuple(np.ravel(v).tolist()) if isinstance(v, np.ndarray) else v)
        for key, v in sorted(settings.items())
        if key not in leave_out
    )


def _entry(name) -> Entry:
    if name not in SAMPLERS:
        raise ConfigError(
            "sampler.name", f"unknown sampler {name!r}", V.did_you_mean(name, SAMPLERS)
        )
    return SAMPLERS[name]


def _is_algorithm(sampler) -> bool:
    """A BlackJAX ``SamplingAlgorithm``: anything with callable ``init`` and ``step``."""
    return callable(getattr(sampler, "init", None)) and callable(getattr(sampler, "step", None))
