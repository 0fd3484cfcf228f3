"""The sampling stage: each ``[[sampler]]`` on the exact target or the learned score."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import jax
import numpy as np

from ...chains import Chains
from ...diagnostics import load_chains, save_chains
from ...errors import ConfigError
from ...roles import EnergyModel
from ...samplers import SamplerSpec, make_sampler, mean_free, refine, reweight, run
from ...targets import ExactSampler
from ..config import Config, RefineConfig, SamplerConfig
from .build import build_process
from .train import Trained


def score_source(cfg: SamplerConfig, spec: SamplerSpec, trained: Trained | None) -> str:
    """``"learned"`` or ``"exact"``: explicit, else learned where the sampler can use it
    (a score-driven sampler, or a log-density one on an energy model)."""
    if cfg.score is not None:
        if cfg.score == "learned" and trained is None:
            raise ConfigError(
                f"sampler.{cfg.label}.score",
                "is 'learned' but nothing is trained",
                'set [score] kind = "learned", or score = "exact" here',
            )
        return cfg.score
    if trained is None:
        return "exact"
    usable = spec.role != "log_prob" or isinstance(trained.model, EnergyModel)
    return "learned" if usable else "exact"


def _initial_positions(cfg: SamplerConfig, target):
    if cfg.init == "prior":
        return None
    if not isinstance(target, ExactSampler):
        raise ConfigError(
            f"sampler.{cfg.label}.init", "'exact' needs an exact sampler", 'use init = "prior"'
        )
    return target.sample


def _score_model(cfg: SamplerConfig, config: Config, target, trained: Trained | None):
    """``(source, model, process, t_min)`` of the score that drives the sampler ``cfg``."""
    source = score_source(cfg, make_sampler(cfg.name, **cfg.settings), trained)
    if source == "learned":
        return source, trained.model, trained.process, trained.process.t_range[0]
    return source, target, build_process(config.score), 0.0


def run_sampler(
    cfg: SamplerConfig, config: Config, target, trained: Trained | None, key, progress: bool
) -> Chains:
    """Run one configured sampler; the chains record which score drove them."""
    spec = make_sampler(cfg.name, **cfg.settings)
    source, model, process, t_min = _score_model(cfg, config, target, trained)
    chains = run(
        spec,
        key,
        model,
        initial_positions=_initial_positions(cfg, target),
        process=process,
        t_min=t_min,
        progress=progress,
        mean_free=mean_free.of(target),  # a learned model does not know its target
    )
    chains.settings["score"] = source
    return chains


def sample_stage(
    config: Config,
    target,
    trained: Trained | None,
    run_dir: Path,
    key,
    *,
    resume: bool,
    progress: bool,
) -> dict[str, Chains]:
    """All samplers in order; finished ones (their netCDF exists) are reused on resume."""
    results = {}
    for index, cfg in enumerate(config.sampler):
        key_run = jax.random.fold_in(key, index)
        make = partial(run_sampler, cfg, config, target, trained, key_run, progress)
        results[cfg.label] = _saved(run_dir, cfg.label, target, resume, make)
        save = partial(_saved, run_dir, target=target, resume=resume)
        draws = results[cfg.label]
        results |= _corrections(cfg, config, target, trained, draws, key_run, save, progress)
    return results


def _corrections(
    cfg: SamplerConfig, config: Config, target, trained, draws: Chains, key, save, progress
) -> dict[str, Chains]:
    """The corrections of a sampler's ``draws`` by the exact target, each made (or
    reused) by ``save(label, make)``: refinement, reweighting, and the reweighted draws
    refined (resample-move)."""
    label, found, bound = cfg.label, {}, None
    if cfg.refine is not None:
        bound = start_energy_bound(cfg.refine, target, trained, f"sampler.{label}")
        key_refine = jax.random.fold_in(key, 1)
        make = partial(refine_draws, cfg.refine, draws, target, key_refine, progress, bound)
        found[f"{label}_refined"] = save(f"{label}_refined", make=make)
    if cfg.reweight is None:
        return found
    n, key_weights = draws.flat().shape[0], jax.random.fold_in(key, 2)
    make = partial(reweight_draws, cfg, config, target, trained, n, key_weights)
    weighted = found[f"{label}_reweighted"] = save(f"{label}_reweighted", make=make)
    if cfg.refine is not None:
        key_move = jax.random.fold_in(key, 3)
        make = partial(resample_move, cfg.refine, weighted, target, key_move, progress, bound)
        found[f"{label}_reweighted_refined"] = save(f"{label}_reweighted_refined", make=make)
    return found


def reweight_draws(
    cfg: SamplerConfig, config: Config, target, trained: Trained | None, n: int, key
) -> Chains:
    """``n`` probability-flow draws of the score that drove the sampler ``cfg``, weighted
    by the exact target and resampled (systematic): equally weighted draws, one chain of
    particles. The settings keep Kish's ESS (``kish_ess``: what the draws are worth),
    ``log Z`` with its bootstrap standard error and interval, the weights' Pareto
    ``k``-hat and whether it says these are ``reliable``, and the number of distinct
    draws among the resampled; the ``n`` exact energies of the weights are the result's
    cost (``warmup_grad_evals``: one value-and-gradient pass gives the energy with the
    force, so MCMC pays no less per point)."""
    source, model, process, _ = _score_model(cfg, config, target, trained)
    settings = cfg.reweight
    key_flow, key_resample = jax.random.split(key)
    start = time.perf_counter()
    weighted = reweight(
        key_flow,
        model,
        target,
        n,
        process=None if source == "learned" else process,
        divergence=settings.divergence,
        rtol=settings.rtol,
        atol=settings.atol,
        warn=False,  # the report says it (diagnose_one), from the settings below
    )
    draws = np.asarray(weighted.resample(key_resample))
    recorded = {
        "score": source,
        "reweighted_from": cfg.name,
        "divergence": weighted.divergence,
        "kish_ess": float(weighted.ess),
        "ess_fraction": float(weighted.ess_fraction),
        "log_z": float(weighted.log_z),
        "log_z_stderr": float(weighted.log_z_stderr),
        "log_z_interval": [float(v) for v in weighted.log_z_interval],
        "pareto_k": float(weighted.pareto_k),
        "reliable": bool(weighted.reliable),
        "distinct_draws": len(np.unique(draws, axis=0)),
        "warmup_grad_evals": n,
    }
    timing = {"sampling": time.perf_counter() - start}
    return Chains(draws[None], {}, "reweighted_flow", timing, recorded, particles=True)


def resample_move(
    cfg: RefineConfig, reweighted: Chains, target, key, progress: bool, max_start_energy=None
) -> Chains:
    """The resampled reweighted draws refined on the exact target (resample-move, Gilks
    and Berzuini 2001): the weights set the mass between modes, which a short
    refinement cannot move; the refinement spreads the resampling's duplicates. Its
    warm-up count includes the weights' energies, so that ``total_grad_evals() +
    warmup_grad_evals()`` is the whole exact-energy cost of the correction."""
    moved = refine_draws(cfg, reweighted, target, key, progress, max_start_energy)
    moved.settings["warmup_grad_evals"] = moved.warmup_grad_evals() + reweighted.warmup_grad_evals()
    return moved


def _saved(run_dir: Path, label: str, target, resume: bool, make) -> Chains:
    """The chains of ``label``: reused from their netCDF file on resume, else made and
    saved."""
    path = run_dir / "chains" / f"{label}.nc"
    if resume and path.exists():
        return load_chains(path)
    chains = make()
    save_chains(chains, path, target)
    return chains


def start_energy_bound(
    cfg: RefineConfig, target, trained: Trained | None, where: str
) -> float | None:
    """``max_start_energy`` as a number: as given, or for ``"data"`` the largest energy of
    the training samples. No cost is counted: the exact score attached to each point is
    counted already, and one value-and-gradient evaluation gives its energy with it (the
    energies are recomputed here only because the data set does not store them)."""
    if cfg.max_start_energy != "data":
        return cfg.max_start_energy
    if trained is None or trained.samples is None:
        raise ConfigError(
            f"{where}.refine.max_start_energy",
            "is 'data' but no training samples exist",
            "give a number, or train on data ([score.data] source other than 'energy')",
        )
    energies = -np.asarray(jax.vmap(target.log_prob)(np.asarray(trained.samples)))
    return float(np.max(energies))


def refine_draws(
    cfg: RefineConfig, chains: Chains, target, key, progress: bool, max_start_energy=None
) -> Chains:
    """A sampler's draws refined on the exact target (relaxed first above
    ``max_start_energy``, see :func:`start_energy_bound`); the refined chains record the
    gradient evaluations of the draws they started from."""
    refined = refine(
        key,
        chains,
        target,
        sampler=cfg.sampler,
        num_steps=cfg.num_steps,
        num_warmup=cfg.num_warmup,
        max_start_energy=max_start_energy,
        relax_steps=cfg.relax_steps,
        progress=progress,
    )
    refined.settings.update(score="exact", refined_from=chains.sampler)
    refined.settings["start_grad_evals"] = chains.total_grad_evals()
    return refined
