"""Monte Carlo score identities (DSI, TSI, kappa) from exact posterior draws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_zscores_small, refusal_message

from scoresample.diagnostics.stein import family_threshold
from scoresample.estimators import estimate_score, score_identities
from scoresample.estimators.posterior import identity_terms, kappas_for
from scoresample.noise import VE, VP
from scoresample.objectives import ExactNoisedScore, GaussianKappa, kappa_bar
from scoresample.targets import Gaussian, GaussianMixture, funnel

MIXTURE = GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.5, 0.8])
PROCESS = VE(0.01, 5.0)
M = 4000


def estimates_at(target, process, t, key, n_points=6, m=M):
    """Estimates at ``n_points`` noised points ``y ~ p_t``; returns ``(estimates, ys)``."""
    key_y, key_x = jax.random.split(key)
    ys = target.noised(process.alpha(t), process.sigma(t)).sample(key_y, n_points)
    kappas = {"kappa_bar": kappa_bar(process, target), "half": 0.5}
    keys = jax.random.split(key_x, n_points)
    estimates = jax.vmap(
        lambda y, k: score_identities(target, process, y, jnp.asarray(t), k, m, kappas)
    )(ys, keys)
    return estimates, ys


def exact_scores(target, process, t, ys):
    return jax.vmap(lambda y: ExactNoisedScore(target, process)(y, t))(ys)


@pytest.mark.parametrize(("process", "t"), [(PROCESS, 0.3), (PROCESS, 0.8), (VP(), 0.5)])
def test_every_identity_is_unbiased(process, t, key):
    estimates, ys = estimates_at(MIXTURE, process, t, key)
    assert set(estimates) == {"dsi", "tsi", "kappa_bar", "half"}

    def zscores(exact):
        z = [(est.mean - exact) / jnp.sqrt(est.variance) for est in estimates.values()]
        return np.concatenate([np.ravel(v) for v in z])

    assert_zscores_small(zscores(exact_scores(MIXTURE, process, t, ys)))
    # Negative control: a mixture with 30% wider components (scores are blind to weights).
    wider = GaussianMixture(MIXTURE.weights, MIXTURE.means, 1.3 * MIXTURE.scales)
    wrong = zscores(exact_scores(wider, process, t, ys))
    assert np.max(np.abs(wrong)) > family_threshold(wrong.size), "negative control passed"


def test_tsi_wins_at_low_noise_and_dsi_at_high_noise(key):
    """Per-draw variance: DSI's grows like 1 / sigma^2 as sigma -> 0; TSI's like 1 / alpha^2
    times the clean score's, which dominates at high noise where the noised score is small."""
    for t, better, worse, factor in ((0.0, "tsi", "dsi", 100), (1.0, "dsi", "tsi", 10)):
        estimates, _ = estimates_at(MIXTURE, PROCESS, t, key, m=256)
        total = {name: np.asarray(est.variance.sum(axis=1)) for name, est in estimates.items()}
        assert np.all(total[better] * factor < total[worse]), total
        assert np.all(total["kappa_bar"] < 2 * total[better]), total


def test_gaussian_kappa_is_exact_for_gaussian_data(key):
    """For N(0, s^2 I) the kappa_t combination cancels X: zero variance, the exact score."""
    gaussian = Gaussian.standard(3, scale=1.5)
    y = jnp.array([0.3, -1.0, 2.0])
    for process, t in ((PROCESS, 0.4), (VP(), 0.6)):
        est = estimate_score(gaussian, process, y, t, key, 64, "kappa", GaussianKappa(process, 1.5))
        np.testing.assert_allclose(est.mean, ExactNoisedScore(gaussian, process)(y, t), rtol=1e-4)
        np.testing.assert_allclose(est.variance, 0.0, atol=1e-9)
        assert np.all(estimate_score(gaussian, process, y, t, key, 64, "dsi").variance > 1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda key: estimate_score(funnel(2), PROCESS, jnp.zeros(2), 0.5, key, 16),
            "target: Funnel has no exact posterior p(x | y); use a Gaussian or a "
            "GaussianMixture target",
        ),
        (
            lambda key: estimate_score(MIXTURE, PROCESS, jnp.zeros(2), 0.5, key, 16, "esi"),
            "identity: is 'esi'; choose 'dsi', 'tsi' or 'kappa'",
        ),
        (
            lambda key: estimate_score(MIXTURE, PROCESS, jnp.zeros(2), 0.5, key, 16, "kappa"),
            "kappa: is required by the kappa identity; pass kappa=",
        ),
        (
            lambda key: estimate_score(MIXTURE, PROCESS, jnp.zeros(2), 0.5, key, 1),
            "m: is 1; use at least 2 posterior draws to estimate a variance",
        ),
    ],
)
def test_each_refusal_names_its_field_and_says_why(call, message, key):
    assert refusal_message(lambda: call(key)) == message


def test_kappas_for_prefixes_the_fields_it_names():
    """A config section's fields: ``score.identity``, ``score.kappa``."""
    assert refusal_message(lambda: kappas_for("esi", None, "score.")).startswith("score.identity: ")
    assert refusal_message(lambda: kappas_for("kappa", None, "score.")).startswith("score.kappa: ")
    assert kappas_for("tsi", None) is None
    assert kappas_for("dsi", 0.25) == {"kappa": 0.25}


def test_the_estimate_is_the_mean_of_the_terms_and_its_variance_over_m(key):
    """Against NumPy on the very terms: the per-draw sample variance (ddof 1) over m."""
    y, t, m = jnp.array([0.9, -0.4]), 0.45, 7
    estimates = score_identities(MIXTURE, PROCESS, y, t, key, m, {"half": 0.5})
    terms = identity_terms(MIXTURE, PROCESS, y, t, key, m, {"half": 0.5})
    for name, value in terms.items():
        value = np.asarray(value, np.float64)
        np.testing.assert_allclose(estimates[name].mean, value.mean(axis=0), rtol=1e-5)
        expected = value.var(axis=0, ddof=1) / m
        np.testing.assert_allclose(estimates[name].variance, expected, rtol=1e-4)
