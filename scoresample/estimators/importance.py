"""Importance-sampled score identities: the noised score from the energy alone.

For ``Y_t = alpha X + sigma W`` the posterior is ``p(x | y) ∝ p(x) N(y; alpha x, sigma^2 I)``,
and as a function of ``x``, ``N(y; alpha x, sigma^2 I) ∝ N(x; y / alpha, (sigma / alpha)^2 I)``.
With ``K`` proposals ``x_i ~ N(y / alpha, (sigma / alpha)^2 I)`` the self-normalised weights
are therefore ``w_i = p~(x_i) / sum_j p~(x_j)``: the unnormalised density (``exp(-E)``)
alone, computed from log densities by a softmax. Each identity of
:mod:`scoresample.estimators.posterior` becomes a weighted mean:

- TSI: ``grad log p_t(y) ~ sum_i w_i grad log p(x_i) / alpha`` (the estimator iDEM regresses
  on; at ``alpha = 1`` it is DEM's ``grad_y log (1/K sum_i exp(-E(y + sigma eps_i)))``);
- DSI: ``grad log p_t(y) ~ sum_i w_i (alpha x_i - y) / sigma^2``;
- kappa: ``kappa DSI + (1 - kappa) TSI``, each term with the same weights.

Self-normalised estimates are biased at ``O(1 / K)`` and consistent. Each estimate carries
its delta-method variance ``sum_i w_i^2 (h_i - mean)^2`` (Owen 2013, ch. 9) and Kish's
effective sample size ``1 / sum_i w_i^2``. DEM and iDEM clip the estimate's norm
(``max_norm``, their ``max_score_norm``): ``s min(1, max_norm / (|s| + 1e-6))``.

For a translation-invariant particle system (``MeanFree`` and ``ParticleSystem``) the
noise lives in the zero-centre-of-mass subspace, so the proposal noise is projected onto
it, and for mean-free ``y`` every term is mean-free.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3;
    Akhound-Sadegh et al. (2024), Iterated denoising energy matching, ICML;
    Owen (2013), Monte Carlo theory, methods and examples, ch. 9.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import Position, PRNGKey, Scalar
from .._validate import positive_int
from ..errors import ConfigError
from ..noise import NoiseProcess
from ..objectives.kappa import KappaFn
from ..samplers import mean_free
from .posterior import kappas_for, with_kappa_terms

#: DEM's and iDEM's guard against a zero norm when clipping.
_CLIP_EPSILON = 1e-6


class ImportanceEstimate(NamedTuple):
    """A self-normalised importance-sampling estimate of ``grad log p_t(y)``.

    Attributes:
        mean: the estimate ``(d,)``, ``sum_i w_i h_i`` (clipped if asked).
        variance: its per-coordinate delta-method variance ``sum_i w_i^2 (h_i - mean)^2``
            ``(d,)``, of the unclipped estimate.
        ess: Kish's effective sample size of the weights, ``1 / sum_i w_i^2``, in ``[1, K]``.
    """

    mean: Float[Array, " d"]
    variance: Float[Array, " d"]
    ess: Float[Array, ""]


def proposals(target, process: NoiseProcess, y: Position, t: Scalar, key: PRNGKey, k: int):
    """``k`` draws of ``N(y / alpha, (sigma / alpha)^2 I)``, in the mean-free subspace for a
    translation-invariant particle system; ``(k, d)``, in JAX's default float (integer
    positions included)."""
    y = jnp.asarray(y, dtype=float)
    alpha, sigma = process.alpha(t), process.sigma(t)
    coordinates = mean_free.of(target)
    if coordinates is None:
        noise = jax.random.normal(key, (k, y.shape[-1]), y.dtype)
    else:
        noise = coordinates.expand(jax.random.normal(key, (k, coordinates.dim), y.dtype))
    return y[None, :] / alpha + (sigma / alpha) * noise


def importance_terms(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    k: int,
    kappas: dict[str, KappaFn | float] | None = None,
) -> tuple[Float[Array, " k"], dict[str, Float[Array, "k d"]]]:
    """Self-normalised weights ``(k,)`` of ``k`` proposals and the per-proposal terms of each
    identity: ``{"dsi": (alpha x_i - y) / sigma^2, "tsi": grad log p(x_i) / alpha}`` and, per
    named kappa, ``kappa(t) dsi_i + (1 - kappa(t)) tsi_i``. The target needs only an
    unnormalised ``log_prob``: its gradient comes with its value from one autodiff pass."""
    alpha, sigma = process.alpha(t), process.sigma(t)
    xs = proposals(target, process, y, t, key, k)
    log_p, scores = jax.vmap(jax.value_and_grad(target.log_prob))(xs)
    weights = jax.nn.softmax(log_p)
    terms = {"dsi": (alpha * xs - y[None, :]) / sigma**2, "tsi": scores / alpha}
    return weights, with_kappa_terms(terms, kappas, t)


def clip_norm(score: Float[Array, " d"], max_norm: float | None) -> Float[Array, " d"]:
    """``score`` scaled down to norm ``max_norm`` where longer, as DEM and iDEM clip."""
    if max_norm is None:
        return score
    return score * jnp.minimum(1.0, max_norm / (jnp.linalg.norm(score) + _CLIP_EPSILON))


def _weighted(weights, values, max_norm) -> ImportanceEstimate:
    mean = weights @ values
    variance = (weights**2) @ (values - mean[None, :]) ** 2
    return ImportanceEstimate(clip_norm(mean, max_norm), variance, 1.0 / jnp.sum(weights**2))


@eqx.filter_jit
def importance_score_identities(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    k: int,
    kappas: dict[str, KappaFn | float] | None = None,
    max_norm: float | None = None,
) -> dict[str, ImportanceEstimate]:
    """DSI, TSI and kappa estimates of ``grad log p_t(y)`` from the same ``k`` importance-
    weighted proposals (the energy only: no samples of the target, no normaliser).

    Args:
        target: anything with an unnormalised ``log_prob`` (``-E``); its ``score`` is taken
            by autodiff with the log density, one pass per proposal.
        process: the noise process (``alpha(t)``, ``sigma(t)``).
        y: the noised position ``(d,)``.
        t: the time.
        key: PRNG key for the proposals.
        k: number of proposals (at least 2).
        kappas: named kappa weights, e.g. ``{"kappa_bar": kappa_bar(process, mixture)}``.
        max_norm: clip each estimate's norm to this (DEM / iDEM's ``max_score_norm``).

    Returns:
        ``{"dsi": ImportanceEstimate, "tsi": ..., <name>: ...}``.

    References:
        De Bortoli et al. (2024), Target score matching, Sec. 3; Akhound-Sadegh et al.
        (2024), iDEM.

    Example:
        >>> est = importance_score_identities(dw4(), VE(0.01, 3.0), y, 0.5, key, k=500)
        >>> est["tsi"].mean, est["tsi"].ess
    """
    if positive_int(k, "k") < 2:
        raise ConfigError("k", "is 1", "use at least 2 proposals")
    if max_norm is not None and not max_norm > 0:
        raise ConfigError("max_norm", f"is {max_norm}", "give a positive norm, or None")
    weights, terms = importance_terms(target, process, y, t, key, k, kappas)
    return {name: _weighted(weights, value, max_norm) for name, value in terms.items()}


def importance_score(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    k: int,
    identity: str = "tsi",
    kappa: KappaFn | float | None = None,
    max_norm: float | None = None,
) -> ImportanceEstimate:
    """One identity's importance-sampled estimate of ``grad log p_t(y)``: ``"dsi"``,
    ``"tsi"`` (iDEM's) or ``"kappa"`` (which needs ``kappa``). See
    :func:`importance_score_identities`.

    Example:
        >>> importance_score(target, process, y, t, key, 500, "kappa", kappa_bar(process, target))
    """
    kappas = kappas_for(identity, kappa)
    return importance_score_identities(target, process, y, t, key, k, kappas, max_norm)[identity]
