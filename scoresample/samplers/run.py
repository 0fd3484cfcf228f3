"""Run many chains of any sampler, compiled and sharded over devices, into :class:`Chains`.

A sampler is a name, a :class:`SamplerSpec` or any BlackJAX ``SamplingAlgorithm``; what it
drives on is given explicitly (:func:`~scoresample.samplers.model.sampling_model`).
``run(make_sampler("nuts"), key, target)`` draws initial positions, warms up (per chain:
each chain adapts its own step size and mass matrix, so chains stay independent and
need no communication across devices), then draws, all inside ``lax.scan`` over
``vmap``-ed chains. Draws are computed in chunks of one compiled scan, so the progress bar
advances without recompiling; draw ``i`` of chain ``c`` uses the key
``fold_in(fold_in(fold_in(key_chains, c), 1), i)``, so the draws do not depend on the
chunking, on ``progress``, on the number of chains beside it or on the devices (up to
floating-point rounding, which XLA may do differently for another per-device batch;
adaptation can amplify it over a long warm-up).

Particle samplers (annealed Langevin, reverse diffusion) turn each chain's noise into
one independent draw; their :class:`Chains` hold ``(1, n_particles, d)``, one "chain" of
``n_particles`` independent draws, with ``particles=True`` so diagnostics treat them as
independent draws (ESS ``n``, no R-hat).

The model's arrays (a network's weights, a mixture's means) are runtime arguments of
every compiled function, shared by all chains: the sampler is built again inside the trace
from them, so the program does not depend on their values and XLA neither embeds them
nor constant-folds layers against them (seconds of compilation for a 128-wide network).

Non-finite scores or log densities never enter the draws: the offending step is
refused (or rejected), the draw is flagged ``diverging = True``, and a
:class:`NonFiniteWarning` names the chains.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._progress import progress_bar
from .._types import Batch, PRNGKey
from .._validate import positive_int
from ..chains import Chains
from ..errors import ConfigError, DataError, NonFiniteError
from . import _programs
from ._sharding import chain_layout, fetch, per_chain, put, replicate
from .base import Sampler, draw_stats, normal_prior
from .mean_free import MeanFreeCoordinates
from .mean_free import resolve as mean_free_coordinates
from .model import SamplingModel, check_output, sampling_model
from .registry import SamplerSpec, make_sampler

#: Progress updates aimed at per run (chunks of one compiled scan).
PROGRESS_CHUNKS = 20


class NonFiniteWarning(RuntimeWarning):
    """Some chain met a non-finite score or log density; its draws are flagged diverging."""


def run(
    sampler,
    key: PRNGKey,
    model=None,
    *,
    log_prob: Callable | None = None,
    score: Callable | None = None,
    noised_score: Callable | None = None,
    process=None,
    t_min: float = 0.0,
    initial_positions: Batch | Callable | None = None,
    n_chains: int | None = None,
    progress: bool = True,
    devices=None,
    mean_free=None,
) -> Chains:
    """Run ``sampler`` on ``model`` for many chains; return draws ``(chain, draw, d)``.

    Args:
        sampler: a :class:`SamplerSpec` from :func:`make_sampler`, a sampler name, or a
            BlackJAX ``SamplingAlgorithm`` (ours or BlackJAX's, model already bound; give
            ``initial_positions``).
        key: PRNG key; the same key gives the same draws (up to rounding) on any number
            of devices.
        model: an object with the role the sampler needs (see :mod:`scoresample.roles`):
            a target (``log_prob``, ``score``, ``noised``), a score network (its noised
            score and process), an energy network (``-energy(x, t_min)``).
        log_prob: a bare function ``x -> log p(x)`` (MALA, HMC, NUTS).
        score: a bare function ``x -> grad log p(x)`` (ULA).
        noised_score: a bare function ``(y, t) -> grad log p_t(y)`` (annealed Langevin,
            reverse diffusion), with ``process``.
        process: the noise process of a noised score, where the model does not carry it
            (a target's exact noised marginal, a bare function); a different one from the
            model's is an error.
        t_min: the time at which a time-conditioned model is read as a clean log density
            or score (MALA, HMC, NUTS, ULA on a network: ``log p = -E(y, t_min)``).
        initial_positions: ``(n_chains, d)`` starting points, or ``f(key, n) -> (n, d)``
            (e.g. ``target.sample``). Default: ``N(0, I)`` for Markov chains, the
            process's noise ``N(0, sigma_max^2 I)`` for particle samplers.
        n_chains: overrides the sampler's ``n_chains`` (and the rows of an array).
        progress: show a progress bar.
        devices: devices to shard chains over (default: all devices of all hosts).
        mean_free: sample a particle system in the zero-centre-of-mass subspace
            (:mod:`.mean_free`): None does so for a translation-invariant particle
            system (``dw4()``, ``lj13()``), False never, a
            :class:`~scoresample.samplers.mean_free.MeanFreeCoordinates` for a network
            (which does not know its target). Draws are then mean-free; adapted step
            sizes and mass matrices are those of the subspace's coordinates.

    Returns:
        :class:`Chains` with per-draw ``stats``, ``timing`` (compile, warm-up, sampling
        seconds) and ``settings`` (with the adapted per-chain step sizes and inverse
        mass matrices).

    Raises:
        ConfigError: the model lacks the role the sampler needs, a bare function was
            passed positionally, or two noise processes disagree.
        DataError: the model's output has the wrong shape, or the starting points do.

    Example:
        >>> from scoresample.targets import ncsn_toy
        >>> target = ncsn_toy()
        >>> spec = make_sampler("nuts", num_warmup=100, num_samples=200, n_chains=2)
        >>> chains = run(spec, jax.random.PRNGKey(0), target, initial_positions=target.sample,
        ...              progress=False)
        >>> chains.positions.shape
        (2, 200, 2)

        Any BlackJAX algorithm runs the same way:

        >>> import blackjax
        >>> mala = blackjax.mala(lambda x: -0.5 * x @ x, 0.5)
        >>> chains = run(make_sampler(mala, num_samples=100), jax.random.PRNGKey(1),
        ...              initial_positions=jnp.zeros((4, 3)), progress=False)
        >>> chains.positions.shape
        (4, 100, 3)
    """
    spec = sampler if isinstance(sampler, SamplerSpec) else make_sampler(sampler)
    if spec.algorithm is not None and (model, log_prob, score, noised_score) != (None,) * 4:
        raise ConfigError(
            "model",
            "is given, but a SamplingAlgorithm has its model bound already",
            "pass the algorithm with initial_positions only",
        )
    roles = sampling_model(
        model,
        log_prob=log_prob,
        score=score,
        noised_score=noised_score,
        process=process,
        t_min=t_min,
    )
    coordinates = mean_free_coordinates(model, mean_free)
    if coordinates is not None:
        roles = coordinates.restrict(roles)
        initial_positions = _reduced_start(initial_positions, coordinates)
    settings = dict(spec.settings)
    n = _chain_count(n_chains, initial_positions, settings)
    dim = _dimension(roles, initial_positions)
    if spec.role is not None:
        fn = roles.require(spec.role, spec.name)
        _programs.once(("check", spec.role, dim), fn, check_output, spec.role, dim, spec.name)
    key_start, key_chains = jax.random.split(key)
    warm_keys, sample_keys, wrap = _chain_keys(key_chains, n)
    runner = _Runner(spec, roles, dim, chain_layout(n, devices), wrap, progress)
    built = runner.sampler
    x0 = _initial_positions(initial_positions, built, key_start, n, dim)
    states, params, warmup_grads = runner.warm_up(warm_keys, x0)
    positions, stats = runner.sample(sample_keys, states, params, spec.name)
    _complete_stats(stats, fetch(runner.layout, params), built, settings.get("thinning", 1))
    _warn_non_finite(stats["non_finite"], spec.name)
    del stats["non_finite"]
    if coordinates is not None:
        positions = np.asarray(coordinates.expand(positions))
        dim = positions.shape[-1]
    if built.particles:
        positions = positions.reshape(1, n, dim)
        stats = {name: value.reshape(1, n) for name, value in stats.items()}
    report = {**settings, **(built.report or {}), **fetch(runner.layout, params)}
    report.update(n_chains=n, t_min=t_min, n_devices=runner.layout.n_devices)
    report["mean_free"] = coordinates is not None
    report["warmup_grad_evals"] = np.asarray(fetch(runner.layout, warmup_grads))
    names = list(roles.coordinate_names) if roles.coordinate_names else None
    return Chains(positions, stats, spec.name, runner.timing, report, names, built.particles)


def _chain_count(n_chains, initial_positions, settings) -> int:
    if n_chains is not None:
        return positive_int(n_chains, "n_chains")
    if initial_positions is not None and not callable(initial_positions):
        return len(initial_positions)
    return settings["n_chains"]


def _dimension(model: SamplingModel, initial_positions) -> int:
    dim = model.dim
    if dim is None and initial_positions is not None and not callable(initial_positions):
        dim = np.shape(initial_positions)[-1]
    if dim is None:
        raise ConfigError(
            "initial_positions",
            "the model has no dim, so the dimension is unknown",
            "pass initial_positions of shape (n_chains, d)",
        )
    return int(dim)


def _initial_positions(given, sampler: Sampler, key, n: int, dim: int) -> np.ndarray:
    """Starting points ``(n, dim)``: given, drawn by ``given(key, n)``, or the prior's."""
    if given is None:
        given = lambda k, m: (sampler.prior or normal_prior())(k, m, dim)  # noqa: E731
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


def _reduced_start(given, coordinates: MeanFreeCoordinates):
    """Starting points in the subspace's coordinates: given ``(n, n_particles *
    space_dim)`` positions, or a function drawing them, projected; None stays None."""
    if given is None:
        return None
    full = coordinates.n_particles * coordinates.space_dim
    if callable(given):
        return lambda key, n: np.asarray(coordinates.reduce(jnp.asarray(given(key, n))))
    if np.ndim(given) != 2 or np.shape(given)[1] != full:
        raise DataError(
            "initial_positions",
            f"has shape {np.shape(given)}, expected (n_chains, {full})",
            "pass one row per chain with the particle system's dimension",
        )
    return np.asarray(coordinates.reduce(jnp.asarray(given)))


@partial(jax.jit, static_argnums=1)
def _fold_chains(key, n: int):
    """``(warm, sample)`` keys of chain ``c``: ``fold_in(fold_in(key, c), 0 or 1)``."""
    chain = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    return tuple(jax.vmap(lambda k, j=j: jax.random.fold_in(k, j))(chain) for j in (0, 1))


def _chain_keys(key, n: int):
    """Per-chain warm-up and sampling keys as raw data, and ``wrap`` to rebuild keys."""
    warm, sample = _fold_chains(key, n)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        wrap = partial(jax.random.wrap_key_data, impl=jax.random.key_impl(key))
        data = [np.asarray(jax.random.key_data(k)) for k in (warm, sample)]
        return data[0], data[1], wrap
    return np.asarray(warm), np.asarray(sample), _raw_key


def _raw_key(raw):
    """Raw ``uint32`` key data are keys as they are."""
    return raw


def _reduce(name: str, values):
    """One statistic over the thinned steps of a draw."""
    if name == "n_grad_evals":
        return jnp.sum(values)
    if name in ("diverging", "non_finite"):
        return jnp.any(values)
    return jnp.mean(values) if name == "acceptance_rate" else values[-1]


def _thinned(step, thinning: int):
    """A draw: ``thinning`` kernel steps with their statistics reduced by :func:`_reduce`."""
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


class _Runner:
    """One run's phases over a chain layout, timing compilation and execution apart; its
    programs come from :mod:`._programs` when an equal run compiled them before."""

    def __init__(self, spec: SamplerSpec, model: SamplingModel, dim: int, layout, wrap, progress):
        self.build = partial(spec.build, dim=dim)
        self.sampler, self.layout, self.settings = self.build(model), layout, spec.settings
        self.wrap, self.progress = wrap, progress
        self.timing = {"compile": 0.0, "warmup": 0.0, "sampling": 0.0}
        arrays, self.model_rest = eqx.partition(model, eqx.is_array)
        self.model_arrays = replicate(layout, arrays)
        self.shared = replicate(layout, self.sampler.shared or {})
        self.sequential = _sequential(spec.settings.get("chain_method"), self.sampler)
        static = _programs.model_key(self.model_rest)
        self.pins = static[1] if static else ()
        self.key = None if static is None else (
            spec.trace_key, static[0], dim, layout.key, str(getattr(wrap, "keywords", "")),
            self.sequential,
        )  # fmt: skip

    def program(self, phase: str, fn: Callable, args: tuple, n_shared: int = 0):
        """The executable of ``fn(sampler, shared, *args)`` over chains, called as
        ``(*args, shared, model_arrays)``; the last ``n_shared`` of ``args`` are the same
        for every chain.

        The sampler is built inside the trace from the model's arrays, shared by all
        chains; its schedules and parameters are computed eagerly, exactly as on the
        host, so only the model's arrays are traced (and the shared arrays, which the
        algorithm takes as arguments).
        """
        build, rest = self.build, self.model_rest

        def with_sampler(*all_args):
            with jax.ensure_compile_time_eval():
                traced = build(eqx.combine(all_args[-1], rest))
            return fn(traced, all_args[-2], *all_args[:-2])

        def make():
            return per_chain(with_sampler, self.layout, n_shared + 2, self.sequential)

        key = None if self.key is None else (phase, self.key)
        full_args = (*args, self.shared, self.model_arrays)
        return _programs.compiled(key, make, full_args, self.timing, self.pins), full_args

    def execute(self, phase: str, fn: Callable, args: tuple, timing: str):
        compiled, full_args = self.program(phase, fn, args)
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(*full_args))
        self.timing[timing] += time.perf_counter() - start
        return out

    def check_initial(self, states) -> None:
        """Raise if a chain starts where the model is not finite."""
        bad = np.zeros(self.layout.n_chains, bool)
        for leaf in jax.tree.leaves(fetch(self.layout, states)):
            if np.issubdtype(leaf.dtype, np.floating):
                bad |= ~np.all(np.isfinite(leaf.reshape(self.layout.n_chains, -1)), axis=1)
        if bad.any():
            raise NonFiniteError(
                "initial_positions",
                f"chains {np.flatnonzero(bad)[:10].tolist()} start where the log density or "
                "score is not finite",
                "start the chains inside the support, where the model is finite",
            )

    def warm_up(self, keys, x0):
        """Initial states, then adaptation (or burn-in); returns ``(states, params,
        gradient evaluations per chain)``."""
        sampler, wrap, layout = self.sampler, self.wrap, self.layout
        x0 = put(layout, x0)
        broadcast = lambda p: np.broadcast_to(p, (layout.n_chains, *np.shape(p)))  # noqa: E731
        params = put(layout, jax.tree.map(broadcast, sampler.parameters))
        init = lambda traced, shared, x, p: traced.algorithm(**shared, **p).init(x)  # noqa: E731
        states = self.execute("init", init, (x0, params), "warmup")
        self.check_initial(states)
        num_warmup = self.settings.get("num_warmup", 0)
        if num_warmup == 0:
            return states, params, put(layout, np.zeros(layout.n_chains, np.int32))
        if sampler.warmup is not None:

            def adapt(traced, shared, key, x, p):
                return traced.warmup(wrap(key), x, p, num_warmup)

            phase, fn, args = ("warmup", num_warmup), adapt, (put(layout, keys), x0, params)
        else:
            fn = partial(_burn_in, wrap=wrap, num_steps=num_warmup)
            phase, args = ("burn-in", num_warmup), (put(layout, keys), states, params)
        with progress_bar(num_warmup, "warm-up", enabled=self.progress, unit="step") as bar:
            out = self.execute(phase, fn, args, "warmup")
            bar.update(num_warmup)
        return out

    def sample(self, keys, states, params, name: str):
        """Draws ``(n, num_samples, d)`` and stats ``(n, num_samples)`` as NumPy arrays."""
        num_samples = self.settings.get("num_samples", 1)
        size, n_chunks = _chunking(num_samples, self.progress)
        thinning, wrap = self.settings.get("thinning", 1), self.wrap

        def chunk(traced, shared, key, state, params, start):
            draw = _thinned(partial(_step, traced, shared), thinning)

            def one(state, draw_key):
                state, stats = draw(draw_key, state, params)
                return state, (state.position, stats)

            indices = start + jnp.arange(size)
            draw_keys = jax.vmap(lambda i: jax.random.fold_in(wrap(key), i))(indices)
            return jax.lax.scan(one, state, draw_keys)

        keys = put(self.layout, keys)
        args = (keys, states, params, np.int32(0))
        compiled, full_args = self.program(("sample", size), chunk, args, n_shared=1)
        shared = full_args[len(args) :]
        pieces = []
        with progress_bar(num_samples, name, enabled=self.progress, unit="draw") as bar:
            start = time.perf_counter()
            out = compiled(*full_args)
            for c in range(n_chunks):
                states, draws = out
                if c + 1 < n_chunks:  # dispatch the next chunk before fetching this one
                    out = compiled(keys, states, params, np.int32((c + 1) * size), *shared)
                pieces.append(fetch(self.layout, draws))
                bar.update(min(size, num_samples - c * size))
            self.timing["sampling"] += time.perf_counter() - start
        return _concatenate(pieces, num_samples)


