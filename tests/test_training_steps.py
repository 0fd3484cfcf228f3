"""One training step's arithmetic against hand computations: the weighted mean of the
loss and its aux terms, the gradient norm, plain SGD, the EMA recursion; which examples a
step sees; where chunks end; and each refusal of ``fit``, whole.

A one-parameter score ``s(y) = -a y`` on data that are all ones makes every step's
gradient exactly -1, so the parameter, the loss and the EMA follow closed recursions.
"""

import inspect
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import refusal_message

import scoresample.training as training
from scoresample.networks import ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import TSM, dsm_s
from scoresample.targets import ncsn_toy
from scoresample.training import DEFAULT_OPTIMIZER, fit

PROCESS = VE(0.05, 5.0)
ONES = jnp.ones((4, 1))
MODEL = ScoreMLP(2, hidden=8, depth=1, embed=4, key=jax.random.PRNGKey(2))
TARGET = ncsn_toy()
DATA = TARGET.sample(jax.random.PRNGKey(1), 16)


class Slope(eqx.Module):
    """``s(y) = -a y``."""

    a: jax.Array

    def __call__(self, y, t):
        return -self.a * y


def pull(score_fn, x, t, key):
    """``sum(s(x))``: ``-a`` on a one, so its gradient in ``a`` is -1."""
    return jnp.sum(score_fn(x, t)), {"t": t, "x0": x[0]}


pull.process = PROCESS


def weighted_pull(score_fn, x, t, key):
    return pull(score_fn, x, t, key)


weighted_pull.process = PROCESS
weighted_pull.weighting = lambda process, t: 2.0 + 3.0 * t


def train(objective=pull, data=ONES, a=0.37, **options):
    options = {
        "optimizer": optax.sgd(0.1),
        "steps": 5,
        "batch_size": None,
        "chunk_size": 2,
        "progress": False,
        "key": jax.random.PRNGKey(0),
        "times": 0.3,
    } | options
    return fit(Slope(jnp.asarray(a)), objective, data, **options)


def test_sgd_the_loss_the_gradient_norm_and_the_ema_follow_their_recursions():
    """``a_k = a_0 + 0.1 k``; the loss of step k is ``-a_(k-1)``; ``|grad| = 1``; the EMA
    ``e_k = decay e_(k-1) + (1 - decay) a_k`` from ``e_0 = a_0``."""
    a0, decay, steps = 0.37, 0.7, 5
    result = train(a=a0, ema_decay=decay, steps=steps)
    slopes = a0 + 0.1 * np.arange(steps + 1)
    np.testing.assert_allclose(result.history["loss"], -slopes[:-1], rtol=1e-6)
    np.testing.assert_allclose(result.history["grad_norm"], 1.0, rtol=1e-6)
    assert float(result.model.a) == pytest.approx(slopes[-1], rel=1e-6)
    ema = a0
    for slope in slopes[1:]:
        ema = decay * ema + (1 - decay) * slope
    assert float(result.ema_model.a) == pytest.approx(ema, rel=1e-6)
    assert result.steps == steps


def test_the_loss_and_aux_terms_are_means_weighted_by_the_objectives_weighting():
    """At the one time t = 0.3 the weight is 2 + 3 t = 2.9: the loss of step k is
    ``-2.9 a_(k-1)`` and the aux term t is recorded as 2.9 x 0.3."""
    result = train(objective=weighted_pull, a=0.37, steps=3, optimizer=optax.sgd(0.0))
    np.testing.assert_allclose(result.history["loss"], -2.9 * 0.37, rtol=1e-6)
    np.testing.assert_allclose(result.history["t"], 2.9 * 0.3, rtol=1e-6)
    np.testing.assert_allclose(result.history["grad_norm"], 2.9, rtol=1e-6)


@pytest.mark.parametrize("batch_size", [None, 6, 100])
def test_a_batch_as_large_as_the_data_is_the_data_every_step(batch_size):
    data = jnp.arange(12.0).reshape(6, 2)
    result = train(data=data, batch_size=batch_size, optimizer=optax.sgd(0.0))
    np.testing.assert_allclose(result.history["x0"], np.mean(np.arange(0.0, 12.0, 2)), rtol=1e-6)


def test_a_smaller_batch_is_drawn_with_replacement_from_every_row():
    data = jnp.arange(12.0).reshape(6, 2)
    batches = training._batches(data, with_scores=False, batch_size=5)
    assert batches.batch_size == 5
    drawn = [batches.draw(k)[0] for k in jax.random.split(jax.random.PRNGKey(1), 40)]
    rows = np.unique(np.concatenate(drawn)[:, 0])
    np.testing.assert_array_equal(rows, np.arange(0.0, 12.0, 2))
    result = train(data=data, batch_size=5, optimizer=optax.sgd(0.0))
    assert np.ptp(result.history["x0"]) > 0, "every step saw the same examples"


def test_clean_scores_reach_the_objective_from_pairs_and_from_a_target(key):
    """TSM needs them: from ``(samples, scores)`` with the full data or minibatches, and from
    a target's own ``score`` with fresh draws; an objective that does not need them gets
    the samples alone, as if no scores were given."""
    options = {"steps": 2, "key": key, "progress": False, "chunk_size": 2}
    pairs = (DATA, jax.vmap(TARGET.score)(DATA))
    for data, batch_size in ((pairs, None), (pairs, 8), (TARGET, 8)):
        result = fit(MODEL, TSM(PROCESS), data, batch_size=batch_size, **options)
        assert np.all(np.isfinite(result.history["loss"]))
    with_scores = fit(MODEL, dsm_s(PROCESS), pairs, batch_size=None, **options)
    alone = fit(MODEL, dsm_s(PROCESS), DATA, batch_size=None, **options)
    np.testing.assert_array_equal(with_scores.history["loss"], alone.history["loss"])


