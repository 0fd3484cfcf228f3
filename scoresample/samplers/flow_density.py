"""The density of a learned diffusion sampler by its probability-flow ODE.

The probability-flow ODE of a noise process (Song et al. 2021, Sec. 4.3)

    dx/dt = v(x, t) = f(t) x - 1/2 g(t)^2 s(x, t)

carries the marginals ``p_t`` of the forward SDE when ``s`` is their score, and for any
``s`` its density obeys the instantaneous change of variables (Chen et al. 2018, Thm. 1;
Song et al. 2021, App. D.2)

    d log q_t(x_t) / dt = -div v(x_t, t),

so ``log q(x_0) = log pi(x_T) + int_{t_min}^{t_max} div v(x_t, t) dt``, with ``pi`` the
prior ``N(0, sigma(t_max)^2 I)`` that reverse diffusion also starts from. The divergence is
exact (the trace of the Jacobian, ``d`` JVPs) up to ``d = 64`` and Hutchinson's estimate
``eps^T (dv/dx) eps`` with one Rademacher probe per trajectory above (Grathwohl et al. 2019,
FFJORD), which makes ``log q`` unbiased rather than exact.

``q`` is the density of the ODE's pushforward of the prior. It is the law of the reverse
SDE's draws only when the score is exact, so importance weights against ``q``
(:mod:`.reweight`) are exact only for draws made by the ODE itself: :func:`flow_sample`
draws ``x_T ~ pi`` and integrates the ODE and its divergence backwards in one augmented
solve, giving each draw with its own ``log q``.

Particle systems live in their mean-free subspace (:mod:`.mean_free`): the prior, the ODE
and its divergence live in the ``(n - 1) d`` orthonormal coordinates, and ``log q`` is a
density there, as the target's ``log_prob`` restricted to the subspace is.

References:
    Song et al. (2021), Score-based generative modeling through stochastic differential
    equations, ICLR, Sec. 4.3, Eq. (13), App. D.2; Chen et al. (2018), Neural ordinary
    differential equations, NeurIPS; Grathwohl et al. (2019), FFJORD, ICLR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import PRNGKey
from ..errors import ConfigError, DataError
from ..noise import NoiseProcess
from ._process import time_range
from .mean_free import resolve as resolve_mean_free
from .model import sampling_model

#: ``divergence="auto"`` is exact up to this dimension and Hutchinson's above.
EXACT_MAX_DIM = 64
DIVERGENCES = ("auto", "exact", "hutchinson")


class FlowDensity(NamedTuple):
    """Draws at ``t_min`` with ``log_prob = log q`` (in the mean-free subspace's coordinates
    for particle systems), their ends ``x_T`` at ``t_max`` (in the ODE's coordinates), the
    prior's ``log pi(x_T)``, solver steps per trajectory and the divergence used.

    Each step (accepted or rejected) evaluates the field six times (Tsit5, first stage
    same as last), each a linearised score: ``d`` JVPs for the exact divergence, one for
    Hutchinson's."""

    draws: Float[Array, "n D"]
    log_prob: Float[Array, " n"]
    ends: Float[Array, "n d"]
    log_prior: Float[Array, " n"]
    n_steps: Array
    divergence: str


class _Flow(eqx.Module):
    """The augmented field ``(v(x, t), div v(x, t))`` of one trajectory (``args`` = probe)."""

    score_fn: Callable
    process: NoiseProcess
    exact: bool = eqx.field(static=True)

    def velocity(self, x, t):
        g2 = self.process.diffusion_squared(t)
        return self.process.drift(t) * x - 0.5 * g2 * self.score_fn(x, t)

    def __call__(self, t, state, probe):
        velocity, tangent = jax.linearize(lambda y: self.velocity(y, t), state[0])
        if self.exact:  # tr(J) = sum_i e_i^T J e_i
            divergence = jnp.trace(jax.vmap(tangent)(jnp.eye(probe.shape[0], dtype=probe.dtype)))
        else:  # Hutchinson: E[eps^T J eps] = tr(J) for Rademacher eps
            divergence = jnp.dot(probe, tangent(probe))
        return velocity, divergence


class _Solver(eqx.Module):
    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)


def _solve(flow, solver, x, probe, t0, t1):
    """``(x_{t1}, int_{t0}^{t1} div v dt, success, steps)`` by Tsit5 with a PID controller."""
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(flow),
        diffrax.Tsit5(),
        t0,
        t1,
        None,
        (x, jnp.zeros((), x.dtype)),
        probe,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=diffrax.PIDController(rtol=solver.rtol, atol=solver.atol),
        max_steps=solver.max_steps,
        throw=False,
    )
    end, integral = solution.ys[0][0], solution.ys[1][0]
    return end, integral, solution.result == diffrax.RESULTS.successful, solution.stats["num_steps"]