def _sequential(chain_method: str | None, sampler: Sampler) -> bool:
    """Run a device's chains one by one: asked for, or ``"auto"`` for samplers whose
    steps vary in length (NUTS) on CPU, where vectorised chains wait for the slowest."""
    if chain_method in (None, "auto"):
        return sampler.variable_length and jax.default_backend() == "cpu"
    return chain_method == "sequential"


def _step(sampler: Sampler, shared: dict, key, state, params):
    """One step of the sampler's ``SamplingAlgorithm`` and its ArviZ statistics."""
    new_state, info = sampler.algorithm(**shared, **params).step(key, state)
    stats = draw_stats(new_state, info)
    if sampler.extra_stats is not None:
        stats.update(sampler.extra_stats(state, new_state, info, params))
    if sampler.grad_evals_per_step is None and "n_steps" in stats:
        stats["n_grad_evals"] = stats["n_steps"]
    return new_state, stats


def _burn_in(sampler: Sampler, shared: dict, key, state, params, *, wrap, num_steps: int):
    """Warm-up without adaptation: ``num_steps`` steps with fixed ``params``; returns
    ``(state, params, gradient evaluations)``."""

    def one(state, i):
        state, stats = _step(sampler, shared, jax.random.fold_in(wrap(key), i), state, params)
        return state, stats.get("n_grad_evals", jnp.int32(sampler.grad_evals_per_step or 0))

    state, grads = jax.lax.scan(one, state, jnp.arange(num_steps))
    return state, params, jnp.sum(grads).astype(jnp.int32)


def _concatenate(pieces, num_samples: int):
    """Chunks of ``(positions, stats)`` joined along the draw axis, padding dropped."""
    positions = np.concatenate([p[0] for p in pieces], axis=1)[:, :num_samples]
    stats = {
        name: np.concatenate([p[1][name] for p in pieces], axis=1)[:, :num_samples]
        for name in pieces[0][1]
    }
    return positions, stats


def _complete_stats(stats: dict, params: dict, sampler: Sampler, thinning: int) -> None:
    """Fold ``non_finite`` into ``diverging``; add the per-chain step size and a constant
    ``n_grad_evals`` (summed over the thinned steps), which the scan need not carry."""
    shape = stats["non_finite"].shape
    stats["diverging"] = stats.get("diverging", False) | stats["non_finite"]
    if "step_size" in params:
        stats["step_size"] = np.repeat(params["step_size"][:, None], shape[1], axis=1)
    if sampler.grad_evals_per_step is not None:
        stats["n_grad_evals"] = np.full(shape, sampler.grad_evals_per_step * thinning, np.int32)


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
