"""Run many chains of any sampler, compiled and sharded over devices, into :class:`Chains`.

``run(make_sampler("nuts"), key, target)`` draws initial positions, warms up (per chain:
each chain adapts its own step size and mass matrix, so chains stay independent and
need no communication across devices), then draws, all inside ``lax.scan`` over
``vmap``-ed chains. Draws are computed in chunks of one compiled scan, so the tqdm bar
advances without recompiling; draw ``i`` of chain ``c`` uses the key
``fold_in(fold_in(fold_in(key_chains, c), 1), i)``, so the draws do not depend on the
chunking, on ``progress``, on the number of chains beside it or on the devices.

Particle samplers (annealed Langevin, reverse diffusion) turn each chain's noise into
one independent draw; their :class:`Chains` hold ``(1, n_particles, d)``: one "chain" of
``n_particles`` independent draws, so ArviZ's ESS of them is about ``n_particles``.

Non-finite scores or log densities never enter the draws: the offending step is
refused (or rejected), the draw is flagged ``diverging = True``, and a
:class:`NonFiniteWarning` names the chains.
"""

from __future__ import annotations

import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from .._types import Batch, PRNGKey
from ..chains import Chains
from ..errors import ConfigError, DataError, NonFiniteError
from ._model import coordinate_names, model_dim
from ._plan import Plan, normal_prior
from ._sharding import ChainLayout, chain_layout, fetch, per_chain, put
from .registry import SamplerSpec, make_sampler

#: Progress updates aimed at per run (chunks of one compiled scan).
PROGRESS_CHUNKS = 20


class NonFiniteWarning(RuntimeWarning):
    """Some chain met a non-finite score or log density; its draws are flagged diverging."""


def run(
    sampler: SamplerSpec | str,
    key: PRNGKey,
    model,
    *,
    initial_positions: Batch | None = None,
    n_chains: int | None = None,
    process=None,
    t_min: float = 0.0,
    progress: bool = True,
    devices=None,
) -> Chains:
    """Run ``sampler`` on ``model`` for many chains; return draws ``(chain, draw, d)``.

    Args:
        sampler: a :class:`SamplerSpec` from :func:`make_sampler`, or a sampler name.
        key: PRNG key; the same key gives the same draws on any number of devices.
        model: a target (``log_prob``, ``score``, ``noised``), a score network
            ``model(y, t)``, an energy network (``energy(y, t)``) or a function, as the
            sampler needs (see :mod:`scoresample.samplers._model`).
        initial_positions: ``(n_chains, d)`` starting points, or ``f(key, n) -> (n, d)``
            (e.g. ``target.sample``). Default: ``N(0, I)`` for Markov chains, the
            process's noise ``N(0, sigma_max^2 I)`` for particle samplers.
        n_chains: overrides the sampler's ``n_chains`` (and the rows of an array).
        process: the noise process of ``score_fn(y, t)`` (annealed Langevin, reverse
            diffusion).
        t_min: the time at which a time-conditioned model is a clean log density or
            score (MALA, HMC, NUTS, ULA on a network: ``log p = -E(y, t_min)``).
        progress: show a tqdm progress bar.
        devices: devices to shard chains over (default: all devices of all hosts).

    Returns:
        :class:`Chains` with per-draw ``stats``, ``timing`` (compile, warm-up, sampling
        seconds) and ``settings`` (with the adapted per-chain step sizes and inverse
        mass matrices).

    Example:
        >>> chains = run(make_sampler("nuts", num_warmup=500), jax.random.PRNGKey(0),
        ...              ncsn_toy(), initial_positions=ncsn_toy().sample)
        >>> chains.positions.shape
        (4, 1000, 2)
    """
    spec = sampler if isinstance(sampler, SamplerSpec) else make_sampler(sampler)
    settings = dict(spec.settings)
    n = _chain_count(n_chains, initial_positions, settings)
    dim = _dimension(model, initial_positions)
    plan = spec.module.plan(settings, model, process=process, t_min=t_min, dim=dim)
    key_start, key_chains = jax.random.split(key)
    x0 = _initial_positions(initial_positions, plan, key_start, n, dim)
    layout = chain_layout(n, devices)
    timing = {"compile": 0.0, "warmup": 0.0, "sampling": 0.0}
    warm_keys, sample_keys, wrap = _chain_keys(key_chains, n)
    states, params = _warm_up(plan, layout, settings, warm_keys, x0, wrap, timing, progress)
    positions, stats = _sample(
        plan, layout, settings, sample_keys, states, params, wrap, timing, (progress, spec.name)
    )
    _warn_non_finite(stats.pop("non_finite"), spec.name)
    if plan.particles:
        positions = positions.reshape(1, n, dim)
        stats = {name: value.reshape(1, n) for name, value in stats.items()}
    adapted = {name: value for name, value in fetch(layout, params).items()}
    report = {**settings, **(plan.report or {}), **adapted, "n_chains": n, "t_min": t_min}
    report["n_devices"] = layout.n_devices
    return Chains(positions, stats, spec.name, timing, report, coordinate_names(model))


