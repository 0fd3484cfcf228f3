"""Noise processes: schedules, SDE coefficients, inverses, and Song & Ermon's level rules."""

from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample.errors import ConfigError
from scoresample.noise import (
    TIME_SCHEMES,
    VE,
    VP,
    FixedLevel,
    geometric_levels,
    max_pairwise_distance,
    song_ermon_levels,
    song_ermon_ratio,
    song_ermon_step_size,
    time_sampler,
)

TIMES = jnp.linspace(0.05, 0.95, 7)


def test_ve_schedule_and_closed_form_coefficients():
    ve = VE(0.01, 10.0)
    np.testing.assert_allclose([ve.sigma(0.0), ve.sigma(1.0)], [0.01, 10.0], rtol=1e-6)
    np.testing.assert_array_equal(jax.vmap(ve.alpha)(TIMES), 1.0)
    np.testing.assert_allclose(jax.vmap(ve.drift)(TIMES), 0.0, atol=1e-7)
    expected = 2 * jax.vmap(ve.sigma)(TIMES) ** 2 * np.log(1000.0)
    np.testing.assert_allclose(jax.vmap(ve.diffusion_squared)(TIMES), expected, rtol=1e-5)
    assert ve.t_range == (0.0, 1.0)


def test_fixed_level_is_one_level_that_does_not_move():
    """alpha = 1 and sigma = level at any t; the forward SDE dY = f Y dt + g dB that keeps
    the marginal fixed has f = g = 0; every training time is 0."""
    process, times = FixedLevel(0.3), jnp.array([0.0, 0.17, 0.62, 1.0])
    np.testing.assert_array_equal(jax.vmap(process.alpha)(times), 1.0)
    np.testing.assert_allclose(jax.vmap(process.sigma)(times), 0.3, rtol=1e-7)
    np.testing.assert_array_equal(jax.vmap(process.drift)(times), 0.0)
    np.testing.assert_array_equal(jax.vmap(process.diffusion_squared)(times), 0.0)
    np.testing.assert_allclose(process.noise_to_signal(0.62), 0.3, rtol=1e-7)
    assert process.t_range == (0.0, 0.0) and float(process.t_of_sigma(0.3)) == 0.0
    assert np.isnan(process.t_of_sigma(0.31)) and np.isnan(process.t_of_noise_to_signal(0.2))
    for scheme in TIME_SCHEMES:
        np.testing.assert_array_equal(time_sampler(process, scheme)(jax.random.PRNGKey(0), 9), 0)
    np.testing.assert_array_equal(time_sampler(process, sigmas=0.3)(jax.random.PRNGKey(0), 3), 0)
    assert FixedLevel(0.3) == FixedLevel(0.3) and FixedLevel(0.3) != FixedLevel(0.2)
    assert repr(FixedLevel(0.1)) == "FixedLevel(level=0.1)"


@pytest.mark.parametrize("level", [-0.1, float("nan"), float("inf")])
def test_fixed_level_refuses_a_bad_level(level):
    with pytest.raises(ConfigError, match="noise.level"):
        FixedLevel(level)


def test_vp_cosine_schedule_and_closed_form_coefficients():
    vp = VP()
    alpha, sigma = jax.vmap(vp.alpha)(TIMES), jax.vmap(vp.sigma)(TIMES)
    np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, rtol=1e-6)
    tangent = np.tan(np.pi * np.asarray(TIMES) / 2)
    np.testing.assert_allclose(jax.vmap(vp.drift)(TIMES), -np.pi / 2 * tangent, rtol=1e-5)
    np.testing.assert_allclose(jax.vmap(vp.diffusion_squared)(TIMES), np.pi * tangent, rtol=1e-5)
    low, high = vp.t_range
    assert low > 0.0 and high < 1.0 and vp.sigma(low) > 0 and vp.alpha(high) > 0


