"""Objectives built from objectives: averaging over noise draws, and recording another's terms.

Both keep the Objective contract (``loss(score_fn, x, t, key) -> (value, aux)``) and the
wrapped objective's process, weighting and data needs, so ``fit`` trains them unchanged.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Position, PRNGKey, Scalar, ScoreFn
from ._base import LossOutput, Objective


class _Wrapper(eqx.Module):
    """Forwards ``process``, ``weighting`` and ``needs_scores`` to ``objective``."""

    objective: Objective

    @property
    def process(self):
        return self.objective.process

    @property
    def weighting(self):
        return self.objective.weighting

    @property
    def needs_scores(self) -> bool:
        return self.objective.needs_scores


class NoiseAveraged(_Wrapper):
    """``objective`` averaged over ``n`` independent noise draws of the same example.

    ``L_n(x) = (1/n) sum_i L(x; eps_i)``: the same expectation as ``L``, with the variance
    over the noise divided by ``n``. Artemev et al. (2024) train DSM with 500 noise draws per
    data point to separate DSM's noise variance from its data variance:
    ``NoiseAveraged(dsm_s(process), 500)``.

    Example:
        >>> averaged = NoiseAveraged(DSM(VE(0.01, 1.0)), 16)
    """

    n: int = eqx.field(static=True)

    def __check_init__(self):
        if self.n < 1:
            raise ValueError(f"NoiseAveraged: n = {self.n}; give the number of draws, n >= 1")

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        draws = jax.random.split(key, self.n)
        values, aux = jax.vmap(lambda k: self.objective(score_fn, x, t, k))(draws)
        return jnp.mean(values), {name: jnp.mean(term) for name, term in aux.items()}


class Recording(_Wrapper):
    """Train on ``objective``; record ``watched``'s terms as ``<prefix>_<term>`` in ``aux``.

    The value (and so the gradient) is ``objective``'s alone; ``watched`` costs one more
    evaluation per example and appears in ``fit``'s history, e.g. the DSM-S fitting term of
    an ISM-trained model (Artemev et al. 2024, Fig. 1):
    ``Recording(ISM(process), dsm_s(process), "dsm")``.

    Example:
        >>> recording = Recording(ISM(VE(0.01, 1.0)), dsm_s(VE(0.01, 1.0)), "dsm")
    """

    watched: Objective
    prefix: str = eqx.field(static=True)

    def __check_init__(self):
        if self.objective.needs_scores != self.watched.needs_scores:
            raise ValueError(
                "Recording: one objective needs the data's exact scores and the other does "
                "not; bind clean_score=target.score on the one that needs them"
            )

    def __call__(self, score_fn: ScoreFn, x: Position, t: Scalar, key: PRNGKey) -> LossOutput:
        key_train, key_watch = jax.random.split(key)
        value, aux = self.objective(score_fn, x, t, key_train)
        _, watched = self.watched(score_fn, x, t, key_watch)
        watched = jax.lax.stop_gradient(watched)
        return value, aux | {f"{self.prefix}_{name}": term for name, term in watched.items()}
