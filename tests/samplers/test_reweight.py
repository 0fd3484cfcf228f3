"""Importance reweighting by the probability-flow ODE's density: the flow log density of
an exact Gaussian score is the exact pushforward density (both divergences, VP and VE,
and in a particle system's mean-free subspace), and the weights of a wrong score recover
the target's mean and normaliser where the unweighted draws do not."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import zscore
from helpers import Harmonic
from scipy.stats import multivariate_normal

from scoresample import samplers
from scoresample.diagnostics.arviz import pareto_khat
from scoresample.noise import VE, VP
from scoresample.samplers.flow_density import choose_divergence
from scoresample.samplers.mean_free import MeanFreeCoordinates
from scoresample.samplers.reweight import _warn_if_unreliable, pareto_khat_threshold

MEAN = np.array([1.0, -0.5])
COV = np.array([[1.0, 0.6], [0.6, 0.5]])
LOG_Z = 2.5
N = 2048  # two chunks of 1024: the same compiled solve as the 1024 points of (a)


class GaussianNoisedScore(eqx.Module):
    """``grad log N(y; alpha m, alpha^2 S + sigma^2 I)``, written here independently of the
    library's Gaussian target."""

    mean: jax.Array
    cov: jax.Array
    process: eqx.Module

    @property
    def dim(self):
        return self.mean.shape[0]

    def noised_score(self, y, t):
        alpha, sigma = self.process.alpha(t), self.process.sigma(t)
        cov = alpha**2 * self.cov + sigma**2 * jnp.eye(self.dim)
        return -jnp.linalg.solve(cov, y - alpha * self.mean)


class ShiftedGaussian(eqx.Module):
    """``log N(x; MEAN, COV) + LOG_Z``: unnormalised, with normaliser ``exp(LOG_Z)``."""

    dim: int = 2

    def log_prob(self, x):
        centred = x - jnp.asarray(MEAN)
        quadratic = centred @ jnp.linalg.solve(jnp.asarray(COV), centred)
        log_det = np.log(np.linalg.det(COV))
        return -0.5 * (quadratic + log_det + 2 * np.log(2 * np.pi)) + LOG_Z


def _marginal(process, t):
    """``(alpha m, alpha^2 S + sigma^2 I)`` of the data at time ``t``, in float64."""
    alpha, sigma = float(process.alpha(t)), float(process.sigma(t))
    return alpha * MEAN, alpha**2 * COV + sigma**2 * np.eye(2)


def _exact_flow(process, x0, t0, t1):
    """The exact flow's ends and pushforward log density of the prior ``N(0, sigma(t1)^2 I)``.

    The exact-score flow maps ``p_t0`` to ``p_t1`` by ``x -> m1 + C1^{1/2} C0^{-1/2} (x - m0)``
    (the covariances commute), so ``q(x0) = pi(x_T) p_t0(x0) / p_t1(x_T)``.
    """
    (m0, c0), (m1, c1) = _marginal(process, t0), _marginal(process, t1)
    root = lambda c, p: (lambda w, v: v @ np.diag(w**p) @ v.T)(*np.linalg.eigh(c))  # noqa: E731
    ends = m1 + (np.asarray(x0, np.float64) - m0) @ (root(c1, 0.5) @ root(c0, -0.5)).T
    sigma = float(process.sigma(t1))
    log_prior = multivariate_normal(np.zeros(2), sigma**2 * np.eye(2)).logpdf(ends)
    log_ratio = multivariate_normal(m0, c0).logpdf(x0) - multivariate_normal(m1, c1).logpdf(ends)
    return ends, log_prior + log_ratio


def _generic_points(n):
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(11), (n, 2)), np.float64)
    return MEAN + 1.5 * noise @ np.linalg.cholesky(COV).T + 0.3


@pytest.mark.parametrize(
    "process, t0, t1", [(VP(), 1e-3, 1 - 1e-3), (VE(0.01, 10.0), 0.0, 1.0)], ids=["vp", "ve"]
)
def test_flow_log_density_of_the_exact_score_is_the_exact_pushforward(process, t0, t1):
    x0 = _generic_points(1024)
    score = GaussianNoisedScore(jnp.asarray(MEAN), jnp.asarray(COV), process)
    flow = samplers.flow_log_density(jax.random.PRNGKey(0), x0, score)
    ends, log_q = _exact_flow(process, x0, t0, t1)
    assert flow.divergence == "exact"  # "auto" in two dimensions
    np.testing.assert_allclose(flow.ends, ends, atol=1e-3 * max(1.0, float(process.sigma(t1))))
    # Tsit5 at rtol = atol = 1e-5 in float32: ~1e-4 typical, ~1e-4 relative in the tails
    np.testing.assert_allclose(flow.log_prob, log_q, rtol=1e-4, atol=1e-3)


