"""Importance reweighting of a learned diffusion sampler by the exact energy.

Draws of the learned probability-flow ODE come with their exact log density ``log q``
(:mod:`.flow_density`); weights ``w = exp(log p~(x) - log q(x))`` by the target's
unnormalised ``log p~`` make them exact in expectation: ``Z ~ mean(w)``,
``E_p[h] ~ sum w h / sum w``, and the Kish effective sample size ``(sum w)^2 / sum w^2``
says how many exact draws the weighted set is worth (Noé et al. 2019, Boltzmann
generators; Kish 1965). Unlike :func:`~scoresample.samplers.refine`, reweighting corrects
wrong mode weights, at the price of the learned density: where ``q`` misses mass of the
target, no weight brings it back, and the ESS says so.

Kish's ESS and the delta-method standard error of ``log Z`` are themselves moments of the
weights, and they cannot see a tail that the draws have not reached: when one weight
dominates, the standard error is about 1 whatever the true error. The Pareto ``k``-hat of
the largest weights (PSIS, Vehtari et al. 2024) can: above ``min(1 - 1 / log10 n, 0.7)``
the estimates are unreliable, and :func:`reweight` warns.

References:
    Noé et al. (2019), Boltzmann generators, Science 365; Kish (1965), Survey Sampling,
    Wiley; Owen (2013), Monte Carlo theory, methods and examples, Ch. 9; Vehtari, Simpson,
    Gelman, Yao, Gabry (2024), Pareto smoothed importance sampling, JMLR 25(72).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._types import PRNGKey
from ..errors import ConfigError, NonFiniteError
from ..roles import LogDensityModel
from .flow_density import flow_sample
from .mean_free import resolve as resolve_mean_free


def importance_weights(log_target, log_q) -> jax.Array:
    """Self-normalised weights ``w_i / sum_j w_j`` with ``log w = log p~ - log q``."""
    return jax.nn.softmax(jnp.asarray(log_target) - jnp.asarray(log_q))


def pareto_khat_threshold(n: int) -> float:
    """``min(1 - 1 / log10(n), 0.7)``: the largest Pareto ``k``-hat at which ``n``
    importance-weighted draws give a reliable estimate (Vehtari et al. 2024, Sec. 3.2.4)."""
    return float(min(1.0 - 1.0 / np.log10(n), 0.7))


@jax.jit
def _log_kish_ess(log_w):
    return 2 * jax.nn.logsumexp(log_w) - jax.nn.logsumexp(2 * log_w)


def kish_ess(log_w) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` from log weights (Kish 1965);
    between 1 and ``n`` (clipped to ``n`` against rounding)."""
    log_w = jnp.asarray(log_w)
    return min(float(np.exp(_log_kish_ess(log_w))), float(log_w.shape[0]))


class LogNormaliser(NamedTuple):
    """``log Z`` estimate, its delta-method standard error and a bootstrap 95% interval."""

    estimate: float
    stderr: float
    interval: tuple[float, float]


@jax.jit
def _bootstrap(log_w, keys):
    n = log_w.shape[0]
    one = lambda k: jax.nn.logsumexp(log_w[jax.random.randint(k, (n,), 0, n)])  # noqa: E731
    return jax.lax.map(one, keys) - jnp.log(n)


def log_normaliser(log_w, key: PRNGKey, n_bootstrap: int = 1000) -> LogNormaliser:
    """``log Z ~ logsumexp(log w) - log n`` with its standard error and bootstrap interval.

    ``Z = E_q[w]``; the delta method gives ``se(log Z) = sd(w) / (mean(w) sqrt(n))
    = sqrt((n / ESS - 1) / (n - 1))``. The interval is the 2.5 and 97.5 percentiles of
    ``n_bootstrap`` resampled estimates (Efron & Tibshirani 1993, percentile interval).
    """
    log_w = jnp.asarray(log_w)
    n = log_w.shape[0]
    estimate = float(jax.nn.logsumexp(log_w) - np.log(n))
    stderr = float(np.sqrt(max(n / kish_ess(log_w) - 1.0, 0.0) / max(n - 1, 1)))
    boot = np.asarray(_bootstrap(log_w, jax.random.split(key, n_bootstrap)))
    low, high = np.percentile(boot, [2.5, 97.5])
    return LogNormaliser(estimate, stderr, (float(low), float(high)))


