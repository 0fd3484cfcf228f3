"""fit(): history, checkpoints and bit-exact resume, interruption, non-finite losses,
data forms, time sampling, frozen targets, errors that name the field, and one compilation
per trace shape (several devices: test_training_devices.py).

One tiny model, objective, optimiser and chunk size are shared, so most tests reuse a
single compiled chunk.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from compilations import count_compilations

import scoresample.training as training
from scoresample.errors import ConfigError, DataError, NonFiniteError, OutputError
from scoresample.networks import ScoreMLP
from scoresample.noise import VE, VP, FixedLevel
from scoresample.objectives import DSM, TSM, NoiseAveraged, Recording, TargetInformed, dsm_s
from scoresample.targets import Gaussian, ncsn_toy
from scoresample.training import fit

PROCESS = VE(0.05, 5.0)
TARGET = ncsn_toy()
DATA = TARGET.sample(jax.random.PRNGKey(1), 256)
MODEL = ScoreMLP(2, hidden=8, depth=1, embed=4, key=jax.random.PRNGKey(2))
PROCESS_MODEL = MODEL.with_process(PROCESS)  # for bare loss functions, which have no process
OBJECTIVE = dsm_s(PROCESS)
OPTIMIZER = optax.adam(1e-2)
COMMON = {"optimizer": OPTIMIZER, "batch_size": 32, "chunk_size": 10, "progress": False}


def run(steps, key, **options):
    return fit(MODEL, OBJECTIVE, DATA, steps=steps, key=key, **(COMMON | options))


def assert_same_tree(a, b):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """40 steps with EMA, checkpointed every 20 steps."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    key = jax.random.PRNGKey(5)
    result = run(40, key, ema_decay=0.9, checkpoint_dir=directory, checkpoint_every=20)
    return key, result


def test_history_records_loss_grad_norm_and_weighted_aux_terms(uninterrupted):
    _, result = uninterrupted
    history = result.history
    assert set(history) == {"loss", "grad_norm", "norm", "fitting"}
    assert all(value.shape == (40,) for value in history.values())
    # DSM-S is norm + fitting per example; weighted means keep the identity.
    np.testing.assert_allclose(history["loss"], history["norm"] + history["fitting"], rtol=1e-5)
    assert np.all(history["grad_norm"] > 0) and result.steps == 40


def test_trained_networks_carry_the_objectives_process(uninterrupted):
    _, result = uninterrupted
    assert MODEL.process is None
    assert result.model.process == PROCESS and result.ema_model.process == PROCESS


@pytest.mark.parametrize(
    "objective",
    [NoiseAveraged(OBJECTIVE, 2), Recording(OBJECTIVE, dsm_s(PROCESS), "watched")],
    ids=["NoiseAveraged", "Recording"],
)
def test_the_process_of_a_wrapped_objective_is_the_inner_one(objective):
    model, process = training._bind_process(MODEL, objective)
    assert process == PROCESS and model.process == PROCESS


def test_a_network_built_for_another_process_is_refused_naming_both(key):
    other = ScoreMLP(2, hidden=8, depth=1, embed=4, process=VP(), key=key)
    with pytest.raises(ConfigError, match=r"objective.process: is VE\(.*built for VP\(\)"):
        fit(other, OBJECTIVE, DATA, key=key, **COMMON)
    with pytest.raises(ConfigError, match=r"objective.process: is VP\(\).*built for VE\("):
        fit(TargetInformed(MODEL, TARGET.score, PROCESS), dsm_s(VP()), DATA, key=key, **COMMON)


def test_a_loss_function_takes_the_models_process_or_is_refused(key):
    def loss(score_fn, x, t, key):
        return jnp.sum(score_fn(x, t) ** 2), {}

    model, process = training._bind_process(PROCESS_MODEL, loss)
    assert model is PROCESS_MODEL and process == PROCESS
    with pytest.raises(ConfigError, match="fit.objective: has no noise process"):
        fit(MODEL, loss, DATA, key=key, **COMMON)


