"""Explicit score matching (ESM) against a known noised score, and score-error metrics.

``ESM = 1/2 |s(y, t) - grad log p_t(y)|^2`` at ``y = alpha x + sigma eps``: the Fisher
divergence itself, computable when the noised marginal is closed form (Gaussian
mixtures). For tests and benchmarks: ESM of the exact noised score is 0.

KDE-ESM (:func:`kde_esm`) is ESM against a Gaussian kernel density estimate of the data
in place of the unknown density: the KDE is a mixture, so its noised score is exact.

References:
    Hyvarinen (2005), JMLR, Eq. 2; Vincent (2011), Neural Computation (J_ESM).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ..noise import NoiseProcess
from ..targets import ExactNoisedScore
from ..targets.kde import kde
from ._base import LossOutput, Objective, perturb, regression


class ESM(Objective):
    """Explicit score matching against ``noised_score(y, t)``; aux ``norm`` and ``fitting``.

    Args:
        process: the noise process.
        noised_score: the exact score of the noised marginal, e.g.
            :class:`scoresample.targets.ExactNoisedScore`.
        weighting: ``lambda(process, t)`` (default ``sigma^2``; uniform at a ``FixedLevel``).

    Example:
        >>> loss = ESM(process, ExactNoisedScore(target, process))
    """

    noised_score: ScoreFn

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        y, _, _, _ = perturb(self.process, x, t, key)
        return regression(score_fn(y, t), self.noised_score(y, t))


def kde_esm(process: NoiseProcess, data, bandwidth: str | float = "scott", **options) -> ESM:
    """ESM against the noised score of a Gaussian KDE of ``data`` (``(m, d)``): at noise
    ``(alpha, sigma)`` the KDE ``(1/m) sum_k N(x_k, h^2 I)`` becomes
    ``(1/m) sum_k N(alpha x_k, (alpha^2 h^2 + sigma^2) I)``, whose score the network
    regresses on. ``bandwidth``: ``"scott"``, ``"silverman"`` or ``h``
    (:func:`scoresample.targets.kde_bandwidth`); ``options`` go to :class:`ESM`
    (``weighting``). Each loss evaluation costs ``m`` kernel evaluations per point.

    Example:
        >>> loss = kde_esm(FixedLevel(0.1), x, bandwidth="silverman")
    """
    return ESM(process, ExactNoisedScore(kde(data, bandwidth), process), **options)


class ScoreError(NamedTuple):
    """Fisher divergence ``E|s - s_t|^2`` and its ratio to ``E|s_t|^2`` under ``p_t``."""

    fisher: float
    relative: float


def score_error(
    score_fn: ScoreFn, target, process: NoiseProcess, t: float, key: PRNGKey, n: int = 4096
) -> ScoreError:
    """Fisher divergence of ``score_fn`` from the exact noised score at time ``t``.

    ``fisher = E_{y ~ p_t} |s(y, t) - grad log p_t(y)|^2`` and
    ``relative = fisher / E |grad log p_t(y)|^2``, from ``n`` exact draws of ``p_t``.
    Blind to the relative weights of separated modes (see DESIGN.md); report it beside a
    sample-based metric when judging samples.

    Example:
        >>> score_error(model, ncsn_toy(), VE(0.01, 10.0), t=0.0, key=key).relative
    """
    noised = target.noised(process.alpha(t), process.sigma(t))
    fisher, scale = _fisher_and_scale(score_fn, noised, noised.sample(key, n), jnp.asarray(t))
    return ScoreError(float(fisher), float(fisher / scale))


@eqx.filter_jit
def _fisher_and_scale(score_fn, noised, ys, t):
    """``E|s(y, t) - s_t(y)|^2`` and ``E|s_t(y)|^2`` over the draws ``ys``."""
    model = jax.vmap(lambda y: score_fn(y, t))(ys)
    exact = jax.vmap(noised.score)(ys)
    return jnp.mean(jnp.sum((model - exact) ** 2, axis=1)), jnp.mean(jnp.sum(exact**2, axis=1))
