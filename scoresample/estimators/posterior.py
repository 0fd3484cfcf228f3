"""Monte Carlo score identities: the noised score at ``y`` from exact posterior draws.

For ``Y_t = alpha X + sigma W`` and ``x_1..x_m ~ p(x | y)`` (exact posterior draws):

- DSI (denoising score identity, Tweedie): ``grad log p_t(y) = E[(alpha X - y) / sigma^2 | y]``;
- TSI (target score identity): ``grad log p_t(y) = E[grad log p(X) | y] / alpha``;
- kappa: ``kappa DSI + (1 - kappa) TSI`` for any ``kappa`` (a constant or a function of
  ``t``), e.g. ``kappa_t = sigma^2 / (sigma^2 + alpha^2 sigma_data^2)``, which makes the
  estimator exact for Gaussian data, or kappa-bar for mixtures.

Each estimator averages its per-draw terms; its variance is the per-draw variance over
``m``. DSI's per-draw variance grows like ``1 / sigma^2`` as ``sigma -> 0`` while TSI's
stays bounded, and the reverse at high noise: the reason TSM beats DSM at low noise.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3;
    Efron (2011), Tweedie's formula and selection bias.
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
from ..objectives.kappa import KappaFn, kappa_value


class ScoreEstimate(NamedTuple):
    """A Monte Carlo estimate of ``grad log p_t(y)``.

    Attributes:
        mean: the estimate ``(d,)``, the average of ``m`` per-draw terms.
        variance: per-coordinate variance of ``mean`` ``(d,)``: the per-draw sample
            variance over ``m``; ``sum(variance)`` is its total variance.
    """

    mean: Float[Array, " d"]
    variance: Float[Array, " d"]


def identity_terms(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    m: int,
    kappas: dict[str, KappaFn | float] | None = None,
) -> dict[str, Float[Array, "m d"]]:
    """Per-draw terms of each identity from ``m`` exact draws of ``p(x | y)``.

    Returns ``{"dsi": (alpha x_j - y) / sigma^2, "tsi": grad log p(x_j) / alpha}`` and, for
    each named ``kappa``, ``kappa(t) dsi_j + (1 - kappa(t)) tsi_j``; every value ``(m, d)``.
    """
    if not hasattr(target, "posterior"):
        raise ConfigError(
            "target",
            f"{type(target).__name__} has no exact posterior p(x | y)",
            "use a Gaussian or a GaussianMixture target",
        )
    alpha, sigma = process.alpha(t), process.sigma(t)
    xs = target.posterior(y, alpha, sigma).sample(key, m)
    terms = {
        "dsi": (alpha * xs - y[None, :]) / sigma**2,
        "tsi": jax.vmap(target.score)(xs) / alpha,
    }
    return with_kappa_terms(terms, kappas, t)


def with_kappa_terms(terms: dict, kappas: dict[str, KappaFn | float] | None, t) -> dict:
    """``terms`` plus, for each named kappa, ``kappa(t) dsi + (1 - kappa(t)) tsi``."""
    for name, kappa in (kappas or {}).items():
        weight = kappa_value(kappa, t)
        terms[name] = weight * terms["dsi"] + (1.0 - weight) * terms["tsi"]
    return terms


def kappas_for(identity: str, kappa: KappaFn | float | None, prefix: str = "") -> dict | None:
    """Check a one-identity request (``"dsi"``, ``"tsi"`` or ``"kappa"`` with its
    ``kappa``) and give the ``kappas`` argument that computes it; errors name the fields
    ``<prefix>identity`` and ``<prefix>kappa``."""
    if identity not in ("dsi", "tsi", "kappa"):
        raise ConfigError(f"{prefix}identity", f"is {identity!r}", "choose 'dsi', 'tsi' or 'kappa'")
    if identity == "kappa" and kappa is None:
        raise ConfigError(f"{prefix}kappa", "is required by the kappa identity", "pass kappa=")
    return None if kappa is None else {"kappa": kappa}


@eqx.filter_jit
def score_identities(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    m: int,
    kappas: dict[str, KappaFn | float] | None = None,
) -> dict[str, ScoreEstimate]:
    """DSI, TSI and kappa estimates of ``grad log p_t(y)`` from the same ``m`` posterior draws.

    Args:
        target: a target with ``posterior(y, alpha, sigma)`` returning an exact sampler
            (Gaussian, GaussianMixture) and ``score``.
        process: the noise process.
        y: the noised position ``(d,)``.
        t: the time.
        key: PRNG key for the posterior draws.
        m: number of posterior draws (at least 2, for the variance).
        kappas: named kappa weights, e.g. ``{"kappa_bar": kappa_bar(process, target)}``.

    Returns:
        ``{"dsi": ScoreEstimate, "tsi": ScoreEstimate, <name>: ScoreEstimate, ...}``.

    References:
        De Bortoli et al. (2024), Target score matching, Sec. 3.

    Example:
        >>> est = score_identities(target, VE(0.01, 10.0), y, 0.0, key, m=64)
        >>> est["tsi"].variance.sum() < est["dsi"].variance.sum()   # low noise
    """
    if positive_int(m, "m") < 2:
        raise ConfigError("m", "is 1", "use at least 2 posterior draws to estimate a variance")
    terms = identity_terms(target, process, y, t, key, m, kappas)
    return {
        name: ScoreEstimate(jnp.mean(value, axis=0), jnp.var(value, axis=0, ddof=1) / m)
        for name, value in terms.items()
    }


def estimate_score(
    target,
    process: NoiseProcess,
    y: Position,
    t: Scalar,
    key: PRNGKey,
    m: int,
    identity: str = "tsi",
    kappa: KappaFn | float | None = None,
) -> ScoreEstimate:
    """One identity's estimate of ``grad log p_t(y)``: ``"dsi"``, ``"tsi"`` or ``"kappa"``
    (which needs ``kappa``). See :func:`score_identities`.

    Example:
        >>> estimate_score(target, process, y, t, key, 256, "kappa", kappa_bar(process, target))
    """
    return score_identities(target, process, y, t, key, m, kappas_for(identity, kappa))[identity]