def test_split_run_equals_uninterrupted_run_bitwise(uninterrupted, tmp_path):
    """Stopped at step 13 (off the chunk grid: chunks of 3 and 7 steps compile anew)."""
    key, whole = uninterrupted
    run(13, key, ema_decay=0.9, checkpoint_dir=tmp_path, checkpoint_every=20)
    resumed = run(40, key, ema_decay=0.9, checkpoint_dir=tmp_path, checkpoint_every=20, resume=True)
    assert_same_tree(eqx.filter(resumed.model, eqx.is_array), eqx.filter(whole.model, eqx.is_array))
    assert_same_tree(
        eqx.filter(resumed.ema_model, eqx.is_array), eqx.filter(whole.ema_model, eqx.is_array)
    )
    assert_same_tree(resumed.opt_state, whole.opt_state)
    assert_same_tree(resumed.history, whole.history)
    assert not np.array_equal(
        resumed.model.body.mlp.layers[0].weight, MODEL.body.mlp.layers[0].weight
    )
    assert not np.array_equal(
        resumed.ema_model.body.mlp.layers[0].weight, resumed.model.body.mlp.layers[0].weight
    )


def test_keyboard_interrupt_checkpoints_the_last_completed_chunk(
    uninterrupted, tmp_path, monkeypatch
):
    key, whole = uninterrupted
    calls = []
    real = training._run_chunk

    def interrupted_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(training, "_run_chunk", interrupted_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        # No periodic checkpoint: only the interruption writes one, after step 20.
        run(40, key, ema_decay=0.9, checkpoint_dir=tmp_path, checkpoint_every=None)
    calls.clear()
    monkeypatch.setattr(training, "_run_chunk", lambda *args: calls.append(1) or real(*args))
    resumed = run(
        40,
        key,
        ema_decay=0.9,
        checkpoint_dir=tmp_path,
        checkpoint_every=20,
        resume=True,
        progress=True,
    )
    assert len(calls) == 2, "the resumed run did not start after step 20"
    assert_same_tree(resumed.history, whole.history)
    assert_same_tree(eqx.filter(resumed.model, eqx.is_array), eqx.filter(whole.model, eqx.is_array))


def test_resume_checks_key_model_and_overwrites(uninterrupted, tmp_path):
    key, _ = uninterrupted
    run(10, key, checkpoint_dir=tmp_path)
    with pytest.raises(OutputError, match="resume=True"):
        run(20, key, checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="fit.key"):
        run(20, jax.random.PRNGKey(6), checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ConfigError, match="fit.resume"):
        run(20, key, checkpoint_dir=tmp_path, resume=True, ema_decay=0.9)
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        run(20, key, resume=True)
    assert run(10, key, checkpoint_dir=tmp_path, resume=True).steps == 10


def exploding(score_fn, x, t, key):
    """Rewards a growing output, then turns NaN: fails at a step after the first chunk."""
    total = jnp.sum(score_fn(x, t))
    return jnp.where(total > 40.0, jnp.nan, -total), {}


def test_non_finite_loss_names_the_step_and_keeps_the_checkpoint(tmp_path):
    options = COMMON | {"optimizer": optax.sgd(0.01), "key": jax.random.PRNGKey(0)}
    with pytest.raises(NonFiniteError, match=r"at step \d+") as error:
        fit(
            PROCESS_MODEL,
            exploding,
            DATA,
            steps=200,
            checkpoint_dir=tmp_path,
            checkpoint_every=10,
            **options,
        )
    assert f"; the checkpoint in {tmp_path} is from before it" in error.value.problem
    step = int(error.value.problem.split("at step ")[1].split(";")[0])
    assert step >= 10, "the output grows for about 30 steps before it passes 40"
    good = step - step % 10
    resumed = fit(
        PROCESS_MODEL, exploding, DATA, steps=good, checkpoint_dir=tmp_path, resume=True, **options
    )
    assert np.all(np.isfinite(resumed.history["loss"])) and resumed.steps == good


def test_clean_scores_as_pairs_or_bound(key):
    """(Fresh draws from a target, with target.score, are used by tests/objectives.)"""
    scores = jax.vmap(TARGET.score)(DATA)
    options = COMMON | {"steps": 20, "key": key}
    paired = fit(MODEL, TSM(PROCESS), (DATA, scores), **options)
    bound = fit(MODEL, TSM(PROCESS, clean_score=TARGET.score), DATA, **options)
    np.testing.assert_allclose(paired.history["loss"], bound.history["loss"], rtol=1e-4)
    with pytest.raises(ConfigError, match="clean scores"):
        fit(MODEL, TSM(PROCESS), DATA, **options)
    with pytest.raises(DataError, match="data.scores"):
        fit(MODEL, TSM(PROCESS), (DATA, scores[:10]), **options)


def test_fit_draws_times_from_noise_levels():
    """NCSN levels: every t is one of the levels (the schemes are tested in test_noise)."""
    levels = np.array([0.1, 1.0])
    t_levels = np.asarray(PROCESS.t_of_sigma(levels))

    def record(score_fn, x, t, key):
        off_level = jnp.min(jnp.abs(t - jnp.asarray(t_levels)))
        return 0.0 * jnp.sum(score_fn(x, t)), {"t": t, "off_level": off_level}

    history = fit(
        PROCESS_MODEL, record, DATA, steps=50, key=jax.random.PRNGKey(3), sigmas=levels, **COMMON
    ).history
    np.testing.assert_allclose(history["off_level"], 0.0, atol=1e-6)
    assert t_levels[0] < history["t"].mean() < t_levels[1]


def test_targets_inside_a_model_are_frozen(key):
    model = TargetInformed(MODEL, TARGET.score, PROCESS)
    result = fit(
        model,
        OBJECTIVE,
        DATA,
        steps=10,
        key=key,
        **(COMMON | {"optimizer": optax.adamw(1e-2, weight_decay=0.5)}),
    )
    trained = result.model.clean_score.__self__
    assert_same_tree(trained, TARGET)
    assert not np.array_equal(
        result.model.net.body.mlp.layers[0].weight, MODEL.body.mlp.layers[0].weight
    )


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"sigmas": 0.001}, ConfigError, "fit.sigmas"),
        ({"ema_decay": 1.0}, ConfigError, "fit.ema_decay"),
        ({"steps": 0}, ConfigError, "fit.steps"),
        ({"batch_size": -1}, ConfigError, "fit.batch_size"),
    ],
)
def test_bad_options_name_the_field(options, error, field, key):
    with pytest.raises(error, match=field):
        fit(MODEL, OBJECTIVE, DATA, key=key, **(COMMON | options))


