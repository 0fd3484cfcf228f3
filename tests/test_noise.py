"""Noise processes: schedules, SDE coefficients, inverses, and Song & Ermon's level rules."""

from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.spatial
import scipy.stats
from helpers import refusal_message

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


# Mutation testing (mutmut, tests/MUTATION.md) found what the tests above let pass: the
# signal-to-noise ratio untested, error messages that name the wrong field, thresholds
# tested far from their limits, and Technique 2 and 4 checked only at the paper's points.


def test_snr_is_alpha_squared_over_sigma_squared_at_generic_times():
    t = 0.37
    vp, ve = VP(), VE(0.02, 7.0)
    expected_vp = np.cos(0.5 * np.pi * t) ** 2 / np.sin(0.5 * np.pi * t) ** 2
    expected_ve = 1.0 / (0.02 * (7.0 / 0.02) ** t) ** 2
    np.testing.assert_allclose(float(vp.snr(t)), expected_vp, rtol=1e-5)
    np.testing.assert_allclose(float(ve.snr(t)), expected_ve, rtol=1e-5)


@pytest.mark.parametrize("process", [VE(), FixedLevel(0.3)], ids=["ve", "fixed"])
def test_alpha_of_an_integer_time_is_a_float(process):
    assert jnp.issubdtype(process.alpha(1).dtype, jnp.floating)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: geometric_levels(-1.0, 0.01, 5), "levels.sigma_first: must be > 0"),
        (lambda: geometric_levels(1.0, -0.01, 5), "levels.sigma_last: must be > 0"),
        (lambda: geometric_levels(1.0, 0.01, 0), "levels.n_levels: "),
        (
            lambda: geometric_levels(0.01, 1.0, 5),
            "levels.sigma_first: must exceed sigma_last (0.01 <= 1.0); levels run from the "
            "largest noise down to the smallest",
        ),
        (lambda: max_pairwise_distance([[np.nan, 0.0]]), "data: contains 1 NaN"),
        (lambda: max_pairwise_distance([1.0, 2.0]), "data: has 1 dimensions"),
        (lambda: max_pairwise_distance([[1.0]], chunk_size=0), "chunk_size: "),
        (lambda: song_ermon_ratio(0), "dim: "),
        (
            lambda: song_ermon_ratio(4),
            "dim: is 4; Technique 2 assumes high dimension (dim >= 5); choose the number of "
            "levels directly with geometric_levels",
        ),
        (lambda: song_ermon_step_size([1.0, np.inf], 5), "levels: contains 1 NaN"),
        (lambda: song_ermon_step_size([[1.0, 0.5]], 5), "levels: has 2 dimensions"),
        (lambda: song_ermon_step_size([1.0, 0.5], 0), "steps_per_level: "),
        (
            lambda: song_ermon_step_size([1.0, 1.0, 0.5], 5),
            "levels: must hold at least two decreasing noise levels; use geometric_levels",
        ),
        (lambda: VE(-0.1, 1.0), "noise.sigma_min: must be > 0"),
        (
            lambda: VE(0.5, 0.5),
            "noise.sigma_max: must exceed sigma_min = 0.5, got 0.5; choose sigma_max > sigma_min",
        ),
        (lambda: FixedLevel(-0.1), "noise.level: must be finite and >= 0, got -0.1; use e.g. 0.1"),
        (
            lambda: time_sampler(VE(), t_range=(0.0, 1.5)),
            "fit.t_range: is (0.0, 1.5); use 0 <= t_min <= t_max <= 1",
        ),
        (
            lambda: time_sampler(VE(), times="uniform", sigmas=0.1),
            "fit.sigmas: was given with times; give only one of them",
        ),
        (
            lambda: time_sampler(VE(), times="sobol"),
            "fit.times: is 'sobol'; choose one of ('uniform', 'stratified', 'antithetic')",
        ),
        (
            lambda: time_sampler(VE(), times=1.5),
            "fit.times: is 1.5, outside the process's range; choose times in [0, 1], or noise "
            "levels the process reaches",
        ),
        (lambda: time_sampler(FixedLevel(0.1), sigmas=0.2), "fit.sigmas: is 0.2, outside"),
    ],
)
def test_each_refusal_names_its_field_and_says_why(call, message):
    assert refusal_message(call).startswith(message)


def test_level_thresholds_just_inside_and_outside():
    np.testing.assert_allclose(geometric_levels(0.5, 0.5, 1), [0.5])  # one level: any pair
    with pytest.raises(ConfigError, match="levels.sigma_first"):
        geometric_levels(0.02, 1.0, 2)  # two levels must decrease
    with pytest.raises(ConfigError, match="levels.sigma_first"):
        geometric_levels(1.0, 1.0, 3)  # equal levels do not decrease
    assert song_ermon_ratio(5) > 1.0  # sqrt(10) > 3: the smallest dimension allowed
    assert song_ermon_step_size([1.0, 0.5], 5) > 0.0  # two levels are enough
    with pytest.raises(ConfigError, match="levels"):
        song_ermon_step_size([0.5, 0.9], 5)  # increasing, by less than 1


