"""User log densities and NumPyro models as targets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import zoo_module
from numpyro.infer.util import potential_energy

from scoresample import targets as T
from scoresample.errors import ConfigError

#: Non-centred eight schools, the zoo's model and data.
_EIGHT_SCHOOLS = zoo_module("eight_schools")
eight_schools = _EIGHT_SCHOOLS.model
(SIGMA,), _observed = _EIGHT_SCHOOLS.data()
Y = _observed["y"]
J = SIGMA.shape[0]


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
