"""User log densities and NumPyro models as targets."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import potential_energy

from scoresample import targets as T
from scoresample.errors import ConfigError

J = 8
Y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(sigma, y=None):
    """Non-centred eight schools (Rubin 1981; Gelman et al., BDA3 Sec. 5.5)."""
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("school", sigma.shape[0]):
        theta_raw = numpyro.sample("theta_raw", dist.Normal(0.0, 1.0))
        theta = numpyro.deterministic("theta", mu + tau * theta_raw)
        numpyro.sample("y", dist.Normal(theta, sigma), obs=y)


def test_numpyro_target_matches_potential_energy(key):
    target = T.from_numpyro(eight_schools, SIGMA, y=Y)
    assert target.dim == 10
    names = target.coordinate_names()
    assert names[:2] == ["mu", "tau"] and names[2] == "theta_raw[0]" and len(names) == 10
    xs = jax.random.normal(key, (5, 10))
    for x in xs:
        params = target.unconstrained(x)
        expected = -potential_energy(eight_schools, (SIGMA,), {"y": Y}, params)
        np.testing.assert_allclose(target.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(
        target.score_batch(xs), jax.vmap(jax.grad(target.log_prob))(xs), rtol=1e-5, atol=1e-5
    )


def test_numpyro_constrain_maps_to_named_sites(key):
    target = T.from_numpyro(eight_schools, SIGMA, y=Y)
    xs = jax.random.normal(key, (4, 10))
    sites = target.constrain(xs)
    assert sites["theta"].shape == (4, J)
    np.testing.assert_allclose(sites["tau"], jnp.exp(xs[:, 1]), rtol=1e-5)  # tau > 0 via exp
    np.testing.assert_allclose(
        sites["theta"], sites["mu"][:, None] + sites["tau"][:, None] * sites["theta_raw"], rtol=1e-5
    )


def test_from_log_prob_checks_its_input():
    t = T.from_log_prob(lambda x: -0.5 * jnp.sum(x**2), 3)
    np.testing.assert_allclose(t.score(jnp.ones(3)), -jnp.ones(3))
    with pytest.raises(ConfigError, match="log_prob"):
        T.from_log_prob(lambda x: -0.5 * x**2, 3)
    with pytest.raises(ConfigError, match="dim"):
        T.from_log_prob(lambda x: -0.5 * jnp.sum(x**2), 0)
    with pytest.raises(ConfigError, match="log_prob"):
        T.from_log_prob("not a function", 2)


def test_target_passes_through_jit_as_data():
    target = T.from_numpyro(eight_schools, SIGMA, y=Y)
    value = jax.jit(lambda t, x: t.log_prob(x))(target, jnp.zeros(10))
    assert np.isfinite(value)
