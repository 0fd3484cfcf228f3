"""Training score networks: ``fit`` runs compiled ``lax.scan`` chunks of optimiser steps.

One step draws a batch of clean examples, one time per example, one PRNG key per
example, evaluates the per-example objective under ``vmap``, weights it by the
objective's ``weighting(process, t)`` and averages: the only place where a loss is
reduced. The history records, per step, ``loss``, ``grad_norm`` and every aux term of
the objective (weighted and averaged like the loss). Between chunks ``fit`` updates a
progress bar, checks that the loss is finite and writes atomic checkpoints, from which
``resume=True`` continues bit for bit: step ``k`` always uses ``fold_in(key, k)``.

A chunk compiles once per trace shape: weights, optimiser state (with any learning rate
that ``optax.inject_hyperparams`` keeps there), data and keys are arguments, and the
optimiser is compared by the program of its ``update`` (:mod:`scoresample._optimizer`), so a new
optimiser object that compiles to the same program reuses the compiled chunk. Each batch
is split over all devices of all processes (:mod:`scoresample._data_parallel`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from ._checkpoint import CHECKPOINT_NAME as CHECKPOINT_NAME
from ._checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from ._data_parallel import batch_mesh, check_split, keep_replicated, local, replicate, split_batch
from ._optimizer import SameProgram
from ._progress import progress_bar
from ._types import Batch, PRNGKey
from ._validate import finite_array, positive_int
from .errors import ConfigError, DataError, NonFiniteError
from .networks.base import ScoreNetwork
from .noise import DEFAULT_TIMES, NoiseProcess, TimeSampler, time_sampler
from .objectives.weighting import uniform
from .targets import AbstractTarget, ExactSampler

#: The default optimiser, as ``[score.training]``'s: AdamW, learning rate 1e-3, weight decay 1e-4.
#: Both live in the optimiser state (``optax.inject_hyperparams``), so another value
#: reuses the compiled training step; the moment decays stay constants, as in
#: ``optax.adamw``, whose results this gives bit for bit.
DEFAULT_OPTIMIZER = optax.inject_hyperparams(
    optax.adamw, static_args=("b1", "b2", "eps", "eps_root")
)(learning_rate=1e-3, weight_decay=1e-4)


@dataclasses.dataclass(frozen=True, repr=False)
class FitResult:
    """What ``fit`` returns.

    Attributes:
        model: the trained model.
        ema_model: the exponential moving average of its parameters (None without EMA).
        opt_state: the final optimiser state.
        history: per-step arrays ``loss``, ``grad_norm`` and each aux term by name.
        steps: number of completed steps.

    Example:
        >>> fit(ScoreMLP(2, key=k1), DSM(VE()), samples, key=k2)   # repr: one line
        FitResult(model=ScoreMLP, steps=2000, loss=0.9731, history=['fitting', 'grad_norm', ...])
    """

    model: Any
    ema_model: Any | None
    opt_state: Any
    history: dict[str, np.ndarray]
    steps: int

    def __repr__(self) -> str:
        """One line: the model's type, the steps, the last step's loss, the history's names."""
        losses = self.history.get("loss", ())
        loss = f"{float(losses[-1]):.4g}" if len(losses) else None
        return (
            f"FitResult(model={type(self.model).__name__}, steps={self.steps}, loss={loss}, "
            f"history={list(self.history)})"
        )


class _State(eqx.Module):
    params: Any
    opt_state: Any
    ema: Any


class _Batches(eqx.Module):
    """Draws ``(x, scores or None)``: minibatches of arrays, the full batch, or fresh draws."""

    samples: jax.Array | None
    scores: jax.Array | None
    target: Any
    batch_size: int | None = eqx.field(static=True)
    with_scores: bool = eqx.field(static=True)

    def draw(self, key: PRNGKey) -> tuple[jax.Array, jax.Array | None]:
        if self.target is not None:
            xs = self.target.sample(key, self.batch_size)
            return xs, jax.vmap(self.target.score)(xs) if self.with_scores else None
        if self.batch_size is None:
            return self.samples, self.scores if self.with_scores else None
        index = jax.random.randint(key, (self.batch_size,), 0, self.samples.shape[0])
        return self.samples[index], self.scores[index] if self.with_scores else None