def test_max_pairwise_distance_below_one_and_across_chunks():
    # Distances below 1 (0.5 at most), and the farthest pair within the first chunk of two
    # rows, then in the last of five rows (n > d, so chunks must run over rows).
    assert max_pairwise_distance([[0.0, 0.0], [0.3, 0.4], [0.1, 0.1]]) == pytest.approx(0.5)
    first = [[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.5, 1.0], [1.0, 1.5]]
    last = [[1.0, 1.0], [1.5, 1.0], [1.0, 1.5], [0.0, 0.0], [3.0, 4.0]]
    for data in (first, last):
        assert max_pairwise_distance(data, chunk_size=2) == pytest.approx(5.0)


def _technique_2_ratio(dim: int) -> float:
    """gamma with Phi(sqrt(2D)(g - 1) + 3g) - Phi(sqrt(2D)(g - 1) - 3g) = 1/2, by Brent's
    method on SciPy's normal CDF."""

    def overlap(g):
        shift = np.sqrt(2.0 * dim) * (g - 1.0)
        return scipy.stats.norm.cdf(shift + 3 * g) - scipy.stats.norm.cdf(shift - 3 * g) - 0.5

    return scipy.optimize.brentq(overlap, 1.0 + 1e-12, 10.0, xtol=1e-14)


@pytest.mark.parametrize("dim", [7, 3072])
def test_song_ermon_ratio_matches_brents_root(dim):
    assert song_ermon_ratio(dim) == pytest.approx(_technique_2_ratio(dim), rel=1e-9)


def test_song_ermon_levels_count_follows_technique_2(key):
    data = np.asarray(jax.random.normal(key, (100, 7)))
    sigma_first = scipy.spatial.distance.pdist(data).max()
    expected = 1 + int(np.ceil(np.log(sigma_first / 0.01) / np.log(_technique_2_ratio(7))))
    levels = song_ermon_levels(data)  # sigma_last's default, 0.01
    assert len(levels) == expected
    np.testing.assert_allclose(levels[-1], 0.01, rtol=1e-5)


def test_song_ermon_step_size_solves_technique_4_at_a_generic_point():
    # gamma = 1.5, T = 20. The variance ratio v(u) = (1 - u)^(2T) (gamma^2 - s) + s with
    # s = 2 / (2 - u) stays above 1 (it is at least min(s, gamma^2)), so "closest to 1" is
    # its minimum on (0, 1): found here by SciPy's bounded scalar minimiser.
    def ratio(u):
        s = 2.0 / (2.0 - u)
        return (1.0 - u) ** 40 * (1.5**2 - s) + s

    u = scipy.optimize.minimize_scalar(ratio, bounds=(1e-9, 1 - 1e-9), method="bounded").x
    levels = [0.3, 0.2, 0.1 / 0.75]  # gamma = 1.5, sigma_L = 0.1333
    assert song_ermon_step_size(levels, 20) == pytest.approx(u * levels[-1] ** 2, rel=1e-3)


def test_integer_times_and_levels_are_read_as_floats():
    # jax.grad refuses integer inputs; full_like would round the level to an integer.
    np.testing.assert_allclose(float(VP().drift(1)), float(VP().drift(1.0)), rtol=1e-6)
    np.testing.assert_allclose(
        float(VE(0.1, 5.0).diffusion_squared(1)), float(VE(0.1, 5.0).diffusion_squared(1.0))
    )
    assert float(FixedLevel(0.3).sigma(1)) == pytest.approx(0.3)


def test_noise_limits_just_inside_and_outside():
    assert float(FixedLevel(0.0).sigma(0.5)) == 0.0  # level 0 is allowed (no noise)
    np.testing.assert_allclose(time_sampler(VE(), times=1.0).levels, [1.0])  # t = 1 allowed
    level = FixedLevel(1e-9)
    # t_of_sigma: within a relative 1e-6 of the level, never by an absolute margin.
    assert float(level.t_of_sigma(1e-9 * (1 + 5e-7))) == 0.0
    assert np.isnan(float(FixedLevel(0.3).t_of_sigma(0.3 * (1 + 5e-6))))
    assert np.isnan(float(level.t_of_sigma(0.0)))


def test_fixed_times_draw_every_level(key):
    draws = np.asarray(time_sampler(VE(), times=[0.2, 0.7])(key, 400))
    np.testing.assert_allclose(np.unique(draws), [0.2, 0.7], rtol=1e-6)


def test_ve_defaults_are_the_documented_range():
    ve = VE()
    assert (ve.sigma_min, ve.sigma_max) == (0.01, 10.0)