class Reweighted(eqx.Module):
    """Draws of a learned sampler with importance weights by the exact (unnormalised)
    target: ``log_weights = log p~ - log q``, Kish's ESS, ``log Z`` with its standard
    error and bootstrap 95% interval, and the weights' Pareto ``k``-hat (``reliable``
    when at most :func:`pareto_khat_threshold`).
    ``divergence`` says how ``log q`` was computed."""

    draws: Float[Array, "n D"]
    log_weights: Float[Array, " n"]
    log_q: Float[Array, " n"]
    ess: float
    ess_fraction: float
    log_z: float
    log_z_stderr: float
    log_z_interval: tuple[float, float]
    divergence: str = eqx.field(static=True)
    pareto_k: float

    @property
    def reliable(self) -> bool:
        """Whether the Pareto ``k``-hat is at most ``min(1 - 1 / log10 n, 0.7)``: above it
        ``log Z``, its standard error and weighted means are not to be trusted."""
        return self.pareto_k <= pareto_khat_threshold(self.draws.shape[0])

    @property
    def weights(self) -> jax.Array:
        """Self-normalised weights, summing to one."""
        return jax.nn.softmax(self.log_weights)

    def _values(self, f):
        return self.draws if f is None else jax.vmap(f)(self.draws)

    def weighted_mean(self, f: Callable | None = None) -> jax.Array:
        """``sum_i w_i f(x_i)`` (``f`` of one position; the identity by default)."""
        return jnp.tensordot(self.weights, self._values(f), axes=1)

    def weighted_stderr(self, f: Callable | None = None) -> jax.Array:
        """Delta-method standard error ``sqrt(sum_i w_i^2 (f(x_i) - mean)^2)`` of the
        self-normalised mean (Owen 2013, Monte Carlo theory, Eq. 9.8)."""
        values = self._values(f)
        centred = values - jnp.expand_dims(self.weighted_mean(f), 0)
        return jnp.sqrt(jnp.tensordot(self.weights**2, centred**2, axes=1))

    def resample(self, key: PRNGKey, n: int | None = None, method: str = "systematic"):
        """``n`` equally weighted draws (default as many as there are): ``"systematic"``
        (one uniform, stratified) or ``"multinomial"`` resampling."""
        n = self.draws.shape[0] if n is None else n
        if method == "multinomial":
            index = jax.random.choice(key, self.draws.shape[0], (n,), p=self.weights)
        elif method == "systematic":
            points = (jax.random.uniform(key) + jnp.arange(n)) / n
            index = jnp.searchsorted(jnp.cumsum(self.weights), points)
            index = jnp.minimum(index, self.draws.shape[0] - 1)
        else:
            raise ConfigError("method", f"is {method!r}", "use 'systematic' or 'multinomial'")
        return self.draws[index]


@eqx.filter_jit
def _log_weights(target, draws, log_q):
    return jax.vmap(target.log_prob)(draws) - log_q


def reweight(
    key: PRNGKey,
    score_model,
    target,
    n: int,
    *,
    n_bootstrap: int = 1000,
    mean_free=None,
    warn: bool = True,
    **flow,
) -> Reweighted:
    """``n`` probability-flow draws of ``score_model`` weighted by ``target.log_prob``.

    ``log w = log p~(x) - log q(x)`` with ``q`` from :func:`flow_sample`;
    ``Z ~ mean(w)``, ``E_p[h] ~ sum w h / sum w``.

    Args:
        key: PRNG key.
        score_model: a score network (or a target with a noised marginal, with
            ``process=``).
        target: the exact target, with a (possibly unnormalised) ``log_prob``.
        n: number of draws.
        n_bootstrap: bootstrap resamples of the ``log Z`` interval.
        mean_free: as in :func:`~scoresample.samplers.run`; a particle target is
            reweighted in its mean-free subspace by default.
        warn: whether to warn (RuntimeWarning) when the weights' Pareto ``k``-hat says
            the estimates are unreliable (``Reweighted.reliable``).
        **flow: settings of :func:`flow_sample` (``process``, ``t_min``, ``divergence``,
            ``rtol``, ...).

    Returns:
        :class:`Reweighted`.

    Example:
        A target whose noised marginals are exact stands in for a trained network
        (``reweight(key, network, target, n)``): its flow is exact, so the weights are
        equal and ``log Z`` is the target's, 0.

        >>> from scoresample.noise import VP
        >>> from scoresample.targets import ncsn_toy
        >>> target = ncsn_toy()
        >>> result = reweight(jax.random.PRNGKey(0), target, target, 500, process=VP())
        >>> bool(result.ess_fraction > 0.99), bool(abs(result.log_z) < 0.01), result.reliable
        (True, True, True)
        >>> result.resample(jax.random.PRNGKey(1)).shape
        (500, 2)
    """
    if not isinstance(target, LogDensityModel):
        raise ConfigError("target", "has no log_prob", "pass the exact target to reweight by")
    coordinates = resolve_mean_free(target, mean_free)
    flow_key, boot_key = jax.random.split(key)
    flow.setdefault("dim", getattr(target, "dim", None))
    drawn = flow_sample(flow_key, n, score_model, mean_free=coordinates or False, **flow)
    log_w = _log_weights(target, drawn.draws, drawn.log_prob)
    if bool(jnp.any(jnp.isnan(log_w))):
        raise NonFiniteError(
            "log_weights", "are NaN for some draws", "check the target's log_prob and the score"
        )
    from ..diagnostics.arviz import pareto_khat  # ArviZ on first use: seconds to import

    ess = kish_ess(log_w)
    log_z = log_normaliser(log_w, boot_key, n_bootstrap)
    result = Reweighted(
        drawn.draws,
        log_w,
        drawn.log_prob,
        ess,
        ess / n,
        log_z.estimate,
        log_z.stderr,
        log_z.interval,
        drawn.divergence,
        pareto_khat(log_w),
    )
    if warn:
        _warn_if_unreliable(result)
    return result


def unreliable_weights_message(pareto_k: float, n: int) -> str:
    """Why ``n`` importance weights whose Pareto ``k``-hat is above its threshold cannot be
    trusted, in words: ``reweight``'s warning and the report's."""
    return (
        f"the importance weights' Pareto k-hat is {pareto_k:.2f}, above "
        f"{pareto_khat_threshold(n):.2f} for {n} draws: log Z, its standard error, weighted "
        "means and resampled draws are unreliable (a few draws carry the weight); train the "
        "score longer or reweight more draws"
    )


def _warn_if_unreliable(result: Reweighted) -> None:
    """A RuntimeWarning where the weights' Pareto ``k``-hat is above its threshold."""
    if not result.reliable:
        message = unreliable_weights_message(result.pareto_k, result.draws.shape[0])
        warnings.warn(f"reweight: {message}", RuntimeWarning, stacklevel=3)