def test_hutchinson_log_density_is_unbiased():
    """Four points, 256 Rademacher probes each: the mean log density is the exact one."""
    process, repeats = VP(), 256
    x0 = np.repeat(_generic_points(4), repeats, axis=0)
    score = GaussianNoisedScore(jnp.asarray(MEAN), jnp.asarray(COV), process)
    flow = samplers.flow_log_density(jax.random.PRNGKey(1), x0, score, divergence="hutchinson")
    assert flow.divergence == "hutchinson"
    _, log_q = _exact_flow(process, x0[::repeats], 1e-3, 1 - 1e-3)
    estimates = np.asarray(flow.log_prob, np.float64).reshape(4, repeats)
    assert estimates.std(axis=1).min() > 1e-2  # the probes do vary the estimate
    z = zscore(estimates.mean(axis=1), log_q, estimates.std(axis=1, ddof=1) / np.sqrt(repeats))
    assert np.all(np.abs(z) < 4), z


def test_flow_sample_pairs_draws_with_their_log_density():
    """The backward solve's ``log q`` is the forward solve's at the same draws."""
    score = GaussianNoisedScore(jnp.asarray(MEAN), jnp.asarray(COV), VP())
    drawn = samplers.flow_sample(jax.random.PRNGKey(2), N, score)
    again = samplers.flow_log_density(jax.random.PRNGKey(3), drawn.draws, score)
    np.testing.assert_allclose(again.ends, drawn.ends, atol=1e-3)
    np.testing.assert_allclose(again.log_prob, drawn.log_prob, atol=2e-3)


@pytest.fixture(scope="module")
def wrong_score_reweighted():
    """A score of the wrong law, ``N(m + delta, 1.5 S)`` with ``delta`` 0.7 standard
    deviations along the principal axis of ``S`` (both coordinates shifted by more than 20
    standard errors of the mean), weighted by the exact target. For these Gaussians
    ``E_q[w^2] / E_q[w]^2`` gives an expected ESS fraction of about 0.70."""
    values, vectors = np.linalg.eigh(COV)
    delta = 0.7 * np.sqrt(values[-1]) * vectors[:, -1] * np.sign(vectors[0, -1])
    wrong = GaussianNoisedScore(jnp.asarray(MEAN + delta), jnp.asarray(1.5 * COV), VP())
    return samplers.reweight(jax.random.PRNGKey(4), wrong, ShiftedGaussian(), N)


def test_weights_recover_the_mean_the_draws_miss(wrong_score_reweighted):
    result = wrong_score_reweighted
    assert result.divergence == "exact" and result.draws.shape == (N, 2)
    assert 0.2 < result.ess_fraction < 0.95  # wrong enough to need weights, not degenerate
    z = zscore(result.weighted_mean(), MEAN, result.weighted_stderr())
    assert np.all(np.abs(z) < 4), z
    draws = np.asarray(result.draws, np.float64)
    unweighted = zscore(draws.mean(axis=0), MEAN, draws.std(axis=0) / np.sqrt(N))
    assert np.all(np.abs(unweighted) > 4), unweighted  # negative control
    # The resampled draws have the target's mean too (at the ESS's precision).
    resampled = np.asarray(result.resample(jax.random.PRNGKey(5)), np.float64)
    z = zscore(resampled.mean(axis=0), MEAN, np.sqrt(np.diag(COV) / result.ess))
    assert np.all(np.abs(z) < 4), z


def test_log_normaliser_of_a_wrong_score_is_the_exact_one(wrong_score_reweighted):
    result = wrong_score_reweighted
    # A proposal wider than the target bounds the weights: k-hat far below the threshold.
    assert result.pareto_k == pytest.approx(pareto_khat(result.log_weights))
    assert result.pareto_k < 0.3 and result.reliable
    assert abs(zscore(result.log_z, LOG_Z, result.log_z_stderr)) < 4
    low, high = result.log_z_interval
    assert low < LOG_Z < high
    # the percentile interval is about +-1.96 standard errors wide
    assert 0.5 < (high - low) / (2 * 1.96 * result.log_z_stderr) < 2


def test_kish_ess_and_weights_on_hand_computed_cases(key):
    assert samplers.kish_ess(jnp.zeros(4)) == pytest.approx(4.0)
    assert samplers.kish_ess(jnp.array([0.0, -30.0, -30.0, -30.0])) == pytest.approx(1.0, abs=1e-6)
    # w = (1, 2, 3, 4): (sum w)^2 / sum w^2 = 100 / 30
    assert samplers.kish_ess(jnp.log(jnp.arange(1.0, 5.0))) == pytest.approx(10 / 3, rel=1e-5)
    weights = samplers.importance_weights(jnp.log(jnp.array([1.0, 2.0, 3.0])), jnp.zeros(3))
    np.testing.assert_allclose(weights, [1 / 6, 2 / 6, 3 / 6], rtol=1e-6)
    equal = samplers.log_normaliser(jnp.full(50, 1.3), key, n_bootstrap=20)
    assert equal.estimate == pytest.approx(1.3) and equal.stderr == pytest.approx(0.0, abs=1e-3)
    assert choose_divergence("auto", 64) == "exact"
    assert choose_divergence("auto", 65) == "hutchinson"