class _Problem(eqx.Module):
    """Everything a step needs that does not change during training."""

    static: Any
    objective: Callable
    process: NoiseProcess
    batches: _Batches
    times: TimeSampler
    optimizer: SameProgram
    ema_decay: float | None = eqx.field(static=True)
    mesh: Mesh = eqx.field(static=True)

    def batch_loss(self, params, xs, scores, ts, keys):
        """Weighted mean of the per-example objective over a batch, and of its aux terms."""
        model = eqx.combine(params, self.static)
        examples = xs if scores is None else (xs, scores)
        values, aux = jax.vmap(lambda x, t, k: self.objective(model, x, t, k))(examples, ts, keys)
        weighting = getattr(self.objective, "weighting", uniform)
        weights = jax.vmap(lambda t: weighting(self.process, t))(ts)
        aux = {name: jnp.mean(weights * term) for name, term in aux.items()}
        return jnp.mean(weights * values), aux

    def step(self, state: _State, step, key: PRNGKey) -> tuple[_State, dict]:
        """One optimiser step; returns the new state and the step's record.

        The batch is split over the mesh; the mean over it, and so the gradient, is
        reduced across devices by XLA; parameters and records stay replicated.
        """
        key_batch, key_times, key_loss = jax.random.split(jax.random.fold_in(key, step), 3)
        xs, scores = self.batches.draw(key_batch)
        ts = self.times(key_times, xs.shape[0])
        keys = jax.random.split(key_loss, xs.shape[0])
        xs, scores, ts, keys = split_batch((xs, scores, ts, keys), self.mesh)
        grad_fn = jax.value_and_grad(self.batch_loss, has_aux=True)
        (loss, aux), grads = grad_fn(state.params, xs, scores, ts, keys)
        update = self.optimizer.transformation.update
        updates, opt_state = update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        ema = state.ema
        if self.ema_decay is not None:
            ema = optax.incremental_update(params, state.ema, 1.0 - self.ema_decay)
        record = {"loss": loss, "grad_norm": optax.tree.norm(grads), **aux}
        return keep_replicated((_State(params, opt_state, ema), record), self.mesh)


@eqx.filter_jit
def _run_chunk(problem: _Problem, state: _State, key: PRNGKey, first_step, n_steps: int):
    """``n_steps`` steps from ``first_step`` in one ``lax.scan``."""
    return jax.lax.scan(
        lambda carry, step: problem.step(carry, step, key), state, first_step + jnp.arange(n_steps)
    )


