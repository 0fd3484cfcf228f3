"""The torus: group operations, the wrapped Gaussian's truncated image sum against its
Fourier series, densities normalised and invariant under the group, the noised marginal
against a Monte Carlo convolution, and both score identities against the exact score
(Prop. 3.3 on an abelian group), each with a negative control."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trains_with_fit

from scoresample import ConfigError, samplers, targets
from scoresample.groups.torus import (
    MAX_SCALE,
    WrappedGaussianMixture,
    exp_map,
    heat_kernel_score,
    log_map,
    wrap,
    wrapped_normal_log_prob,
)
from scoresample.networks import TorusScoreMLP
from scoresample.noise import VE, geometric_levels
from scoresample.objectives import TorusDSM, TorusTSM
from scoresample.samplers import annealed_langevin
from scoresample.targets import ExactNoisedScore

#: Weights 0.5, 0.3, 0.2.
TARGET = targets.torus_mixture()


def _fourier_density(d, s, terms=400):
    """``(1 / 2 pi) (1 + 2 sum_n exp(-n^2 s^2 / 2) cos(n d))``, the heat kernel's series."""
    n = np.arange(1, terms + 1)
    return (1 + 2 * np.sum(np.exp(-0.5 * n**2 * s**2) * np.cos(n * d))) / (2 * np.pi)


@pytest.mark.parametrize("s", [0.15, 1.3, 4.0, MAX_SCALE])
def test_image_sum_matches_the_fourier_series(s):
    for d in (0.3, -1.7, 2.9):
        if s < 0.5 and abs(d) > 1:
            continue  # densities below 1e-30: float32 cannot compare them
        got = wrapped_normal_log_prob(jnp.asarray(d), jnp.asarray(s))
        np.testing.assert_allclose(got, np.log(_fourier_density(d, s)), rtol=1e-5, atol=1e-5)


def test_exp_and_log_are_inverse_and_densities_are_invariant_under_the_group():
    x, y, g = jnp.array([2.9, -3.0]), jnp.array([-2.8, 1.1]), jnp.array([1.7, -2.2])
    np.testing.assert_allclose(exp_map(x, log_map(x, y)), y, atol=1e-5)
    v = jnp.array([0.9, -2.4])
    np.testing.assert_allclose(log_map(x, exp_map(x, v)), v, atol=1e-5)
    moved = WrappedGaussianMixture(
        TARGET.mixture.weights, TARGET.mixture.means + g[None, :], TARGET.mixture.scales
    )
    np.testing.assert_allclose(moved.log_prob(wrap(y + g)), TARGET.log_prob(y), rtol=1e-5)


def test_density_is_normalised_on_the_torus():
    grid = np.linspace(-np.pi, np.pi, 401)[:-1]
    xs = jnp.asarray(np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2))
    for target in (TARGET, TARGET.noised(1.0, 2.0)):
        mass = np.exp(np.asarray(target.log_prob_batch(xs), np.float64)).mean() * (2 * np.pi) ** 2
        assert abs(mass - 1) < 1e-4, mass


def test_noised_marginal_is_the_convolution_with_the_heat_kernel(key):
    """``p_sigma(y) = E_x[WN(y; x, sigma^2)]`` by Monte Carlo; the unwrapped Gaussian
    kernel is the negative control."""
    sigma, y, n = 1.5, jnp.array([1.2, -2.6]), 400_000
    xs = TARGET.sample(key, n)
    exact = float(np.exp(TARGET.noised(1.0, sigma).log_prob(y)))

    def z(log_kernel):
        values = np.exp(np.asarray(jax.vmap(log_kernel)(xs), np.float64))
        return (values.mean() - exact) / (values.std() / np.sqrt(n))

    scales = jnp.full(2, sigma)
    assert abs(z(lambda x: jnp.sum(wrapped_normal_log_prob(y - x, scales)))) < 4

    def gaussian(x):
        return jnp.sum(-0.5 * ((y - x) / sigma) ** 2 - jnp.log(sigma * np.sqrt(2 * np.pi)))

    assert abs(z(gaussian)) > 8


@pytest.mark.parametrize("sigma", [0.2, 1.5])
def test_both_identities_give_the_exact_noised_score(sigma, key):
    """TSI: the clean score (the transport is the identity on an abelian group); DSI: the
    heat kernel's score. Negative controls: the Euclidean DSM target on the wrapped
    difference (at sigma = 1.5, where wrapping matters) and prior draws."""
    y, n = jnp.array([1.2, -2.6]), 40_000
    xs = TARGET.posterior_sample(key, y, sigma, n)
    exact = TARGET.noised(1.0, sigma).score(y)

    def z(values):
        return np.max(np.abs((np.mean(values, 0) - exact) / (np.std(values, 0) / np.sqrt(n))))

    assert z(TARGET.score_batch(xs)) < 4
    assert z(jax.vmap(lambda x: heat_kernel_score(y, x, sigma))(xs)) < 4
    assert z(TARGET.score_batch(TARGET.sample(key, n))) > 8
    if sigma > 1:
        assert z(jax.vmap(lambda x: -log_map(x, y) / sigma**2)(xs)) > 8