@eqx.filter_jit
def _transport(flow, solver, xs, probes, t0, t1):
    return jax.vmap(lambda x, probe: _solve(flow, solver, x, probe, t0, t1))(xs, probes)


def _in_chunks(fn, xs, probes, chunk_size: int):
    """``fn`` over rows in chunks of one size (the last padded), so it compiles once."""
    n = xs.shape[0]
    size = min(n, chunk_size)
    pad = (-n) % size
    xs, probes = (jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) for a in (xs, probes))
    outs = [fn(xs[i : i + size], probes[i : i + size]) for i in range(0, n + pad, size)]
    return jax.tree.map(lambda *parts: jnp.concatenate(parts)[:n], *outs)


@jax.jit
def _prior_log_prob(ends, sigma) -> jax.Array:
    """``log N(x_T; 0, sigma^2 I)`` of each row."""
    dim = ends.shape[-1]
    return -0.5 * jnp.sum(ends**2, axis=-1) / sigma**2 - 0.5 * dim * jnp.log(2 * jnp.pi * sigma**2)


def choose_divergence(divergence: str, dim: int) -> str:
    """``"exact"`` or ``"hutchinson"``: ``"auto"`` is exact up to ``EXACT_MAX_DIM``."""
    if divergence not in DIVERGENCES:
        raise ConfigError("divergence", f"is {divergence!r}", f"choose one of {DIVERGENCES}")
    if divergence == "auto":
        return "exact" if dim <= EXACT_MAX_DIM else "hutchinson"
    return divergence


def _setup(score_model, noised_score, process, mean_free, divergence, dim, t_min, t_max):
    """The ODE's field, time range and coordinates, from the arguments of the public API."""
    model = sampling_model(score_model, noised_score=noised_score, process=process)
    score_fn = model.require("noised_score", "the probability-flow ODE")
    coordinates = resolve_mean_free(score_model, mean_free)
    if coordinates is not None:
        if dim != coordinates.n_particles * coordinates.space_dim:
            raise DataError(
                "mean_free",
                f"has {coordinates.n_particles} x {coordinates.space_dim} coordinates but the "
                f"positions have dimension {dim}",
                "pass the particle system's MeanFreeCoordinates(n_particles, space_dim)",
            )
        score_fn = coordinates.restrict(model).noised_score
        dim = coordinates.dim
    exact = choose_divergence(divergence, dim) == "exact"
    t_max, t_min = time_range(model.process, t_max, t_min)
    return _Flow(score_fn, model.process, exact), (t_min, t_max), coordinates


def _run(flow, key, xs, t0, t1, solver, chunk_size):
    """Solve every row from ``t0`` to ``t1``; a ConfigError if a solve did not finish."""
    probes = jax.random.rademacher(key, xs.shape, dtype=xs.dtype)
    t0, t1 = jnp.asarray(t0, xs.dtype), jnp.asarray(t1, xs.dtype)  # one compile both ways
    fn = lambda x, p: _transport(flow, solver, x, p, t0, t1)  # noqa: E731
    ends, integrals, ok, steps = _in_chunks(fn, xs, probes, chunk_size)
    if not bool(jnp.all(ok)):
        raise ConfigError(
            "max_steps",
            f"{int(jnp.sum(~ok))} of {xs.shape[0]} probability-flow solves did not finish "
            f"in {solver.max_steps} steps",
            "raise max_steps, or loosen rtol/atol (a rough score makes the ODE stiff)",
        )
    return ends, integrals, steps


