"""Eight schools (Rubin 1981; Gelman et al., BDA3 Sec. 5.5), non-centred.

Used by ``models/eight_schools.toml``: ``model`` is the NumPyro model and ``data``
returns its ``(args, kwargs)``.
"""

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def model(sigma, y=None):
    """``theta_j = mu + tau * theta_raw_j``, ``y_j ~ N(theta_j, sigma_j)``."""
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("school", sigma.shape[0]):
        theta_raw = numpyro.sample("theta_raw", dist.Normal(0.0, 1.0))
        theta = numpyro.deterministic("theta", mu + tau * theta_raw)
        numpyro.sample("y", dist.Normal(theta, sigma), obs=y)


def data():
    """The observed effects and their standard errors as ``(args, kwargs)``."""
    return (jnp.asarray(SIGMA),), {"y": jnp.asarray(Y)}