def test_chunks_end_at_multiples_of_the_chunk_size_and_the_checkpoint_interval():
    assert training._chunk_ends(7, 43, 10, 15) == [
        (10, False),
        (15, True),
        (20, False),
        (30, True),
        (40, False),
        (43, True),
    ]
    assert training._chunk_ends(0, 25, 10, None) == [(10, False), (20, False), (25, True)]
    assert training._chunk_ends(20, 25, 10, 5) == [(25, True)]
    assert training._chunk_ends(25, 25, 10, 5) == []


def test_a_non_finite_loss_or_gradient_names_the_step_and_the_checkpoint():
    records = {"loss": np.array([1.0, np.nan, 2.0]), "grad_norm": np.array([1.0, 2.0, 3.0])}
    path = Path("/runs/a/checkpoint.eqx")
    message = refusal_message(lambda: training._checked_records(records, 10, path))
    assert message == (
        "fit.loss: is nan (gradient norm 2.0) at step 11; the checkpoint in /runs/a is from "
        "before it; lower the learning rate, check the data, or down-weight the lowest noise "
        "levels"
    )
    records = {"loss": np.array([1.0, 2.0]), "grad_norm": np.array([1.0, np.inf])}
    message = refusal_message(lambda: training._checked_records(records, 0, None))
    assert message.startswith("fit.loss: is 2.0 (gradient norm inf) at step 1; lower ")


def test_finite_records_come_back_as_host_arrays():
    records = {"loss": jnp.array([1.0, 2.0]), "grad_norm": jnp.array([0.5, 0.25])}
    checked = training._checked_records(records, 0, None)
    assert all(isinstance(value, np.ndarray) for value in checked.values())


def no_process(score_fn, x, t, key):
    return jnp.sum(score_fn(x, t)), {}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda key: fit(MODEL, no_process, DATA, key=key),
            "fit.objective: has no noise process; build the objective with one, e.g. "
            "DSM(VE()), or the model, e.g. ScoreMLP(2, process=VE(), key=key)",
        ),
        (
            lambda key: fit(MODEL, dsm_s(PROCESS), TARGET, key=key, batch_size=None),
            "fit.batch_size: is None; give a batch size to draw from a target",
        ),
        (
            lambda key: fit(MODEL, TSM(PROCESS), (DATA, DATA[:10]), key=key),
            "data.scores: has shape (10, 2) but the samples have (16, 2); give one score per "
            "sample",
        ),
        (
            lambda key: fit(MODEL, TSM(PROCESS), DATA, key=key),
            "data: has no clean scores, which this objective needs; pass (samples, scores), a "
            "target with an exact sampler, or build the objective with "
            "clean_score=target.score",
        ),
        (
            lambda key: fit(MODEL, dsm_s(PROCESS), jnp.zeros((10, 3)), key=key),
            "data: has dimension 3 but the model gives an error (DataError) there; match the "
            "model's dim",
        ),
        (
            lambda key: fit(Slope(jnp.ones(2)), pull, ONES, key=key),
            "data: has dimension 1 but the model gives (2,) there; match the model's dim",
        ),
        (
            lambda key: fit(MODEL, dsm_s(PROCESS), DATA, key=key, ema_decay=1.0),
            "fit.ema_decay: is 1.0; use a value in (0, 1), e.g. 0.999",
        ),
        (
            lambda key: fit(MODEL, dsm_s(PROCESS), DATA, key=key, ema_decay=0.0),
            "fit.ema_decay: is 0.0; use a value in (0, 1), e.g. 0.999",
        ),
    ],
)
def test_each_refusal_names_its_field_and_says_why(call, message, key):
    assert refusal_message(lambda: call(key)) == message


def test_decays_just_inside_zero_and_one_are_accepted():
    assert training._checked_decay(1e-6) == 1e-6
    assert training._checked_decay(1 - 1e-6) == 1 - 1e-6
    assert training._checked_decay(None) is None


def test_the_defaults_are_those_of_the_training_section():
    """``[score.training]``'s documented defaults (docs/config.md and the CLI's)."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(fit).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert defaults == {
        "optimizer": DEFAULT_OPTIMIZER,
        "steps": 2000,
        "batch_size": 256,
        "times": "stratified",
        "sigmas": None,
        "t_range": None,
        "ema_decay": None,
        "chunk_size": 500,
        "progress": True,
        "checkpoint_dir": None,
        "checkpoint_every": 500,
        "resume": False,
        "devices": None,
    }


def test_the_default_optimizer_is_adamw_with_its_rates_in_the_state():
    """Learning rate 1e-3 and weight decay 1e-4 live in the state (another value reuses the
    compiled step); an update is optax.adamw's, bit for bit, at a generic point."""
    params = {"w": jnp.array([0.3, -1.7, 2.2])}
    grads = {"w": jnp.array([0.05, 0.4, -1.1])}
    state = DEFAULT_OPTIMIZER.init(params)
    assert {name: float(v) for name, v in state.hyperparams.items()} == {
        "learning_rate": pytest.approx(1e-3),
        "weight_decay": pytest.approx(1e-4),
    }
    ours, _ = DEFAULT_OPTIMIZER.update(grads, state, params)
    reference = optax.adamw(1e-3, weight_decay=1e-4)
    theirs, _ = reference.update(grads, reference.init(params), params)
    np.testing.assert_array_equal(ours["w"], theirs["w"])