def flow_log_density(
    key: PRNGKey,
    draws,
    score_model=None,
    *,
    noised_score: Callable | None = None,
    process: NoiseProcess | None = None,
    t_min: float | None = None,
    t_max: float | None = None,
    divergence: str = "auto",
    mean_free=None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    max_steps: int = 4096,
    chunk_size: int = 1024,
) -> FlowDensity:
    """``log q(x_0)`` of the probability-flow ODE's pushforward of the prior, at ``draws``.

    ``log q(x_0) = log N(x_T; 0, sigma(t_max)^2 I) + int_{t_min}^{t_max} div v(x_t, t) dt``,
    integrating ``dx/dt = f x - 1/2 g^2 s`` forwards from each draw at ``t_min``. This is
    the density of the probability-flow sampler (:func:`flow_sample`); it is that of a
    reverse-SDE sampler only when the score is exact.

    Args:
        key: PRNG key (Hutchinson's probes, one per trajectory).
        draws: ``(n, D)`` positions at ``t_min``.
        score_model: a score network or a target with a closed-form noised marginal (or
            give ``noised_score=`` with ``process=``).
        t_min, t_max: the ODE's ends; default as reverse diffusion's (``(0.001, 0.999)``
            for VP, ``(0, 1)`` for VE).
        divergence: ``"exact"``, ``"hutchinson"`` or ``"auto"`` (exact up to dimension 64).
        mean_free: as in :func:`~scoresample.samplers.run`; a network needs
            ``MeanFreeCoordinates`` to work in a particle system's subspace.
        rtol, atol, max_steps: Tsit5's PID step-size controller (diffrax).
        chunk_size: trajectories solved at once.

    Returns:
        :class:`FlowDensity` (its ``draws`` are ``draws``).

    Example:
        >>> flow_log_density(key, xs, targets.Gaussian(m, c), process=VP()).log_prob
    """
    draws = jnp.asarray(draws, dtype=float)
    if draws.ndim != 2:
        raise DataError("draws", f"has shape {draws.shape}", "pass positions of shape (n, d)")
    flow, (t0, t1), coordinates = _setup(
        score_model, noised_score, process, mean_free, divergence, draws.shape[1], t_min, t_max
    )
    xs = draws if coordinates is None else coordinates.reduce(draws)
    ends, integrals, steps = _run(flow, key, xs, t0, t1, _Solver(rtol, atol, max_steps), chunk_size)
    log_prior = _prior_log_prob(ends, flow.process.sigma(t1))
    kind = "exact" if flow.exact else "hutchinson"
    return FlowDensity(draws, log_prior + integrals, ends, log_prior, steps, kind)


def flow_sample(
    key: PRNGKey,
    n: int,
    score_model=None,
    *,
    dim: int | None = None,
    noised_score: Callable | None = None,
    process: NoiseProcess | None = None,
    t_min: float | None = None,
    t_max: float | None = None,
    divergence: str = "auto",
    mean_free=None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    max_steps: int = 4096,
    chunk_size: int = 1024,
) -> FlowDensity:
    """``n`` draws of the probability-flow sampler, each with its exact ``log q``.

    ``x_T ~ N(0, sigma(t_max)^2 I)``, then ``(x, l)`` solves ``dx/dt = f x - 1/2 g^2 s``,
    ``dl/dt = div v`` backwards to ``t_min`` from ``l = 0``, so that
    ``log q(x_0) = log pi(x_T) - l(t_min)``: the proper pairing of draws and density for
    importance sampling (exact with ``divergence="exact"``, unbiased with Hutchinson's).
    The draws are the ODE's state at ``t_min``, without reverse diffusion's final Tweedie
    denoising (a map whose Jacobian would enter ``log q``); the weights correct for
    ``t_min > 0`` as for any other difference between ``q`` and the target.

    Args:
        key: PRNG key.
        n: number of draws.
        score_model: and ``noised_score``, ``process``, ``t_min``, ``t_max``,
            ``divergence``, ``mean_free``, ``rtol``, ``atol``, ``max_steps``,
            ``chunk_size``: as in :func:`flow_log_density`.
        dim: dimension of positions, where the score model does not know it.

    Returns:
        :class:`FlowDensity`: full-space ``draws`` at ``t_min`` (mean-free for particle
        systems) and their ``log_prob``.

    Example:
        >>> flow = flow_sample(key, 1000, network)   # a trained ScoreNetwork
        >>> flow.draws, flow.log_prob
    """
    dim = dim if dim is not None else getattr(score_model, "dim", None)
    if dim is None:
        raise ConfigError("dim", "is unknown for this score model", "pass dim=...")
    flow, (t0, t1), coordinates = _setup(
        score_model, noised_score, process, mean_free, divergence, int(dim), t_min, t_max
    )
    width = int(dim) if coordinates is None else coordinates.dim
    prior_key, probe_key = jax.random.split(key)
    sigma = flow.process.sigma(t1)
    ends = sigma * jax.random.normal(prior_key, (n, width))
    xs, integrals, steps = _run(
        flow, probe_key, ends, t1, t0, _Solver(rtol, atol, max_steps), chunk_size
    )
    log_prior = _prior_log_prob(ends, sigma)
    draws = xs if coordinates is None else coordinates.expand(xs)
    kind = "exact" if flow.exact else "hutchinson"
    return FlowDensity(draws, log_prior - integrals, ends, log_prior, steps, kind)
