"""Data-free training: the DEM objective, iDEM's replay-buffer loop, its ledger and resume."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import data_free
from scoresample.data_free import fit_data_free
from scoresample.errors import ConfigError
from scoresample.ledger import EnergyLedger
from scoresample.networks import ScoreMLP
from scoresample.noise import VE, VP
from scoresample.objectives import TSM, GaussianKappa
from scoresample.objectives.dem import DEM, noised
from scoresample.samplers import make_sampler
from scoresample.targets import Gaussian, dw4, from_log_prob

MEAN, SCALE = jnp.array([1.5, -0.7]), 0.8
TARGET = Gaussian(MEAN, SCALE**2 * jnp.eye(2))
PROCESS = VE(0.05, 4.0)
REFILL = make_sampler("reverse_diffusion", n_chains=16, n_steps=10)
#: A small loop: 64 buffered points, a refill of 16 every 10 steps.
LOOP = {"sampler": REFILL, "buffer_size": 64, "refill_every": 10, "batch_size": 16}


def exact_noised_score(process, y, t):
    """``-(y - alpha mu) / (alpha^2 s^2 + sigma^2)``: the noised score of ``N(mu, s^2 I)``."""
    alpha, sigma = process.alpha(t), process.sigma(t)
    return -(y - alpha * MEAN) / (alpha**2 * SCALE**2 + sigma**2)


def _kappa_loss(process, k=2):
    """DEM with the kappa that makes the estimate exact for ``N(mu, s^2 I)`` at any K."""
    return DEM(process, target=TARGET, k=k, identity="kappa", kappa=GaussianKappa(process, SCALE))


@pytest.mark.parametrize("process, t", [(PROCESS, 0.37), (VP(), 0.61)])
def test_dem_regresses_on_the_noised_score_at_the_point_it_noised(process, t):
    """With the exact kappa the estimate is the exact noised score (even at K = 2), so the
    loss of the exact score is 0 and of the exact score plus ``c`` is ``|c|^2 / 2``: the
    network is evaluated at the very ``y`` the estimate is for."""
    loss = _kappa_loss(process)
    x, offset = jnp.array([0.3, 2.1]), jnp.array([0.4, -1.3])
    for key in jax.random.split(jax.random.PRNGKey(3), 4):
        exact, _ = loss(lambda y, t_: exact_noised_score(process, y, t_), x, t, key)
        off, _ = loss(lambda y, t_: exact_noised_score(process, y, t_) + offset, x, t, key)
        np.testing.assert_allclose(exact, 0.0, atol=1e-9)
        np.testing.assert_allclose(off, 0.5 * offset @ offset, rtol=1e-5)


def test_dem_with_tsi_converges_to_the_noised_score_as_k_grows():
    """TSI (iDEM's estimator) is biased at O(1/K): its squared error at the exact score
    falls with K (negative control: K = 2 is far off)."""
    t, x = 0.55, jnp.array([0.3, 2.1])
    keys = jax.random.split(jax.random.PRNGKey(5), 64)

    def mean_loss(k):
        loss = DEM(PROCESS, target=TARGET, k=k, identity="tsi")
        one = lambda key: loss(lambda y, t_: exact_noised_score(PROCESS, y, t_), x, t, key)[0]  # noqa: E731
        return float(jnp.mean(jax.vmap(one)(keys)))

    small, large = mean_loss(2), mean_loss(2000)
    assert large < 0.02 * small, (small, large)


def test_noised_particles_move_in_the_mean_free_subspace():
    """For a translation-invariant particle system ``y - alpha x`` has zero centre of mass
    and variance ``sigma^2`` in each of the ``(n - 1) d`` directions left."""
    target, t = dw4(), 0.4
    x = jax.random.normal(jax.random.PRNGKey(0), (8,))
    ys = jax.vmap(lambda k: noised(target, PROCESS, x, t, k))(
        jax.random.split(jax.random.PRNGKey(1), 4000)
    )
    noise = (ys - PROCESS.alpha(t) * x[None, :]).reshape(-1, 4, 2)
    np.testing.assert_allclose(noise.mean(axis=1), 0.0, atol=1e-5)
    per_draw = jnp.sum(noise**2, axis=(1, 2)) / PROCESS.sigma(t) ** 2
    assert abs(float(per_draw.mean()) - 6.0) < 4 * float(per_draw.std()) / np.sqrt(4000)


def test_dem_settings_fail_with_the_field_named():
    with pytest.raises(ConfigError, match="dem.kappa"):
        DEM(PROCESS, target=TARGET, identity="kappa")
    with pytest.raises(ConfigError, match="dem.kappa"):
        DEM(PROCESS, target=TARGET, identity="tsi", kappa=0.5)
    with pytest.raises(ConfigError, match="dem.k"):
        DEM(PROCESS, target=TARGET, k=1)
    with pytest.raises(ConfigError, match="dem.identity"):
        DEM(PROCESS, target=TARGET, identity="ism")
    with pytest.raises(ConfigError, match="dem.max_norm"):
        DEM(PROCESS, target=TARGET, max_norm=0.0)
    assert DEM(PROCESS, target=TARGET, k=2, max_norm=1e-9).energy_evals_per_example == 2


def _model(seed=0):
    return ScoreMLP(2, hidden=(16, 16), process=PROCESS, key=jax.random.PRNGKey(seed))


def _fit(steps, **options):
    return fit_data_free(
        _model(), _kappa_loss(PROCESS, k=4), steps=steps, key=jax.random.PRNGKey(1),
        progress=False, **LOOP | options,
    )  # fmt: skip


def _assert_same_run(a, b):
    for leaf_a, leaf_b in zip(
        jax.tree.leaves(eqx.filter(a.model, eqx.is_array)),
        jax.tree.leaves(eqx.filter(b.model, eqx.is_array)),
        strict=True,
    ):
        np.testing.assert_array_equal(leaf_a, leaf_b)
    np.testing.assert_array_equal(a.buffer, b.buffer)
    for name in a.history:
        np.testing.assert_array_equal(a.history[name], b.history[name])
    assert (a.steps, a.refills) == (b.steps, b.refills)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """40 steps in one go: 4 initial refills, then one every 10 steps but the last."""
    return _fit(40, checkpoint_dir=tmp_path_factory.mktemp("straight"), checkpoint_every=20)


def test_the_buffer_is_refilled_every_refill_every_steps(straight):
    assert straight.refills == 64 // 16 + 3
    assert straight.buffer.shape == (64, 2) and np.all(np.isfinite(straight.buffer))


def test_resume_is_bit_exact_when_the_last_refill_was_not_made(straight, tmp_path):
    """A run stopped at step 20 has not refilled there (no refill after the last step);
    resumed to 40 it makes that refill first and then matches the straight run."""
    _fit(20, checkpoint_dir=tmp_path)
    _assert_same_run(_fit(40, checkpoint_dir=tmp_path, resume=True), straight)


def test_resume_after_an_interrupted_refill_is_bit_exact(straight, tmp_path, monkeypatch):
    """Ctrl-C during the refill at step 30 checkpoints step 30 with the old buffer; the
    resumed run repeats that refill."""
    refill, calls = data_free._Buffer.refill, []

    def interrupted(self, *args):
        calls.append(self.refills)
        if self.refills == 6:  # the refill after step 30: 4 initial, then 10 and 20
            raise KeyboardInterrupt
        refill(self, *args)

    monkeypatch.setattr(data_free._Buffer, "refill", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _fit(40, checkpoint_dir=tmp_path)
    monkeypatch.setattr(data_free._Buffer, "refill", refill)
    _assert_same_run(_fit(40, checkpoint_dir=tmp_path, resume=True), straight)


def test_refills_overwrite_the_oldest_entries_first(monkeypatch):
    """Refill ``i`` writes its ``n`` draws at ``(i n + j) mod size``."""

    class Draws:
        def __init__(self, value):
            self.value = value

        def flat(self):
            return np.full((2, 1), float(self.value))

    calls = iter(range(10))
    monkeypatch.setattr(data_free, "run", lambda *args, **kwargs: Draws(next(calls)))
    buffer = data_free._Buffer(5, 1, np.float32)
    for _ in range(4):
        buffer.refill(REFILL, jax.random.PRNGKey(0), None, None)
    np.testing.assert_array_equal(buffer.draws[:, 0], [2.0, 3.0, 3.0, 1.0, 2.0])


def test_the_ledger_counts_every_energy_evaluation():
    """The ledger (steps x batch x K, refills at 0) equals a count made inside the energy
    itself, which also sees any evaluation a refill would make."""
    rows = []

    def count(x):
        rows.append(int(np.prod(np.shape(x)[:-1])) if np.ndim(x) > 1 else 1)

    def log_prob(x):
        jax.debug.callback(count, x)
        return TARGET.log_prob(x)

    counted = from_log_prob(log_prob, 2)
    loss = DEM(PROCESS, target=counted, k=3, identity="tsi")
    result = fit_data_free(
        _model(), loss, steps=20, key=jax.random.PRNGKey(2), progress=False, **LOOP
    )
    jax.effects_barrier()
    assert result.ledger.counts == {"training": 20 * 16 * 3, "refill": 0}
    assert sum(rows) == result.ledger.total


def test_data_free_training_learns_the_noised_score():
    """From the energy alone the network's sigma^2-weighted error on noised points falls well
    below the untrained network's (measured at points of the target itself, which it never saw)."""
    result = fit_data_free(
        _model(), _kappa_loss(PROCESS, k=4), steps=600, key=jax.random.PRNGKey(4),
        progress=False, **LOOP | {"refill_every": 100},
    )  # fmt: skip
    key_x, key_t = jax.random.split(jax.random.PRNGKey(9))
    xs, ts = TARGET.sample(key_x, 256), jax.random.uniform(key_t, (256,), minval=0.05)
    ys = jax.vmap(lambda x, t, k: noised(TARGET, PROCESS, x, t, k))(
        xs, ts, jax.random.split(key_t, 256)
    )

    def error(model):
        diff = jax.vmap(lambda y, t: model(y, t) - exact_noised_score(PROCESS, y, t))(ys, ts)
        weights = jax.vmap(PROCESS.sigma)(ts) ** 2
        return float(jnp.mean(weights * jnp.sum(diff**2, axis=1)))

    trained, untrained = error(result.model), error(_model().with_process(PROCESS))
    assert trained < 0.2 * untrained, (trained, untrained)  # measured: 0.084


def test_data_free_settings_fail_with_the_field_named():
    with pytest.raises(ConfigError, match="objective"):
        fit_data_free(_model(), TSM(PROCESS), key=jax.random.PRNGKey(0), **LOOP)
    with pytest.raises(ConfigError, match="sampler"):
        options = LOOP | {"sampler": "reverse_diffusion"}
        fit_data_free(_model(), _kappa_loss(PROCESS), key=jax.random.PRNGKey(0), **options)
    with pytest.raises(ConfigError, match="refill_every"):
        fit_data_free(
            _model(), _kappa_loss(PROCESS), key=jax.random.PRNGKey(0), **LOOP | {"refill_every": 0}
        )


def test_ledger_adds_by_stage_and_refuses_a_negative_count():
    ledger = EnergyLedger().plus("training", 5).plus("refine", 3).plus("training", 2)
    assert ledger.counts == {"training": 7, "refine": 3} and ledger.total == 10
    assert EnergyLedger().plus("refill", 0).total == 0
    with pytest.raises(ConfigError, match="ledger.sampling"):
        EnergyLedger().plus("sampling", -1)
    with pytest.raises(ConfigError, match="ledger.sampling"):
        EnergyLedger().plus("sampling", 1.5)
