"""Data-free training: iDEM's bootstrapped loop, from the energy alone.

No sample of the target is needed. A replay buffer of ``buffer_size`` points is first
filled by sampling the untrained model; then training alternates

- an inner loop of ``refill_every`` optimiser steps, each drawing a batch from the buffer
  and regressing the network on an importance-sampled score estimate at noised copies of
  it (:class:`~scoresample.objectives.DEM`: TSI as iDEM, or DSI, kappa, kappa-bar);
- an outer step that samples the current model (the EMA model when there is one) with
  ``sampler`` (reverse diffusion by default) and writes the draws over the oldest
  entries of the buffer (first in, first out).

The steps are ``fit``'s (:mod:`scoresample.training`): compiled ``lax.scan`` chunks,
the progress bar, the history, atomic checkpoints and bit-exact ``resume``. The
checkpoint also holds the buffer and the number of refills done, so a run interrupted
during a refill repeats it on resume. Refill ``i`` uses ``fold_in(key_buffer, i)`` and
step ``k`` ``fold_in(key_fit, k)``.

The energy is evaluated only by the estimator: ``k`` evaluations (with gradients) per
example, ``steps * batch_size * k`` in all; refills call the network alone. The result's
:class:`~scoresample.ledger.EnergyLedger` says so.

References:
    Akhound-Sadegh et al. (2024), Iterated denoising energy matching for sampling from
    Boltzmann densities, ICML, Alg. 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from ._data_parallel import batch_mesh, check_split, local, replicate
from ._optimizer import SameProgram
from ._types import PRNGKey
from ._validate import positive_int
from .errors import ConfigError
from .ledger import EnergyLedger
from .noise import DEFAULT_TIMES, time_sampler
from .samplers import make_sampler, mean_free, run
from .samplers.registry import SamplerSpec
from .training import (
    DEFAULT_OPTIMIZER,
    FitResult,
    _Batches,
    _bind_process,
    _checked_decay,
    _chunk_ends,
    _Problem,
    _State,
    _train,
    _trainable,
)


@dataclasses.dataclass(frozen=True, repr=False)
class DataFreeResult(FitResult):
    """:class:`~scoresample.training.FitResult` and what the loop adds.

    Attributes:
        buffer: the replay buffer at the end ``(buffer_size, d)``.
        refills: how many times the buffer was (re)filled, the initial fill included.
        ledger: energy evaluations by stage (``training``: the estimator's; ``refill``: 0).
    """

    buffer: np.ndarray | None = None
    refills: int = 0
    ledger: EnergyLedger = dataclasses.field(default_factory=EnergyLedger)


class _Buffer:
    """The replay buffer on the host: ``draws`` and the refills done; refill ``i`` writes
    ``n`` draws at ``(i n + j) mod size``, so the oldest go first."""

    def __init__(self, size: int, dim: int, dtype):
        self.draws = np.zeros((size, dim), dtype)
        self.refills = 0

    def refill(self, sampler: SamplerSpec, key, model, coordinates) -> None:
        chains = run(sampler, jax.random.fold_in(key, self.refills), model, progress=False,
                     mean_free=coordinates if coordinates is not None else False)  # fmt: skip
        new = np.asarray(chains.flat(), self.draws.dtype)
        size = len(self.draws)
        if len(new) > size:
            raise ConfigError(
                "fit_data_free.sampler",
                f"draws {len(new)} points per refill, more than the buffer holds ({size})",
                "refill with a particle sampler (reverse_diffusion) of fewer chains",
            )
        self.draws[(self.refills * len(new) + np.arange(len(new))) % size] = new
        self.refills += 1


def fit_data_free(
    model: eqx.Module,
    objective,
    *,
    sampler: SamplerSpec | None = None,
    buffer_size: int = 10_000,
    refill_every: int = 100,
    steps: int = 2000,
    batch_size: int = 256,
    key: PRNGKey,
    optimizer: optax.GradientTransformation = DEFAULT_OPTIMIZER,
    times=DEFAULT_TIMES,
    t_range: tuple[float, float] | None = None,
    ema_decay: float | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = 500,
    resume: bool = False,
    devices: Sequence | None = None,
) -> DataFreeResult:
    """Train ``model`` on ``objective`` at points the model itself samples (iDEM's loop).

    Args:
        model: a score network (``ScoreMLP``, ``EGNNScore``...), bound to the objective's
            process by the loop as by ``fit``.
        objective: a per-example loss that needs no clean scores, usually
            :class:`~scoresample.objectives.DEM` (its ``target`` gives the mean-free
            coordinates of a particle system; its ``energy_evals_per_example`` the ledger).
        sampler: what refills the buffer, run on the model (default: reverse diffusion,
            1000 draws in 100 steps); each refill adds its ``n_chains`` draws.
        buffer_size: points the buffer holds (filled at the start by sampling the
            untrained model, in ``ceil(buffer_size / n_chains)`` refills).
        refill_every: optimiser steps between refills.
        steps: and ``batch_size``, ``key``, ``optimizer``, ``times``, ``t_range``,
            ``ema_decay``, ``progress``, ``checkpoint_dir``, ``checkpoint_every``,
            ``resume``, ``devices``: as :func:`~scoresample.fit` (checkpoints and progress
            updates fall on refills and ``checkpoint_every``).

    Returns:
        A :class:`DataFreeResult`.

    Raises:
        ConfigError: a setting out of range, an objective that needs clean scores, or a
            refill larger than the buffer.

    References:
        Akhound-Sadegh et al. (2024), iDEM, Alg. 1.

    Example:
        iDEM on gmm40 (Akhound-Sadegh et al. use K = 500 proposals, 256 examples per step
        and a buffer of 10,000; here all are small):

        >>> from scoresample import networks, noise, objectives, samplers, targets
        >>> k1, k2 = jax.random.split(jax.random.PRNGKey(0))
        >>> process = noise.VE(0.01, 50.0)
        >>> loss = objectives.DEM(process, target=targets.gmm40(), k=16, identity="tsi",
        ...                       max_norm=1.4)
        >>> network = networks.ScoreMLP(2, process=process, key=k1)
        >>> model = objectives.Preconditioned(network, process, 20.0)
        >>> refill = samplers.make_sampler("reverse_diffusion", n_chains=100, n_steps=20)
        >>> result = fit_data_free(model, loss, sampler=refill, buffer_size=200,
        ...                        refill_every=10, steps=20, batch_size=32, key=k2,
        ...                        progress=False)
        >>> result.ledger.total   # 20 steps * 32 examples * 16 proposals
        10240
    """
    sampler = sampler or make_sampler("reverse_diffusion", n_chains=1000, n_steps=100)
    refill_every = positive_int(refill_every, "fit_data_free.refill_every")
    steps = positive_int(steps, "fit_data_free.steps")
    buffer_size = positive_int(buffer_size, "fit_data_free.buffer_size")
    batch_size = positive_int(batch_size, "fit_data_free.batch_size")
    every = None if checkpoint_every is None else positive_int(checkpoint_every, "checkpoint_every")
    _check_objective(objective)
    _check_refill(sampler)
    model, process = _bind_process(model, objective)
    params, static = eqx.partition(model, _trainable(model))
    mesh = batch_mesh(devices)
    check_split(batch_size, mesh, full_data=False)
    decay = _checked_decay(ema_decay)
    state = _State(params, optimizer.init(params), None if decay is None else params)
    key_fit, key_buffer = jax.random.split(key)
    coordinates = mean_free.of(objective.target) if hasattr(objective, "target") else None
    buffer = _Buffer(buffer_size, _dimension(model), jnp.result_type(float))
    first_fill = math.ceil(buffer_size / sampler.settings["n_chains"])
    path = checkpoint_path(checkpoint_dir, resume)
    history, start = {}, 0
    if resume and path is not None and path.exists():
        like = (state, buffer.draws, np.int64(0))
        (state, buffer.draws, refills), history, start = load_checkpoint(path, like, key_fit)
        buffer.draws, buffer.refills = np.array(buffer.draws), int(refills)

    def sampling_model(state):
        return eqx.combine(state.params if decay is None else state.ema, static)

    def due(step: int) -> int:
        return first_fill + step // refill_every

    def after_chunk(problem, state, end):
        if end == steps or buffer.refills >= due(end):  # a checkpoint, not a refill
            return problem
        buffer.refill(sampler, key_buffer, sampling_model(local(state)), coordinates)
        return eqx.tree_at(lambda p: p.batches.samples, problem, replicate(buffer.draws, mesh))

    def save(path, key, state, problem, history, step):
        payload = (local(state), buffer.draws, np.int64(buffer.refills))
        save_checkpoint(path, payload, key, history, step)

    while buffer.refills < (due(start) if start < steps else 0):  # a resumed run's missed one
        buffer.refill(sampler, key_buffer, sampling_model(state), coordinates)
    state = replicate(state, mesh)
    batches = _Batches(replicate(buffer.draws, mesh), None, None, batch_size, False)
    traced = SameProgram(optimizer, state.params, state.opt_state)
    sampler_t = time_sampler(process, times, None, t_range)
    problem = replicate(
        _Problem(static, objective, process, batches, sampler_t, traced, decay, mesh), mesh
    )
    schedule = _chunk_ends(start, steps, refill_every, every)
    progress = progress and jax.process_index() == 0
    state, history, start = _train(
        problem, state, key_fit, history, start, schedule, progress, path, save, after_chunk
    )
    state = local(state)
    per_example = getattr(objective, "energy_evals_per_example", 0)
    ledger = EnergyLedger().plus("training", start * batch_size * per_example).plus("refill", 0)
    ema_model = None if decay is None else eqx.combine(state.ema, static)
    return DataFreeResult(
        eqx.combine(state.params, static), ema_model, state.opt_state, history, start,
        buffer=buffer.draws.copy(), refills=buffer.refills, ledger=ledger,
    )  # fmt: skip


def _check_objective(objective) -> None:
    if getattr(objective, "needs_scores", False):
        raise ConfigError(
            "fit_data_free.objective",
            "needs clean scores, which a data-free loop does not have",
            "use DEM (an importance-sampled estimate from the energy)",
        )


def _check_refill(sampler) -> None:
    n = sampler.settings.get("n_chains") if isinstance(sampler, SamplerSpec) else None
    if n is None:
        raise ConfigError(
            "fit_data_free.sampler",
            "is not a sampler spec with n_chains",
            'use make_sampler("reverse_diffusion", n_chains=1000, n_steps=100)',
        )


def _dimension(model) -> int:
    dim = getattr(model, "dim", None)
    if dim is None:
        raise ConfigError("fit_data_free.model", "has no dim", "use a score network with dim")
    return int(dim)
