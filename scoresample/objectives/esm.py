"""Explicit score matching (ESM) against a known noised score, and score-error metrics.

``ESM = 1/2 |s(y, t) - grad log p_t(y)|^2`` at ``y = alpha x + sigma eps``: the Fisher
divergence itself, computable when the noised marginal is closed form (Gaussian
mixtures). For tests and benchmarks: ESM of the exact noised score is 0.

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