def test_bad_data_name_the_field(key):
    with pytest.raises(DataError, match="data"):
        fit(MODEL, OBJECTIVE, jnp.zeros((10, 3)), key=key, **COMMON)
    with pytest.raises(ConfigError, match="fit.batch_size"):
        fit(MODEL, OBJECTIVE, TARGET, key=key, **(COMMON | {"batch_size": None}))
    with pytest.raises(Exception, match="NaN"):
        fit(MODEL, OBJECTIVE, DATA.at[0, 0].set(jnp.nan), key=key, **COMMON)


class LinearScore(eqx.Module):
    """``s(y) = -a y``: the score of ``N(0, I / a)``."""

    a: jax.Array

    def __call__(self, y, t):
        return -self.a * y


def test_dsm_at_a_fixed_level_is_the_closed_form():
    """DSM(FixedLevel(sigma)) on x ~ N(0, v I_d), s(y) = -a y, unweighted (the default at one
    level): E[DSM] = d/2 (a^2 (v + sigma^2) - 2a + 1/sigma^2), E[norm] = d/2 a^2 (v + sigma^2),
    E[fitting] = -a d. A zero learning rate keeps a; every step draws a fresh batch, so the
    per-step means are i.i.d. and the z-score of their mean is exact to Monte Carlo error."""
    dim, variance, sigma, a = 3, 2.25, 0.3, 0.7
    target = Gaussian(jnp.zeros(dim), variance * jnp.eye(dim))
    history = fit(
        LinearScore(jnp.asarray(a)),
        DSM(FixedLevel(sigma)),
        target,
        optimizer=optax.sgd(0.0),
        steps=400,
        batch_size=64,
        key=jax.random.PRNGKey(7),
        progress=False,
    ).history
    spread = a**2 * (variance + sigma**2)
    expected = {
        "loss": dim / 2 * (spread - 2 * a + 1 / sigma**2),
        "norm": dim / 2 * spread,
        "fitting": -a * dim,
    }

    def z(values, mean):
        return (np.mean(values) - mean) / (np.std(values) / np.sqrt(len(values)))

    for name, mean in expected.items():
        assert abs(z(history[name], mean)) < 4, (name, np.mean(history[name]), mean)
    # Negative controls: the sigma^2 weighting, or a level 10% off, would be seen.
    assert abs(z(history["loss"], sigma**2 * expected["loss"])) > 40
    other = dim / 2 * (a**2 * (variance + 0.33**2) - 2 * a + 1 / 0.33**2)
    assert abs(z(history["loss"], other)) > 8