def test_bad_scales_and_contracting_noise_are_refused():
    with pytest.raises(ConfigError, match="WrappedGaussianMixture.scales"):
        WrappedGaussianMixture([1.0], [[0.0]], MAX_SCALE * 1.1)
    with pytest.raises(ConfigError, match="noise"):
        TARGET.noised(0.9, 0.3)


def test_torus_tsm_minus_dsm_does_not_depend_on_the_score_function(key):
    """``E[TSM - DSM]`` is the same for two score functions (the exact noised score and
    zero): their targets share a posterior mean. TSM built on the clean score of another
    mixture (the scales doubled) is the negative control."""
    process = VE(0.1, 2.0)
    exact = lambda y, t: TARGET.noised(1.0, process.sigma(t)).score(y)  # noqa: E731
    zero = lambda y, t: jnp.zeros_like(y)  # noqa: E731
    n = 40_000
    xs, keys = TARGET.sample(jax.random.fold_in(key, 1), n), jax.random.split(key, n)
    ts = jax.random.uniform(jax.random.fold_in(key, 2), (n,))
    dsm = TorusDSM(process)

    def z_of_gap(clean_score):
        tsm = TorusTSM(process, clean_score=clean_score)

        def difference(x, t, k):
            gaps = [tsm(s, x, t, k)[0] - dsm(s, x, t, k)[0] for s in (exact, zero)]
            return gaps[0] - gaps[1]

        d = np.asarray(jax.vmap(difference)(xs, ts, keys), np.float64)
        return abs(d.mean()) / (d.std() / np.sqrt(n))

    m = TARGET.mixture
    wider = WrappedGaussianMixture(m.weights, m.means, 2 * m.scales)
    assert z_of_gap(TARGET.score) < 4
    assert z_of_gap(wider.score) > 8


def test_torus_network_is_periodic_and_trains_with_fit(key):
    net = TorusScoreMLP(2, hidden=16, depth=2, key=key)
    y, k = jnp.array([0.7, -2.9]), jnp.array([2.0, -3.0]) * 2 * np.pi
    np.testing.assert_allclose(net(y + k, 0.4), net(y, 0.4), rtol=1e-4, atol=1e-5)
    assert not np.allclose(net(y + 1.0, 0.4), net(y, 0.4))  # not constant
    assert_trains_with_fit(net, TorusTSM(VE(0.05, 1.0), clean_score=TARGET.score), TARGET, key)


def test_geodesic_annealed_langevin_samples_the_torus_mixture(key):
    """Annealed Langevin with geodesic steps on the exact noised scores recovers the
    component weights (0.5, 0.3, 0.2) within 0.05 (observed: 0.02) and stays on
    ``[-pi, pi)``; Euclidean steps (no ``exp_map``) leave it. Tweedie's step is refused."""
    process = VE(0.05, 3.0)
    exact = ExactNoisedScore(TARGET, process)
    levels = annealed_langevin.schedule(process, geometric_levels(3.0, 0.05, 10), 5e-5)
    start = jax.random.uniform(key, (1000, 2), minval=-np.pi, maxval=np.pi)

    def draws(exp_map_or_none, n_chains, n_steps_per_level):
        algorithm = annealed_langevin.as_top_level_api(
            exact, levels, n_steps_per_level, denoise=False, exp_map=exp_map_or_none
        )
        spec = samplers.make_sampler(algorithm, num_samples=1)
        initial = np.asarray(start[:n_chains])
        return samplers.run(spec, key, initial_positions=initial, progress=False).flat()

    on_torus = draws(exp_map, 1000, 100)
    assert np.all(np.abs(on_torus) <= np.pi)
    weights = np.mean(jax.vmap(TARGET.responsibilities)(on_torus), axis=0)
    np.testing.assert_allclose(weights, [0.5, 0.3, 0.2], atol=0.05)
    assert np.any(np.abs(draws(None, 100, 10)) > np.pi)
    with pytest.raises(ConfigError, match="annealed_langevin.denoise"):
        annealed_langevin.as_top_level_api(exact, levels, 40, denoise=True, exp_map=exp_map)
