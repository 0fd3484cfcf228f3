"""Particle systems are sampled in the zero-centre-of-mass subspace: the coordinates are
orthonormal, the restricted score is the gradient of the restricted log density, the
draws are mean-free with the subspace's law, and NUTS stops spending its doublings on
the centre of mass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import Harmonic

from scoresample import samplers, targets
from scoresample.errors import ConfigError
from scoresample.samplers.mean_free import MeanFreeCoordinates, helmert


@pytest.mark.parametrize("n", [2, 4, 13])
def test_helmert_rows_are_orthonormal_and_orthogonal_to_ones(n):
    basis = helmert(n)
    assert basis.shape == (n - 1, n)
    np.testing.assert_allclose(basis @ basis.T, np.eye(n - 1), atol=1e-12)
    np.testing.assert_allclose(basis @ np.ones(n), 0.0, atol=1e-12)


def test_expand_of_reduce_removes_the_mean_and_keeps_norms(key):
    coordinates = MeanFreeCoordinates(4, 3)
    x = 3.0 * jax.random.normal(key, (6, 12)) + 1.7
    particles = np.asarray(x).reshape(6, 4, 3)
    centred = (particles - particles.mean(axis=1, keepdims=True)).reshape(6, 12)
    z = coordinates.reduce(x)
    assert z.shape == (6, coordinates.dim) == (6, 9)
    np.testing.assert_allclose(coordinates.expand(z), centred, atol=1e-5)
    np.testing.assert_allclose(
        np.linalg.norm(z, axis=1), np.linalg.norm(centred, axis=1), rtol=1e-5
    )
    np.testing.assert_allclose(coordinates.reduce(coordinates.expand(z)), z, atol=1e-5)


def test_restricted_score_is_the_gradient_of_the_restricted_log_density(key):
    target = targets.dw4()
    coordinates = MeanFreeCoordinates(4, 2)
    reduced = coordinates.restrict(samplers.sampling_model(target))
    z = 2.0 * jax.random.normal(key, (coordinates.dim,))
    by_autodiff = jax.grad(lambda z: target.log_prob(coordinates.expand(z)))(z)
    assert reduced.dim == 6
    np.testing.assert_allclose(reduced.score(z), by_autodiff, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reduced.log_prob(z), target.log_prob(coordinates.expand(z)))
    noised = coordinates.restrict(
        samplers.sampling_model(noised_score=lambda y, t: -y / t, process=None)
    )
    y = coordinates.expand(z)
    np.testing.assert_allclose(noised.noised_score(z, 0.7), coordinates.reduce(-y / 0.7))


@pytest.fixture(scope="module")
def harmonic_nuts():
    """NUTS on the harmonic system in the subspace and in the full space, same key; the
    full space's trees reach the maximal depth, so its run is shorter."""
    key = jax.random.PRNGKey(3)

    def run(mean_free, num_warmup, num_samples):
        spec = samplers.make_sampler(
            "nuts", num_warmup=num_warmup, num_samples=num_samples, n_chains=4
        )
        return samplers.run(spec, key, Harmonic(), progress=False, mean_free=mean_free)

    return run(None, 300, 1000), run(False, 100, 200)


def test_subspace_draws_are_mean_free_with_the_subspace_law(harmonic_nuts):
    chains, _ = harmonic_nuts
    target = Harmonic()
    assert chains.settings["mean_free"] and chains.positions.shape == (4, 1000, 10)
    particles = chains.positions.reshape(-1, 5, 2)
    np.testing.assert_allclose(particles.mean(axis=1), 0.0, atol=1e-5)
    # Centred coordinates: variance (1 - 1/n) / k = 0.32 (the full-space 1/k would be 0.4).
    variance = particles.reshape(-1, 10).var(axis=0)
    np.testing.assert_allclose(variance.mean(), (1 - 1 / 5) / target.k, rtol=0.04)
    np.testing.assert_allclose(variance, (1 - 1 / 5) / target.k, rtol=0.15)


def test_nuts_spends_far_fewer_gradients_per_draw_in_the_subspace(harmonic_nuts):
    subspace, full = harmonic_nuts
    assert not full.settings["mean_free"]
    # In the full space the centre of mass is flat: trajectories never U-turn along it.
    com_spread = full.positions.reshape(-1, 5, 2).mean(axis=1).std()
    assert com_spread > 10 * np.sqrt(1 / Harmonic().k)
    per_draw = lambda c: c.stats["n_grad_evals"].mean()  # noqa: E731
    assert per_draw(full) > 5 * per_draw(subspace)


def test_particle_targets_are_sampled_mean_free_by_default(key):
    spec = samplers.make_sampler("mala", num_warmup=20, num_samples=10, n_chains=2)
    start = 3.0 + jax.random.normal(key, (2, 8))
    chains = samplers.run(spec, key, targets.dw4(), initial_positions=start, progress=False)
    assert chains.settings["mean_free"] and chains.positions.shape == (2, 10, 8)
    np.testing.assert_allclose(chains.positions.reshape(-1, 4, 2).mean(axis=1), 0.0, atol=1e-5)
    gaussian = samplers.run(spec, key, targets.Gaussian(jnp.zeros(2), jnp.eye(2)), progress=False)
    assert not gaussian.settings["mean_free"]


def test_mean_free_true_on_a_target_without_particles_names_the_setting(key):
    spec = samplers.make_sampler("mala", num_warmup=0, num_samples=2, n_chains=2)
    with pytest.raises(ConfigError, match="mean_free"):
        samplers.run(spec, key, targets.ncsn_toy(), mean_free=True, progress=False)