def test_systematic_resampling_keeps_only_weighted_draws(key):
    draws = jnp.arange(4.0)[:, None]
    result = samplers.Reweighted(
        draws, jnp.log(jnp.array([0.5, 0.5, 0.0, 0.0])), jnp.zeros(4), 2.0, 0.5, 0.0, 0.0,
        (0.0, 0.0), "exact", 0.0,
    )  # fmt: skip
    picked = np.asarray(result.resample(key, 100)).ravel()
    assert set(picked) == {0.0, 1.0} and np.sum(picked == 0.0) == 50
    assert float(result.weighted_mean()[0]) == pytest.approx(0.5)
    assert float(result.weighted_mean(lambda x: x[0] ** 2)) == pytest.approx(0.5)


class HarmonicNoisedScore(eqx.Module):
    """The full-space noised score of the harmonic system: mean-free,
    ``-P y / (alpha^2 / k + sigma^2)`` with ``P`` the centring projection."""

    process: eqx.Module
    k: float = 2.5

    def noised_score(self, y, t):
        variance = self.process.alpha(t) ** 2 / self.k + self.process.sigma(t) ** 2
        particles = y.reshape(5, 2)
        return -(particles - particles.mean(axis=0, keepdims=True)).reshape(-1) / variance


def test_mean_free_flow_density_is_the_subspace_gaussian():
    target, process, n = Harmonic(), VP(), 256
    coordinates = MeanFreeCoordinates(5, 2)
    score = HarmonicNoisedScore(process)
    z0 = np.asarray(jax.random.normal(jax.random.PRNGKey(6), (n, 8)), np.float64) * 0.8
    x0 = coordinates.expand(jnp.asarray(z0)) + 3.0  # a shifted centre of mass is ignored
    flow = samplers.flow_log_density(jax.random.PRNGKey(7), x0, score, mean_free=coordinates)
    v0, v1 = (
        float(process.alpha(t)) ** 2 / target.k + float(process.sigma(t)) ** 2
        for t in (1e-3, 0.999)
    )
    ends = z0 * np.sqrt(v1 / v0)  # the exact flow map of N(0, v_t I) in the subspace
    log_normal = lambda z, v: -0.5 * np.sum(z**2, 1) / v - 4 * np.log(2 * np.pi * v)  # noqa: E731
    sigma1 = float(process.sigma(0.999))
    log_q = log_normal(ends, sigma1**2) + log_normal(z0, v0) - log_normal(ends, v1)
    assert flow.ends.shape == (n, 8) and flow.divergence == "exact"
    np.testing.assert_allclose(flow.ends, ends, atol=1e-3)
    np.testing.assert_allclose(flow.log_prob, log_q, rtol=1e-4, atol=1e-3)
    # reweight finds the subspace by itself: mean-free draws, log Z of the subspace Gaussian
    result = samplers.reweight(jax.random.PRNGKey(8), score, target, n)
    np.testing.assert_allclose(result.draws.reshape(n, 5, 2).mean(axis=1), 0.0, atol=1e-5)
    assert result.ess_fraction > 0.99
    assert result.log_z == pytest.approx(4 * np.log(2 * np.pi / target.k), abs=5e-3)


def pareto_log_weights(k: float, n: int, seed: int) -> np.ndarray:
    """``log w = -k log U``: weights exactly Pareto, with tail index ``1 / k``."""
    return -k * np.log(np.random.default_rng(seed).uniform(size=n))


@pytest.mark.parametrize("k", [0.3, 0.8])
def test_pareto_khat_recovers_the_shape_of_pareto_weights(k):
    # At n = 20,000 the estimate's sd over 30 seeds was 0.062 (k = 0.3) and 0.085 (0.8).
    assert pareto_khat(pareto_log_weights(k, 20_000, 0)) == pytest.approx(k, abs=0.3)
    # Negative control: the negated logs are bounded above, a light tail (about -0.8).
    assert pareto_khat(-pareto_log_weights(k, 20_000, 0)) < -0.3


def test_pareto_khat_threshold_and_the_warning_just_inside_and_outside():
    assert pareto_khat_threshold(100) == pytest.approx(0.5)
    assert pareto_khat_threshold(1000) == pytest.approx(2 / 3)
    assert pareto_khat_threshold(10**6) == pytest.approx(0.7)  # capped: 1 - 1/6 > 0.7
    n, limit = 1000, 2 / 3
    for pareto_k, reliable in [(limit - 1e-3, True), (limit + 1e-3, False)]:
        result = samplers.Reweighted(
            jnp.zeros((n, 1)), jnp.zeros(n), jnp.zeros(n), float(n), 1.0, 0.0, 0.0,
            (0.0, 0.0), "exact", pareto_k,
        )  # fmt: skip
        assert result.reliable is reliable
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _warn_if_unreliable(result)
        assert [str(w.message)[:40] for w in caught] == (
            [] if reliable else ["reweight: the importance weights' Pareto"]
        )
