"""Particle systems: invariances of the energy and the conventions of LJ-13."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import targets as T
from scoresample.errors import ConfigError


def _rotation(space_dim, key):
    q, r = jnp.linalg.qr(jax.random.normal(key, (space_dim, space_dim)))
    return q * jnp.sign(jnp.diag(r))[None, :]


def _configuration(target, key):
    """A spread-out configuration: particles on a jittered lattice (no near collisions)."""
    n, s = target.n_particles, target.space_dim
    lattice = jnp.stack(jnp.meshgrid(*[jnp.arange(3.0)] * s, indexing="ij"), -1).reshape(-1, s)
    spacing = 4.0 if isinstance(target, T.DoubleWellParticles) else 1.1
    jitter = 0.1 * jax.random.normal(key, (n, s))
    return (spacing * lattice[:n] + jitter).reshape(-1)


@pytest.mark.parametrize("factory", [T.dw4, T.lj13], ids=["dw4", "lj13"])
def test_invariances(factory, key):
    target = factory()
    k1, k2, k3, k4 = jax.random.split(key, 4)
    x = _configuration(target, k1)
    particles = x.reshape(target.n_particles, target.space_dim)
    base = target.log_prob(x)
    shifted = (particles + jax.random.normal(k2, (1, target.space_dim))).reshape(-1)
    rotated = (particles @ _rotation(target.space_dim, k3).T).reshape(-1)
    permuted = particles[jax.random.permutation(k4, target.n_particles)].reshape(-1)
    for other in (shifted, rotated, permuted):
        np.testing.assert_allclose(target.log_prob(other), base, rtol=1e-5, atol=1e-4)
    broken = particles.at[0].add(0.3).reshape(-1)
    assert abs(float(target.log_prob(broken) - base)) > 1e-2


@pytest.mark.parametrize("factory", [T.dw4, T.lj13], ids=["dw4", "lj13"])
def test_scores_sum_to_zero_over_particles(factory, key):
    target = factory()
    x = _configuration(target, key)
    score = target.score(x).reshape(target.n_particles, target.space_dim)
    assert float(jnp.max(jnp.abs(score))) > 1e-2
    np.testing.assert_allclose(score.sum(axis=0), 0.0, atol=1e-3 * float(jnp.max(jnp.abs(score))))


def test_dw4_energy_by_hand():
    """Two pairs at the minimising distance 4 + sqrt(4 / 1.8), others computed explicitly."""
    x = jnp.array([0.0, 0.0, 5.0, 0.0, 0.0, 3.0, 5.0, 3.0])
    d = np.array([5.0, 3.0, np.hypot(5, 3), np.hypot(5, 3), 3.0, 5.0])
    expected = np.sum(0.9 * (d - 4) ** 4 - 4 * (d - 4) ** 2)
    np.testing.assert_allclose(T.dw4().energy(x), expected, rtol=1e-6)


def test_lj13_conventions():
    """The iDEM (ordered-pair) sum is twice the standard one; the trap term is shared."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=39) * 1.2)
    ordered, unordered = T.lj13("ordered"), T.lj13("unordered")
    trap = 0.5 * jnp.sum(ordered.remove_mean(x[None])[0] ** 2)
    np.testing.assert_allclose(
        ordered.energy(x) - trap, 2 * (unordered.energy(x) - trap), rtol=1e-5
    )
    two = T.LennardJones(n_particles=2, space_dim=3, pair_sum="unordered", oscillator_scale=0.0)
    pair = jnp.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(two.energy(pair), -1.0, rtol=1e-5)  # minimum -eps at r = r_m


def test_lj_rejects_unknown_convention():
    with pytest.raises(ConfigError, match="pair_sum"):
        T.LennardJones(pair_sum="both")


@pytest.mark.parametrize("factory", [T.dw4, T.lj13], ids=["dw4", "lj13"])
def test_particle_targets_declare_their_protocols(factory, key):
    target = factory()
    assert isinstance(target, T.MeanFree) and isinstance(target, T.ParticleSystem)
    assert "remove_mean" in T.capabilities(target)
    xs = target.remove_mean(jax.random.normal(key, (3, target.dim)))
    centre = np.asarray(xs).reshape(3, target.n_particles, target.space_dim).mean(axis=1)
    np.testing.assert_allclose(centre, 0.0, atol=1e-6)


@pytest.mark.parametrize("factory", [T.gmm40, T.double_well, T.ncsn_toy])
def test_other_targets_are_neither_mean_free_nor_particle_systems(factory):
    """Negative control: the protocols are not satisfied by accident."""
    target = factory()
    assert not isinstance(target, T.MeanFree) and not isinstance(target, T.ParticleSystem)
    assert "remove_mean" not in T.capabilities(target)