def test_the_obvious_fixed_level_call_trains_and_binds_the_level(key):
    x = TARGET.sample(key, 512)
    result = fit(ScoreMLP(2, key=key), DSM(FixedLevel(0.1)), x, key=key, steps=20, progress=False)
    assert result.model.process == FixedLevel(0.1) and result.steps == 20
    assert np.all(np.isfinite(result.history["loss"]))


def test_progress_in_a_log_is_a_line_per_tenth_with_the_loss(capsys):
    """(pytest's captured stderr is not a terminal.)"""
    result = run(40, jax.random.PRNGKey(5), progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("%")[0] for line in lines] == ["fit: 25", "fit: 50", "fit: 75", "fit: 100"]
    last_chunk = np.mean(result.history["loss"][30:])
    assert f"(40/40 steps), loss={last_chunk:.4g}, " in lines[-1]
    run(40, jax.random.PRNGKey(5), progress=False)
    assert capsys.readouterr().err == ""


def test_repr_is_one_short_line(uninterrupted):
    _, result = uninterrupted
    loss = f"{result.history['loss'][-1]:.4g}"
    assert repr(result) == (
        f"FitResult(model=ScoreMLP, steps=40, loss={loss}, "
        "history=['fitting', 'grad_norm', 'loss', 'norm'])"
    )
    empty = training.FitResult(None, None, None, {}, 0)
    assert repr(empty) == "FitResult(model=NoneType, steps=0, loss=None, history=[])"


def sweep(learning_rate):
    """Adam whose learning rate lives in the optimiser state: an argument, not a constant."""
    return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)


def test_a_new_optimizer_of_the_same_program_compiles_nothing():
    """Optimisers are fresh closures each time they are built; fit compares them by the
    program of their update, so a rebuilt optimiser, or another learning rate kept in the
    state, reuses the compiled chunk (of a shape of its own here: 6 steps of 24 examples)."""
    key, options = jax.random.PRNGKey(8), COMMON | {"batch_size": 24, "chunk_size": 6}

    def train(optimizer, model=MODEL, objective=OBJECTIVE, data=DATA, **changes):
        changes = options | {"optimizer": optimizer} | changes
        return fit(model, objective, data, steps=6, key=key, **changes)

    first, plain = train(sweep(1e-2)), train(optax.adam(1e-2))
    rebuilt = {  # the same structure and shapes, new objects and values
        "model": ScoreMLP(2, hidden=8, depth=1, embed=4, key=jax.random.PRNGKey(9)),
        "objective": dsm_s(VE(0.05, 5.0)),
        "data": DATA[::-1],
    }
    with count_compilations() as compiled:
        again, other_rate = train(sweep(1e-2)), train(sweep(3e-2))
        plain_again = train(optax.adam(1e-2))
        train(sweep(1e-3), **rebuilt)
    assert compiled.names == []
    assert_same_tree(eqx.filter(again.model, eqx.is_array), eqx.filter(first.model, eqx.is_array))
    assert_same_tree(plain_again.history, plain.history)
    weights = [result.model.body.mlp.layers[0].weight for result in (first, other_rate)]
    assert not np.allclose(*weights, rtol=1e-3), "the second learning rate is used"
    # Negative controls: another batch shape, or a learning rate that is a constant of
    # the program (plain optax.adam), compile the chunk again.
    with count_compilations() as compiled:
        train(sweep(1e-2), batch_size=16)
        train(optax.adam(3e-2))
    assert sum("_run_chunk" in name for name in compiled.names) == 2, compiled.names