def fit(
    model: eqx.Module,
    objective: Callable,
    data: Batch | tuple[Batch, Batch] | ExactSampler,
    *,
    optimizer: optax.GradientTransformation = DEFAULT_OPTIMIZER,
    steps: int = 2000,
    batch_size: int | None = 256,
    key: PRNGKey,
    times: str | float | Any = DEFAULT_TIMES,
    sigmas: float | Any | None = None,
    t_range: tuple[float, float] | None = None,
    ema_decay: float | None = None,
    chunk_size: int = 500,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = 500,
    resume: bool = False,
    devices: Sequence | None = None,
) -> FitResult:
    """Train ``model`` on ``objective``: ``min E_t [lambda(t) E_x loss(model, x, t, key)]``.

    The noise process is the objective's (``objective.process``; for a bare loss
    function without one, the model's). A :class:`~scoresample.networks.ScoreNetwork` is
    bound to it (:meth:`~scoresample.networks.ScoreNetwork.with_process`), so the trained
    ``result.model`` carries it to the samplers; a network built for another process is
    a ConfigError.

    Args:
        model: an equinox Module that is a ScoreFn (``ScoreMLP``, ``EnergyMLP``, wrappers).
            Targets and noise processes inside it are frozen, not trained.
        objective: a per-example loss ``loss(score_fn, x, t, key) -> (value, aux)`` bound
            to a noise process (``process`` attribute); its ``weighting`` attribute
            (default: uniform) weights each example.
        data: samples ``(n, d)``; a tuple ``(samples, scores)`` with exact clean scores
            (for objectives that need them, e.g. TSM built without ``clean_score``); or a
            target with an exact sampler (fresh draws every step, scores from ``target.score``).
        optimizer: an optax transformation (default ``adamw(1e-3, weight_decay=1e-4)``,
            through ``optax.inject_hyperparams``). A new optimiser of the same program
            reuses the compiled step; for a learning-rate sweep without recompiling, build
            it as ``optax.inject_hyperparams(optax.adam)(learning_rate=lr)``.
        steps: total number of optimiser steps (including steps of a resumed run).
        batch_size: examples per step (drawn with replacement); None (or >= n) for the
            full data every step. It is split over the devices, so it must be a multiple
            of their number.
        key: PRNG key; step ``k`` uses ``fold_in(key, k)``.
        times: ``"stratified"`` (default), ``"uniform"`` or ``"antithetic"`` on ``t_range``;
            a single time; or an array of times to draw from uniformly.
        sigmas: instead of ``times``: one noise level or NCSN levels (``t = t_of_sigma``).
        t_range: ``(t_min, t_max)``; default ``process.t_range``.
        ema_decay: keep an exponential moving average of the parameters (e.g. 0.999).
        chunk_size: steps per compiled ``lax.scan`` chunk (progress updates in between).
        progress: show progress with the running loss: a tqdm bar in a terminal or
            notebook, else a line per tenth of the steps (see ``scoresample._progress``).
        checkpoint_dir: directory of ``checkpoint.eqx`` (model, optimiser state, EMA, key,
            step, history so far), written atomically.
        checkpoint_every: with ``checkpoint_dir``, also checkpoint every this many steps
            (None: only at the end and on Ctrl-C).
        resume: continue from the checkpoint in ``checkpoint_dir`` (bit for bit on the
            same devices; up to rounding on others).
        devices: devices to split each batch over (default: all devices of all
            processes). Gradients are reduced across them by XLA; the result is the
            one-device result up to floating-point rounding. Every process of a
            ``jax.distributed`` run calls ``fit`` with the same arguments; each writes
            the same checkpoint and shows progress only on process 0.

    Returns:
        A :class:`FitResult`.

    Raises:
        ConfigError: the batch does not split evenly over the devices (the fix is named).
        NonFiniteError: the loss or gradient became NaN or infinite (the step is named; the
            last checkpoint written stays in place).

    Example:
        >>> from scoresample import datasets, networks, noise, objectives
        >>> k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
        >>> samples = datasets.two_moons(k1, 512)
        >>> model = networks.ScoreMLP(2, key=k2)
        >>> result = fit(model, objectives.DSM(noise.VE()), samples, steps=200, key=k3,
        ...              progress=False)
        >>> result.history["loss"].shape, result.model.process
        ((200,), VE(sigma_min=0.01, sigma_max=10.0))
    """
    steps = positive_int(steps, "fit.steps")
    chunk_size = positive_int(chunk_size, "fit.chunk_size")
    every = (
        None if checkpoint_every is None else positive_int(checkpoint_every, "fit.checkpoint_every")
    )
    model, process = _bind_process(model, objective)
    params, static = eqx.partition(model, _trainable(model))
    batches = _batches(data, getattr(objective, "needs_scores", False), batch_size)
    _check_model(model, batches)
    mesh = batch_mesh(devices)
    check_split(_batch_examples(batches), mesh, full_data=batches.batch_size is None)
    sampler = time_sampler(process, times, sigmas, t_range)
    decay = _checked_decay(ema_decay)
    state = _State(params, optimizer.init(params), None if decay is None else params)
    path = checkpoint_path(checkpoint_dir, resume)
    history, start = {}, 0
    if resume and path is not None and path.exists():
        state, history, start = load_checkpoint(path, state, key)
    state = replicate(state, mesh)
    traced = SameProgram(optimizer, state.params, state.opt_state)
    problem = replicate(
        _Problem(static, objective, process, batches, sampler, traced, decay, mesh), mesh
    )
    schedule = _chunk_ends(start, steps, chunk_size, every)
    progress = progress and jax.process_index() == 0
    state, history, start = _train(problem, state, key, history, start, schedule, progress, path)
    state = local(state)
    ema_model = None if decay is None else eqx.combine(state.ema, static)
    return FitResult(eqx.combine(state.params, static), ema_model, state.opt_state, history, start)


def _save_state(path: Path, key, state, problem, history, step) -> None:
    """``fit``'s checkpoint: the training state, the key, the history, the step."""
    save_checkpoint(path, local(state), key, history, step)


def _train(
    problem,
    state,
    key,
    history,
    start,
    schedule,
    progress,
    path,
    save=_save_state,
    after_chunk=None,
):
    """Run the chunks ending at ``schedule``; checkpoint to ``path`` (None: never) at
    ``schedule``'s checkpoint steps.

    ``schedule`` is a list of ``(end, checkpoint?)``; ``save(path, key, state, problem,
    history, step)`` writes a checkpoint; ``after_chunk(problem, state, end)`` returns the
    problem for the next chunk (data-free training refills its buffer there). On
    KeyboardInterrupt the last completed chunk is checkpointed and re-raised.
    """
    total = schedule[-1][0] if schedule else start
    mesh, on_mesh = problem.mesh, replicate(key, problem.mesh)
    with progress_bar(total, "fit", enabled=progress, unit="step", initial=start) as bar:
        try:
            for end, checkpoint in schedule:
                first = replicate(jnp.asarray(start), mesh)
                new_state, records = _run_chunk(problem, state, on_mesh, first, end - start)
                records = _checked_records(local(records), start, path)
                state, history, start = new_state, _extend(history, records), end
                bar.set_postfix(loss=f"{np.mean(records['loss']):.4g}")
                bar.update(len(records["loss"]))
                if after_chunk is not None:
                    problem = after_chunk(problem, state, end)
                if checkpoint and path is not None:
                    save(path, key, state, problem, history, start)
        except KeyboardInterrupt:
            if path is not None:
                save(path, key, state, problem, history, start)
            raise
    return state, history, start