def _chain_count(n_chains, initial_positions, settings) -> int:
    if n_chains is not None:
        return int(n_chains) if n_chains > 0 else _bad_count(n_chains)
    if initial_positions is not None and not callable(initial_positions):
        return len(initial_positions)
    return settings["n_chains"]


def _bad_count(n_chains):
    raise ConfigError("n_chains", f"must be a positive integer, got {n_chains!r}", "use >= 1")


def _dimension(model, initial_positions) -> int:
    dim = model_dim(model)
    if dim is None and initial_positions is not None and not callable(initial_positions):
        dim = np.shape(initial_positions)[-1]
    if dim is None:
        raise ConfigError(
            "initial_positions",
            "the model has no dim, so the dimension is unknown",
            "pass initial_positions of shape (n_chains, d)",
        )
    return int(dim)


def _initial_positions(given, plan: Plan, key, n: int, dim: int) -> np.ndarray:
    """Starting points ``(n, dim)``: given, drawn by ``given(key, n)``, or the prior's."""
    if given is None:
        given = lambda k, m: (plan.prior or normal_prior())(k, m, dim)  # noqa: E731
    positions = np.asarray(given(key, n) if callable(given) else given, dtype=float)
    if positions.shape != (n, dim):
        raise DataError(
            "initial_positions",
            f"has shape {positions.shape}, expected (n_chains, d) = ({n}, {dim})",
            "pass one row per chain with the model's dimension",
        )
    if not np.all(np.isfinite(positions)):
        raise NonFiniteError("initial_positions", "contains NaN or inf", "start at finite points")
    return positions.astype(jnp.zeros(()).dtype)


def _chain_keys(key, n: int):
    """Per-chain warm-up and sampling keys as raw data, and ``wrap`` to rebuild keys."""
    chain = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    warm, sample = (jax.vmap(lambda k, j=j: jax.random.fold_in(k, j))(chain) for j in (0, 1))
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(key)
        data = [np.asarray(jax.random.key_data(k)) for k in (warm, sample)]
        return data[0], data[1], lambda raw: jax.random.wrap_key_data(raw, impl=impl)
    return np.asarray(warm), np.asarray(sample), lambda raw: raw


def _compile(fn, args, timing: dict):
    start = time.perf_counter()
    compiled = fn.lower(*args).compile()
    timing["compile"] += time.perf_counter() - start
    return compiled


def _execute(compiled, args, timing: dict, phase: str):
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    timing[phase] += time.perf_counter() - start
    return out


def _check_initial(layout: ChainLayout, states) -> None:
    """Raise if a chain starts where the model is not finite."""
    bad = np.zeros(layout.n_chains, bool)
    for leaf in jax.tree.leaves(fetch(layout, states)):
        if np.issubdtype(leaf.dtype, np.floating):
            bad |= ~np.all(np.isfinite(leaf.reshape(layout.n_chains, -1)), axis=1)
    if bad.any():
        raise NonFiniteError(
            "initial_positions",
            f"chains {np.flatnonzero(bad)[:10].tolist()} start where the log density or "
            "score is not finite",
            "start the chains inside the support, where the model is finite",
        )


