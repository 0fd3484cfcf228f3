"""Non-additive noise: the TSI and DSI targets against hand-derived formulas, the
identities against the exact noised score by Monte Carlo (with negative controls), the
conditional density and noised marginal against a Monte Carlo convolution, and the
objectives' TSM - DSM gap that no network can change."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.distributions.transforms import (
    ExpTransform,
    IdentityTransform,
    SoftplusTransform,
    StickBreakingTransform,
)
from scipy import stats

from scoresample import ConfigError
from scoresample.noise import VE, VP
from scoresample.nonadditive import (
    TransformedNoise,
    dsi_target,
    transported_score,
    tsi_target,
    volume_term,
)
from scoresample.objectives import NonAdditiveDSM, NonAdditiveTSM
from scoresample.objectives._base import regression
from scoresample.targets import GaussianMixture, TransformedMixture, lognormal_mixture

MIXTURE = GaussianMixture([0.7, 0.3], [[-0.5, 0.4], [0.8, -0.7]], [[0.3, 0.5], [0.4, 0.25]])
#: (schedule, t): VE with alpha = 1, and VP at a time where alpha = 0.853, sigma = 0.522.
LEVELS = {"ve": (VE(0.05, 2.0), 0.5), "vp": (VP(), 0.35)}


# g = h^-1 and its first two derivatives, written out by hand (not taken from NumPyro):
def _log(x):
    return np.log(x), 1 / x, -1 / x**2


def _softplus_inverse(x):
    e = np.exp(-x)
    return np.log(np.expm1(x)), 1 / (1 - e), -e / (1 - e) ** 2


HAND = {"exp": (ExpTransform(), _log), "softplus": (SoftplusTransform(), _softplus_inverse)}


def _alpha_sigma(levels, t):
    return float(levels.alpha(t)), float(levels.sigma(t))


@pytest.mark.parametrize("levels", list(LEVELS))
@pytest.mark.parametrize("name", list(HAND))
def test_targets_match_hand_derived_formulas_at_generic_points(name, levels):
    """For ``Y = h(alpha g(X) + sigma W)`` elementwise: ``J = g'(y) / (alpha g'(x))``,
    TSI ``J (score_x - g''(x) / g'(x)) + g''(y) / g'(y)`` and
    DSI ``-g'(y) (g(y) - alpha g(x)) / sigma^2 + g''(y) / g'(y)``."""
    transform, hand = HAND[name]
    schedule, t = LEVELS[levels]
    noise = TransformedNoise(transform, schedule)
    alpha, sigma = _alpha_sigma(schedule, t)
    x, y = np.array([0.37, 1.9, 0.8]), np.array([0.55, 1.3, 2.4])
    score_x = np.array([-1.7, 0.6, 2.3])  # any vector: the target is linear in it
    (gx, d1x, d2x), (gy, d1y, d2y) = hand(x), hand(y)
    jacobian = d1y / (alpha * d1x)
    tsi = jacobian * (score_x - d2x / d1x) + d2y / d1y
    dsi = -d1y * (gy - alpha * gx) / sigma**2 + d2y / d1y
    got = tsi_target(noise, jnp.asarray(y), jnp.asarray(x), jnp.asarray(score_x), t)
    np.testing.assert_allclose(got, tsi, rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(dsi_target(noise, jnp.asarray(y), jnp.asarray(x), t), dsi, rtol=2e-5)


def test_additive_noise_gives_back_tsm_and_dsm_targets():
    """With ``h`` the identity the noise is ``Y = alpha X + sigma W``: TSI's target is
    ``score_x / alpha`` with no volume term, DSI's ``-(y - alpha x) / sigma^2``."""
    schedule, t = LEVELS["vp"]
    noise = TransformedNoise(IdentityTransform(), schedule)
    alpha, sigma = _alpha_sigma(schedule, t)
    x, y, score_x = jnp.array([0.3, -1.2]), jnp.array([1.1, 0.4]), jnp.array([0.7, -2.0])
    np.testing.assert_allclose(tsi_target(noise, y, x, score_x, t), score_x / alpha, rtol=1e-5)
    np.testing.assert_allclose(volume_term(noise, y, x, t), 0.0, atol=1e-6)
    np.testing.assert_allclose(dsi_target(noise, y, x, t), -(y - alpha * x) / sigma**2, rtol=1e-5)


def _posterior_z(name, levels, y, target_fn, key, n=40_000):
    """Largest |z| of the posterior mean of ``target_fn(noise, y, x, score_x, t)`` against
    the exact noised score at ``y``."""
    schedule, t = LEVELS[levels]
    target = TransformedMixture(MIXTURE, HAND[name][0])
    noise = TransformedNoise(target.transform, schedule)
    xs = target.posterior_sample(key, y, noise, t, n)
    values = jax.vmap(lambda x: target_fn(noise, y, x, target.score(x), t))(xs)
    exact = target.noised_by(noise, t).score(y)
    z = (np.mean(values, 0) - exact) / (np.std(values, 0) / np.sqrt(n))
    return float(np.max(np.abs(z)))


@pytest.mark.parametrize("levels", list(LEVELS))
@pytest.mark.parametrize("name", list(HAND))
def test_both_identities_give_the_exact_noised_score(name, levels, key):
    y = jnp.array([0.6, 0.45])
    dsi = lambda noise, y, x, score_x, t: dsi_target(noise, y, x, t)  # noqa: E731
    assert _posterior_z(name, levels, y, tsi_target, key) < 4
    assert _posterior_z(name, levels, y, dsi, key) < 4


def test_a_wrong_transport_or_a_missing_volume_term_fails(key):
    """Negative controls: the additive transport ``score_x / alpha``, and the transport
    without ``grad_y V`` (non-zero for log-normal noise when ``alpha != 1``)."""
    y = jnp.array([0.6, 0.45])

    def additive(noise, y, x, score_x, t):
        return score_x / noise.levels.alpha(t) + volume_term(noise, y, x, t)

    assert _posterior_z("exp", "vp", y, additive, key) > 8
    assert _posterior_z("exp", "vp", y, transported_score, key) > 8


@pytest.mark.parametrize("name", list(HAND))
def test_conditional_density_and_noised_marginal_agree_with_a_monte_carlo_convolution(name, key):
    """``p_t(y) = E_{x ~ p}[p(y | x)]``, with ``p(y | x) = F(Phi(y, x)) |det d_y Phi|``; the
    density without the Jacobian factor is the negative control."""
    schedule, t = LEVELS["vp"]
    target = TransformedMixture(MIXTURE, HAND[name][0])
    noise = TransformedNoise(target.transform, schedule)
    xs, y, n = target.sample(key, 200_000), jnp.array([0.9, 0.7]), 200_000
    exact = np.exp(target.noised_by(noise, t).log_prob(y))

    def z(log_density):
        values = np.exp(np.asarray(jax.vmap(log_density)(xs), np.float64))
        return (values.mean() - exact) / (values.std() / np.sqrt(n))

    assert abs(z(lambda x: noise.log_prob(y, x, t))) < 4
    assert abs(z(lambda x: noise.noise_log_prob(noise.noise_of(y, x, t)))) > 20


def test_lognormal_mixture_density_is_scipys():
    weights, means, scales = [0.6, 0.4], [[0.2, -0.3], [1.1, 0.5]], [[0.4, 0.7], [0.3, 0.2]]
    target = lognormal_mixture(weights, means, scales)
    x = np.array([1.4, 0.8])
    components = [
        w * np.prod(stats.lognorm.pdf(x, s=np.array(s), scale=np.exp(m)))
        for w, m, s in zip(weights, means, scales, strict=True)
    ]
    np.testing.assert_allclose(target.log_prob(jnp.asarray(x)), np.log(sum(components)), rtol=1e-5)


def test_tsm_minus_dsm_does_not_depend_on_the_score_function(key):
    """Per example ``TSM - DSM = -<s, a - b> + const`` (targets ``a``, ``b``) with
    ``E[a - b | y] = 0``, so ``E[TSM - DSM]`` is the same for any two score functions (here
    the exact noised score and zero), up to Monte Carlo error; with the additive
    transport's target it is not."""
    schedule, _ = LEVELS["vp"]
    target = lognormal_mixture(MIXTURE.weights, MIXTURE.means, MIXTURE.scales)
    noise = TransformedNoise(ExpTransform(), schedule)
    exact = lambda y, t: target.noised_by(noise, t).score(y)  # noqa: E731
    zero = lambda y, t: jnp.zeros_like(y)  # noqa: E731
    n = 60_000
    keys = jax.random.split(jax.random.fold_in(key, 1), n)
    xs = target.sample(jax.random.fold_in(key, 2), n)
    ts = jax.random.uniform(jax.random.fold_in(key, 3), (n,), minval=0.3, maxval=0.7)

    def gap_z(tsm):
        def difference(x, t, k):
            gaps = [
                tsm(s, x, t, k)[0] - NonAdditiveDSM(noise)(s, x, t, k)[0] for s in (exact, zero)
            ]
            return gaps[0] - gaps[1]

        d = np.asarray(jax.vmap(difference)(xs, ts, keys), np.float64)
        return d.mean() / (d.std() / np.sqrt(n))

    def additive_transport(score_fn, x, t, k):
        y = noise.apply(x, noise.sample_noise(k, x), t)
        wrong = target.score(x) / noise.levels.alpha(t) + volume_term(noise, y, x, t)
        return regression(score_fn(y, t), wrong)

    assert abs(gap_z(NonAdditiveTSM(noise, clean_score=target.score))) < 4
    assert abs(gap_z(additive_transport)) > 8


def test_bad_transforms_and_mismatched_noise_are_refused():
    with pytest.raises(ConfigError, match="TransformedNoise.transform"):
        TransformedNoise(StickBreakingTransform(), VE())
    target = lognormal_mixture([1.0], [[0.0]], 1.0)
    with pytest.raises(ConfigError, match="noise:"):
        target.noised_by(TransformedNoise(SoftplusTransform(), VE()), 0.5)
