"""The training stage: data (exact, MCMC or file), objective, network, ``fit``; or, from
the energy alone, DEM and ``fit_data_free``."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..._io import write_bytes, write_text
from ...data_free import fit_data_free
from ...errors import ConfigError
from ...estimators import laplace_fit
from ...samplers import make_sampler, run
from ...targets import MeanFree
from ...training import fit
from ..config import Config, ScoreConfig
from .build import (
    as_default_float,
    attach_scores,
    build_energy_objective,
    build_network,
    build_objective,
    build_optimizer,
    build_process,
    exact_data,
    load_data_file,
)

DATA_FILE = "train_data.npy"
#: The energy gradients the training data cost, beside it (read back on resume).
DATA_COST_FILE = "train_data_cost.json"
HISTORY_FILE = "train_history.csv"


@dataclass
class Trained:
    """The learned score and how it was obtained."""

    model: Any
    process: Any
    history: dict[str, np.ndarray]
    #: The training set; None when trained from the energy alone (the buffer then holds
    #: the model's own draws, which are no reference for the diagnostics).
    samples: np.ndarray | None
    #: Energy (score) evaluations the training data cost: MCMC gradients, warm-up
    #: included, plus the exact scores attached for TSM-like objectives; 0 for exact
    #: samples without scores, None for data from a file; from the energy alone, the
    #: estimator's proposals.
    data_energy_evals: int | None = None


def mcmc_data(target, cfg, key, progress: bool) -> tuple[np.ndarray, int]:
    """``n`` draws of MCMC on the exact target (a short run per chain after warm-up),
    centred for mean-free targets, and the gradient evaluations they cost (warm-up
    included)."""
    per_chain = math.ceil(cfg.n / cfg.mcmc_chains)
    spec = make_sampler(
        cfg.mcmc_sampler,
        n_chains=cfg.mcmc_chains,
        num_warmup=cfg.mcmc_warmup,
        num_samples=per_chain,
    )
    chains = run(spec, key, target, progress=progress)
    samples = chains.flat()[: cfg.n]
    if isinstance(target, MeanFree):  # the centre of mass is a free random walk
        samples = np.asarray(target.remove_mean(samples))
    return as_default_float(samples), chains.total_grad_evals() + chains.warmup_grad_evals()


def training_samples(config: Config, target, model_dir: Path, key, base: Path, progress):
    """The training set and the energy gradients it cost (None for a file): reused from
    ``model_dir`` when resuming, else made and saved."""
    data_cfg = config.score.data
    path, cost_path = model_dir / DATA_FILE, model_dir / DATA_COST_FILE
    if data_cfg.source == "file":
        return load_data_file(data_cfg, target.dim, base), None
    if path.exists():  # resuming; a run made before costs were recorded has no cost file
        cost = json.loads(cost_path.read_text())["energy_evals"] if cost_path.exists() else None
        return as_default_float(np.load(path)), cost
    if data_cfg.source == "exact":
        samples, cost = as_default_float(exact_data(target, data_cfg.n, key)), 0
    else:
        samples, cost = mcmc_data(target, data_cfg, key, progress)
    buffer = io.BytesIO()
    np.save(buffer, samples)
    write_bytes(path, buffer.getvalue())
    write_text(cost_path, json.dumps({"energy_evals": cost}) + "\n")
    return samples, cost


def resolve_kappa_sigma(score: ScoreConfig, target, start) -> tuple[ScoreConfig, int]:
    """``score`` with ``kappa_sigma = "laplace"`` replaced by the Laplace within-mode scale
    at the local minimum reached from ``start`` (:func:`~scoresample.estimators.laplace_fit`),
    and the energy evaluations that cost: 0 where nothing was measured, as where no Gaussian
    kappa is built (another objective or estimator, ``kappa = "bar"`` or a constant).
    ``start`` is a point, or a function of nothing that gives one, called only when needed."""
    uses_kappa = score.data.estimator if score.data.source == "energy" else score.objective
    if score.kappa_sigma != "laplace" or uses_kappa != "kappa" or score.kappa != "gaussian":
        return score, 0
    start = start() if callable(start) else start
    found = laplace_fit(target.log_prob, np.asarray(start, np.float64))
    return dataclasses.replace(score, kappa_sigma=found.scale), found.energy_evals


def write_history(history: dict[str, np.ndarray], path: Path) -> None:
    """Per-step training history as CSV: ``step, loss, grad_norm, <aux terms>``."""
    names = list(history)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["step", *names])
    columns = [np.asarray(history[n]) for n in names]
    for step, row in enumerate(zip(*columns, strict=True)):
        writer.writerow([step, *(f"{float(v):.7g}" for v in row)])
    write_text(path, out.getvalue())


def train_stage(
    config: Config, target, run_dir: Path, key, *, resume: bool, progress: bool, base: Path
) -> Trained:
    """Train the configured score on the target; checkpoints live in ``run_dir/model``."""
    score = config.score
    model_dir = run_dir / "model"
    key_data, key_net, key_fit = jax.random.split(key, 3)
    process = build_process(score)
    if score.data.source == "energy":
        return _train_from_energy(config, target, run_dir, key_net, key_fit, resume, progress)
    samples, data_cost = training_samples(config, target, model_dir, key_data, base, progress)
    # Laplace's start: a training point, near a mode.
    resolved, laplace_evals = resolve_kappa_sigma(score, target, samples[0])
    if data_cost is not None:
        data_cost += laplace_evals
    objective = build_objective(resolved, process, target, samples)
    data = attach_scores(target, samples, objective)
    if data_cost is not None and objective.needs_scores:
        data_cost += len(samples)  # one exact score per training point
    model = build_network(score, target.dim, process, samples, key_net, target=target)
    training = score.training
    result = fit(
        model,
        objective,
        data,
        optimizer=build_optimizer(score),
        steps=training.steps,
        batch_size=min(training.batch_size, len(samples)),
        key=key_fit,
        ema_decay=training.ema,
        progress=progress,
        checkpoint_dir=model_dir,
        checkpoint_every=training.checkpoint_every,
        resume=resume,
        **_timing(training),
    )
    write_history(result.history, run_dir / HISTORY_FILE)
    learned = result.ema_model if result.ema_model is not None else result.model
    return Trained(learned, process, result.history, samples, data_cost)


def _timing(training) -> dict:
    """``fit``'s ``sigmas`` (one fixed level) or ``times`` (a scheme)."""
    if training.sigma is not None:
        return {"sigmas": training.sigma}
    return {"times": training.t_sampling}