def _warm_up(plan: Plan, layout, settings, keys, x0, wrap, timing, progress):
    """Initial states, then adaptation (or burn-in); returns ``(states, params)``."""
    x0 = put(layout, x0)
    states = _execute(
        _compile(per_chain(plan.init, layout), (x0,), timing), (x0,), timing, "warmup"
    )
    _check_initial(layout, states)
    params = put(
        layout,
        jax.tree.map(lambda p: np.broadcast_to(p, (layout.n_chains, *np.shape(p))), plan.params),
    )
    num_warmup = settings.get("num_warmup", 0)
    if num_warmup == 0:
        return states, params
    keys = put(layout, keys)
    if plan.warmup is not None:
        fn = per_chain(lambda k, x: plan.warmup(wrap(k), x, num_warmup), layout)
        args = (keys, x0)
    else:
        fn = per_chain(lambda k, s, p: (_burn_in(plan.step, wrap(k), s, p, num_warmup), p), layout)
        args = (keys, states, params)
    with tqdm(total=num_warmup, desc="warm-up", disable=not progress, leave=False) as bar:
        out = _execute(_compile(fn, args, timing), args, timing, "warmup")
        bar.update(num_warmup)
    return out


def _burn_in(step, key, state, params, num_steps: int):
    def one(state, i):
        return step(jax.random.fold_in(key, i), state, params)[0], None

    return jax.lax.scan(one, state, jnp.arange(num_steps))[0]


def _reduce(name: str, values):
    """One statistic over the thinned steps of a draw."""
    if name == "n_grad_evals":
        return jnp.sum(values)
    if name in ("diverging", "non_finite"):
        return jnp.any(values)
    return jnp.mean(values) if name == "acceptance_rate" else values[-1]


def _thinned(step, thinning: int):
    if thinning == 1:
        return step

    def draw(key, state, params):
        one = lambda s, k: step(k, s, params)  # noqa: E731
        state, stats = jax.lax.scan(one, state, jax.random.split(key, thinning))
        return state, {name: _reduce(name, value) for name, value in stats.items()}

    return draw


def _chunking(n: int, progress: bool) -> tuple[int, int]:
    """``(chunk size, chunks)``: a divisor of ``n`` near :data:`PROGRESS_CHUNKS` if there
    is one, else equal chunks whose last runs past ``n`` (the extra draws are dropped)."""
    if not progress or n < 2 * PROGRESS_CHUNKS:
        return n, 1
    divisors = [k for k in range(PROGRESS_CHUNKS // 2, 3 * PROGRESS_CHUNKS) if n % k == 0]
    if divisors:
        k = min(divisors, key=lambda k: abs(k - PROGRESS_CHUNKS))
        return n // k, k
    size = -(-n // PROGRESS_CHUNKS)
    return size, -(-n // size)


def _sample(plan, layout, settings, keys, states, params, wrap, timing, display):
    """Draws ``(n, num_samples, d)`` and stats ``(n, num_samples)`` as NumPy arrays."""
    num_samples = settings.get("num_samples", 1)
    size, n_chunks = _chunking(num_samples, display[0])
    draw = _thinned(plan.step, settings.get("thinning", 1))

    def chunk(key, state, params, start):
        def one(state, i):
            state, stats = draw(jax.random.fold_in(wrap(key), i), state, params)
            return state, (state.position, stats)

        return jax.lax.scan(one, state, start + jnp.arange(size))

    keys = put(layout, keys)
    compiled = _compile(
        per_chain(chunk, layout, n_shared=1), (keys, states, params, np.int32(0)), timing
    )
    pieces = []
    with tqdm(total=num_samples, desc=display[1], disable=not display[0], unit="draw") as bar:
        start = time.perf_counter()
        out = compiled(keys, states, params, np.int32(0))
        for c in range(n_chunks):
            states, draws = out
            if c + 1 < n_chunks:  # dispatch the next chunk before fetching this one
                out = compiled(keys, states, params, np.int32((c + 1) * size))
            pieces.append(fetch(layout, draws))
            bar.update(min(size, num_samples - c * size))
        timing["sampling"] += time.perf_counter() - start
    positions = np.concatenate([p[0] for p in pieces], axis=1)[:, :num_samples]
    stats = {
        k: np.concatenate([p[1][k] for p in pieces], axis=1)[:, :num_samples] for k in pieces[0][1]
    }
    return positions, stats


def _warn_non_finite(non_finite: np.ndarray, name: str) -> None:
    chains = np.flatnonzero(non_finite.any(axis=1))
    if chains.size:
        listed = chains[:10].tolist() + (["..."] if chains.size > 10 else [])
        warnings.warn(
            f"{name}: non-finite score or log density in chain(s) {listed} "
            f"({int(non_finite.sum())} draws); those steps were refused and the draws "
            "are flagged diverging=True; check the model for NaN or inf",
            NonFiniteWarning,
            stacklevel=3,
        )
