"""NoiseAveraged and Recording: exact properties (same expectation, smaller variance,
unchanged gradient) checked against the wrapped objectives on one batch."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample.noise import VE
from scoresample.objectives import DSM, ISM, TSM, NoiseAveraged, Recording, dsm_s
from scoresample.objectives.weighting import uniform

PROCESS = VE(0.05, 5.0)
T = 0.3


def test_noise_average_is_the_mean_of_the_draws_it_makes(kit, nets, key):
    xs, keys = kit.draws(key, 64)
    dsm, n = DSM(PROCESS), 8
    averaged = NoiseAveraged(dsm, n)
    values, aux = kit.evaluate(averaged, nets["a"], xs, T, keys)
    # By hand: the same n keys per example, each a plain DSM evaluation.
    draws = jax.vmap(lambda k: jax.random.split(k, n))(keys)
    by_hand = jax.vmap(lambda x, ks: jax.vmap(lambda k: dsm(nets["a"], x, T, k)[0])(ks))(xs, draws)
    np.testing.assert_allclose(values, by_hand.mean(axis=1), rtol=1e-5)
    assert set(aux) == {"norm", "fitting"}
    assert averaged.process is PROCESS and averaged.weighting is dsm.weighting


def test_noise_average_divides_the_noise_variance(kit, nets, key):
    x = kit.draws(key, 1)[0][0]
    xs = jnp.broadcast_to(x, (4000, x.shape[0]))
    keys = jax.random.split(jax.random.fold_in(key, 1), 4000)
    one = kit.evaluate(DSM(PROCESS), nets["a"], xs, T, keys)[0]
    sixteen = kit.evaluate(NoiseAveraged(DSM(PROCESS), 16), nets["a"], xs, T, keys)[0]
    # Same expectation (z-score of the difference of two independent means)...
    z = (one.mean() - sixteen.mean()) / jnp.sqrt(one.var() / 4000 + sixteen.var() / 4000)
    assert abs(z) < 4, z
    # ...and 1/16 of the variance: the log of the ratio of sample variances as a z-score
    # (delta method: var(log s^2) = (kurtosis - 1) / n), and within 25% of 16.
    standard_error = jnp.sqrt(log_variance_variance(one) + log_variance_variance(sixteen))
    log_ratio = jnp.log(one.var() / sixteen.var())
    assert abs(log_ratio - jnp.log(16.0)) < 4 * standard_error, (log_ratio, standard_error)
    assert 16 * 0.8 < one.var() / sixteen.var() < 16 * 1.25
    # Negative control: the same test rejects a factor of 8 (half the draws).
    assert abs(log_ratio - jnp.log(8.0)) > 4 * standard_error


def log_variance_variance(values):
    """Monte Carlo variance of ``log`` of the sample variance of ``values`` (delta method)."""
    centred = values - values.mean()
    kurtosis = jnp.mean(centred**4) / jnp.mean(centred**2) ** 2
    return (kurtosis - 1) / values.shape[0]


def test_recording_trains_on_one_objective_and_logs_the_other(kit, nets, key):
    xs, keys = kit.draws(key, 32)
    ism = ISM(PROCESS, weighting=uniform)
    recording = Recording(ism, dsm_s(PROCESS), "dsm")
    net = nets["a"]

    def recorded_loss(model):
        return jnp.mean(jax.vmap(lambda x, k: recording(model, x, T, k)[0])(xs, keys))

    # The value and gradient are the trained objective's at the first split key.
    train_keys = jax.vmap(lambda k: jax.random.split(k)[0])(keys)
    expected = jnp.mean(jax.vmap(lambda x, k: ism(net, x, T, k)[0])(xs, train_keys))
    np.testing.assert_allclose(recorded_loss(net), expected, rtol=1e-6)
    grad_recorded = eqx.filter_grad(recorded_loss)(net)
    grad_alone = eqx.filter_grad(
        lambda m: jnp.mean(jax.vmap(lambda x, k: ism(m, x, T, k)[0])(xs, train_keys))
    )(net)
    for a, b in zip(jax.tree.leaves(grad_recorded), jax.tree.leaves(grad_alone), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    _, aux = recording(net, xs[0], T, keys[0])
    assert set(aux) == {"norm", "fitting", "dsm_norm", "dsm_fitting"}
    assert recording.weighting is uniform


def test_bad_wrappers_are_refused(kit):
    with pytest.raises(ValueError, match="n >= 1"):
        NoiseAveraged(DSM(PROCESS), 0)
    with pytest.raises(ValueError, match="clean_score"):
        Recording(DSM(PROCESS), TSM(PROCESS), "tsm")
    paired = Recording(TSM(PROCESS), TSM(PROCESS, weighting=uniform), "tsm")
    assert paired.needs_scores