def _train_from_energy(config: Config, target, run_dir, key_net, key_fit, resume, progress):
    """``source = "energy"``: :func:`~scoresample.fit_data_free` on DEM, the buffer refilled
    by reverse diffusion on the model; the ledger's total is the data's cost."""
    score, data = config.score, config.score.data
    if score.training.sigma is not None:
        raise ConfigError(
            "score.training.sigma",
            "is set, but a one-level model cannot be sampled to refill the buffer",
            "leave sigma out to train over the noise process's times",
        )
    process = build_process(score)

    # Laplace's start without data: a normal draw at the stated scale.
    def start():
        return (score.sigma_data or 1.0) * jax.random.normal(
            jax.random.fold_in(key_net, 1), (target.dim,)
        )

    resolved, laplace_evals = resolve_kappa_sigma(score, target, start)
    objective = build_energy_objective(resolved, process, target)
    model = build_network(score, target.dim, process, None, key_net, target=target)
    refill = make_sampler("reverse_diffusion", n_chains=data.refill, n_steps=data.refill_steps)
    training = score.training
    result = fit_data_free(
        model,
        objective,
        sampler=refill,
        buffer_size=data.n,
        refill_every=data.refill_every,
        optimizer=build_optimizer(score),
        steps=training.steps,
        batch_size=training.batch_size,
        key=key_fit,
        ema_decay=training.ema,
        progress=progress,
        checkpoint_dir=run_dir / "model",
        checkpoint_every=training.checkpoint_every,
        resume=resume,
        times=training.t_sampling,
    )
    write_history(result.history, run_dir / HISTORY_FILE)
    learned = result.ema_model if result.ema_model is not None else result.model
    return Trained(learned, process, result.history, None, result.ledger.total + laplace_evals)