def _trainable(model) -> Any:
    """Filter spec: inexact arrays, except inside targets and noise processes."""
    frozen = lambda node: isinstance(node, AbstractTarget | NoiseProcess)  # noqa: E731
    return jax.tree_util.tree_map(
        lambda leaf: not frozen(leaf) and eqx.is_inexact_array(leaf), model, is_leaf=frozen
    )


def _bind_process(model, objective) -> tuple[Any, NoiseProcess]:
    """The objective's noise process (else the model's), and the model bound to it."""
    process = getattr(objective, "process", None)
    if process is None:
        process = getattr(model, "process", None)
    if not isinstance(process, NoiseProcess):
        raise ConfigError(
            "fit.objective",
            "has no noise process",
            "build the objective with one, e.g. DSM(VE()), or the model, e.g. "
            "ScoreMLP(2, process=VE(), key=key)",
        )
    if isinstance(model, ScoreNetwork):
        model = model.with_process(process, field="objective.process")
    return model, process


def _batches(data, with_scores: bool, batch_size: int | None) -> _Batches:
    """Validate ``data`` and wrap it as a batch source."""
    if batch_size is not None:
        batch_size = positive_int(batch_size, "fit.batch_size")
    if isinstance(data, ExactSampler) and hasattr(data, "score"):
        if batch_size is None:
            raise ConfigError(
                "fit.batch_size", "is None", "give a batch size to draw from a target"
            )
        return _Batches(None, None, data, batch_size, with_scores)
    samples, scores = data if isinstance(data, tuple) else (data, None)
    samples = jnp.asarray(finite_array(samples, "data.samples", ndim=2), dtype=float)
    if scores is not None:
        scores = jnp.asarray(finite_array(scores, "data.scores", ndim=2), dtype=float)
        if scores.shape != samples.shape:
            raise DataError(
                "data.scores",
                f"has shape {scores.shape} but the samples have {samples.shape}",
                "give one score per sample",
            )
    elif with_scores:
        raise ConfigError(
            "data",
            "has no clean scores, which this objective needs",
            "pass (samples, scores), a target with an exact sampler, or build the objective "
            "with clean_score=target.score",
        )
    if batch_size is not None and batch_size >= samples.shape[0]:
        batch_size = None
    return _Batches(samples, scores, None, batch_size, with_scores)


def _batch_examples(batches: _Batches) -> int:
    """Examples per step: the batch size, or the whole data."""
    return batches.batch_size if batches.batch_size is not None else batches.samples.shape[0]


def _checked_decay(ema_decay: float | None) -> float | None:
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ConfigError("fit.ema_decay", f"is {ema_decay}", "use a value in (0, 1), e.g. 0.999")
    return None if ema_decay is None else float(ema_decay)


def _check_model(model, batches: _Batches) -> None:
    """The model maps one position ``(d,)`` and a time to ``(d,)``."""
    dim = batches.target.dim if batches.target is not None else batches.samples.shape[1]
    try:
        out = eqx.filter_eval_shape(model, jnp.zeros(dim), jnp.zeros(())).shape
    except (TypeError, ValueError, AttributeError) as exc:
        out = f"an error ({type(exc).__name__})"
    if out != (dim,):
        raise DataError(
            "data", f"has dimension {dim} but the model gives {out} there", "match the model's dim"
        )


def _chunk_ends(start: int, steps: int, chunk_size: int, every: int | None):
    """``(end, checkpoint?)`` per chunk: chunks end at absolute multiples of ``chunk_size``
    and of ``every`` (checkpoints) and at ``steps`` (always a checkpoint)."""
    saves = set(range(every * (start // every + 1), steps, every)) if every else set()
    ends = set(range(chunk_size * (start // chunk_size + 1), steps, chunk_size)) | saves
    return [(end, end in saves or end == steps) for end in sorted(ends | {steps}) if end > start]


def _checked_records(records: dict, start: int, path: Path | None) -> dict[str, np.ndarray]:
    """Host copies of a chunk's records; NonFiniteError at the first bad step."""
    records = {name: np.asarray(value) for name, value in records.items()}
    bad = ~(np.isfinite(records["loss"]) & np.isfinite(records["grad_norm"]))
    if np.any(bad):
        step = start + int(np.argmax(bad))
        kept = f"; the checkpoint in {path.parent} is from before it" if path else ""
        raise NonFiniteError(
            "fit.loss",
            f"is {records['loss'][step - start]} (gradient norm "
            f"{records['grad_norm'][step - start]}) at step {step}{kept}",
            "lower the learning rate, check the data, or down-weight the lowest noise levels",
        )
    return records


def _extend(history: dict[str, np.ndarray], records: dict[str, np.ndarray]) -> dict:
    return {
        name: np.concatenate([history.get(name, value[:0]), value])
        for name, value in records.items()
    }