@pytest.mark.parametrize("process", [VE(0.01, 10.0), VE(0.1, 50.0), VP()], ids=repr)
def test_coefficients_reproduce_the_marginal_variance(process):
    """``Var = alpha^2 v0 + sigma^2`` solves ``dVar/dt = 2 f Var + g^2`` for every ``v0``."""
    for v0 in (0.0, 0.3, 4.0):

        def variance(t, v0=v0):
            return process.alpha(t) ** 2 * v0 + process.sigma(t) ** 2

        lhs = jax.vmap(jax.grad(variance))(TIMES)
        rhs = jax.vmap(lambda t: 2 * process.drift(t) * variance(t) + process.diffusion_squared(t))
        np.testing.assert_allclose(lhs, rhs(TIMES), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("process", [VE(0.01, 10.0), VP()], ids=repr)
def test_t_of_sigma_inverts_sigma(process):
    sigmas = jax.vmap(process.sigma)(TIMES)
    np.testing.assert_allclose(jax.vmap(process.t_of_sigma)(sigmas), TIMES, rtol=1e-5)


def test_ve_rejects_inverted_range():
    with pytest.raises(ConfigError, match="sigma_max"):
        VE(1.0, 0.5)


def test_geometric_levels_have_a_constant_ratio():
    levels = np.asarray(geometric_levels(10.0, 0.01, 10))
    np.testing.assert_allclose(levels[[0, -1]], [10.0, 0.01], rtol=1e-6)
    np.testing.assert_allclose(levels[:-1] / levels[1:], 1000 ** (1 / 9), rtol=1e-5)
    with pytest.raises(ConfigError, match="sigma_first"):
        geometric_levels(0.01, 10.0, 5)


def test_max_pairwise_distance_matches_brute_force(key):
    data = np.asarray(jax.random.normal(key, (300, 3)), dtype=np.float64)
    brute = np.max(np.linalg.norm(data[:, None] - data[None], axis=-1))
    np.testing.assert_allclose(max_pairwise_distance(data, chunk_size=64), brute, rtol=1e-9)
    assert max_pairwise_distance([[0.0, 0.0], [3.0, 4.0]]) == 5.0


def test_song_ermon_ratio_solves_technique_2():
    gamma = song_ermon_ratio(3072)
    shift = np.sqrt(2 * 3072) * (gamma - 1)
    phi = NormalDist().cdf
    assert abs(phi(shift + 3 * gamma) - phi(shift - 3 * gamma) - 0.5) < 1e-9
    # CIFAR-10 (D = 3072, sigma_1 = 50, sigma_L = 0.01): the paper uses L = 232.
    n_levels = 1 + np.log(50 / 0.01) / np.log(gamma)
    assert abs(n_levels - 232) / 232 < 0.1
    assert song_ermon_ratio(12288) < gamma  # more dimensions, finer levels
    with pytest.raises(ConfigError, match="dim"):
        song_ermon_ratio(2)


def test_song_ermon_levels_span_the_data(key):
    data = np.asarray(jax.random.normal(key, (200, 16)))
    levels = np.asarray(song_ermon_levels(data, sigma_last=0.01))
    np.testing.assert_allclose(levels[0], max_pairwise_distance(data), rtol=1e-5)
    np.testing.assert_allclose(levels[-1], 0.01, rtol=1e-5)
    assert levels[0] / levels[1] <= song_ermon_ratio(16) * (1 + 1e-5)


@pytest.mark.parametrize(
    ("sigma_first", "n_levels", "expected"),
    [(50.0, 232, 6.2e-6), (90.0, 500, 3.3e-6)],
    ids=["cifar10", "celeba64"],
)
def test_song_ermon_step_size_reproduces_the_papers_choices(sigma_first, n_levels, expected):
    """Technique 4 with T = 5 gives the step sizes Song & Ermon (2020) used."""
    levels = geometric_levels(sigma_first, 0.01, n_levels)
    assert abs(song_ermon_step_size(levels, 5) / expected - 1) < 0.02
    with pytest.raises(ConfigError, match="levels"):
        song_ermon_step_size(levels[::-1], 5)


def batch_means(sampler, n=64, batches=200):
    keys = jax.random.split(jax.random.PRNGKey(0), batches)
    return np.asarray(jax.jit(jax.vmap(lambda k: sampler(k, n)))(keys)).mean(axis=1)


def test_time_sampling_schemes():
    n = 64
    uniform = batch_means(time_sampler(VE(), "uniform"), n)
    stratified = batch_means(time_sampler(VE(), "stratified"), n)
    # Batch means of U(0, 1): sd sqrt(1 / (12 n)); stratified batches: about n times less.
    assert abs(uniform.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n / uniform.size)
    assert 0.5 < uniform.std() / np.sqrt(1 / 12 / n) < 1.5
    assert stratified.std() < uniform.std() / 10
    antithetic = batch_means(time_sampler(VE(), "antithetic", t_range=(0.2, 0.6)), n)
    np.testing.assert_allclose(antithetic, 0.4, rtol=1e-6)
    fixed = time_sampler(VE(0.01, 10.0), sigmas=0.1)(jax.random.PRNGKey(1), 8)
    np.testing.assert_allclose(fixed, VE(0.01, 10.0).t_of_sigma(0.1), rtol=1e-6)
    vp = time_sampler(VP())(jax.random.PRNGKey(2), 1000)
    assert VP().t_range[0] <= float(vp.min()) and float(vp.max()) <= VP().t_range[1]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"times": "sobol"}, "fit.times"),
        ({"times": 1.5}, "fit.times"),
        ({"times": "uniform", "sigmas": 0.1}, "fit.sigmas"),
        ({"sigmas": 0.001}, "fit.sigmas"),
        ({"t_range": (0.5, 0.2)}, "fit.t_range"),
    ],
)
def test_time_sampler_errors_name_the_field(options, field):
    with pytest.raises(ConfigError, match=field):
        time_sampler(VE(0.01, 10.0), **options)
    with pytest.raises(ConfigError, match="fit.sigmas"):
        time_sampler(FixedLevel(0.1), sigmas=0.2)


@pytest.mark.parametrize("process", [VE(0.01, 50.0), VP()], ids=["ve", "vp"])
def test_noise_to_signal_inverse(process):
    t = jnp.linspace(0.05, 0.95, 7)
    ratio = process.noise_to_signal(t)
    np.testing.assert_allclose(ratio, process.sigma(t) / process.alpha(t), rtol=1e-6)
    np.testing.assert_allclose(process.t_of_noise_to_signal(ratio), t, rtol=1e-5, atol=1e-6)
