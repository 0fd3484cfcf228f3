"""The built-in catalogue, published constants and input validation."""

import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import targets as T
from scoresample.errors import ConfigError, NonFiniteError


def test_gmm40_reproduces_the_published_means():
    gm = T.gmm40()
    assert gm.n_components == 40 and gm.dim == 2
    np.testing.assert_allclose(gm.means[0], [-0.2995, 21.4577], atol=1e-4)
    np.testing.assert_allclose(gm.scales, np.full((40, 2), 1.3132616), rtol=1e-6)
    np.testing.assert_allclose(gm.weights, np.full(40, 1 / 40), rtol=1e-6)
    assert float(jnp.max(jnp.abs(gm.means))) <= 40.0


def test_ncsn_toy():
    toy = T.ncsn_toy()
    np.testing.assert_allclose(toy.weights, [0.8, 0.2])
    np.testing.assert_allclose(toy.means, [[5, 5], [-5, -5]])


def test_catalogue_lists_every_builtin_with_capabilities():
    infos = {info.name: info for info in T.builtin_targets()}
    assert set(infos) >= {"gmm40", "ncsn_toy", "double_well", "many_well", "dw4", "lj13", "funnel"}
    assert infos["many_well"].dim == 32 and "sample" in infos["many_well"].capabilities
    assert infos["gmm40"].capabilities == ("sample", "noised", "log_Z")
    assert infos["lj13"].dim == 39 and "sample" not in infos["lj13"].capabilities


def test_make_target_suggests_a_name():
    with pytest.raises(ConfigError, match="did you mean 'gmm40'"):
        T.make_target("gmm04")
    with pytest.raises(ConfigError, match=r"target\.width.*its parameters are: dim"):
        T.make_target("many_well", width=3)
    assert T.make_target("many_well", dim=8).dim == 8


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"weights": [0.5, -0.5]}, ConfigError, "weights"),
        ({"weights": [1.0]}, ConfigError, "weights"),
        ({"scales": [1.0, 0.0]}, ConfigError, "scales"),
        ({"scales": np.ones((3, 2))}, ConfigError, "scales"),
        ({"means": [[0.0, np.nan], [1.0, 1.0]]}, NonFiniteError, "means"),
    ],
)
def test_mixture_rejects_bad_parameters(kwargs, error, field):
    params = {"weights": [0.5, 0.5], "means": [[0.0, 0.0], [1.0, 1.0]], "scales": 1.0, **kwargs}
    with pytest.raises(error, match=f"GaussianMixture.{field}"):
        T.GaussianMixture(**params)


def test_gaussian_rejects_a_non_positive_definite_covariance():
    with pytest.raises(ConfigError, match="Gaussian.cov.*positive definite"):
        T.Gaussian(jnp.zeros(2), jnp.array([[1.0, 2.0], [2.0, 1.0]]))


def test_mixture_weights_are_normalised():
    gm = T.GaussianMixture([2.0, 6.0], [[0.0], [1.0]], [1.0, 2.0])
    np.testing.assert_allclose(gm.weights, [0.25, 0.75])
    assert gm.scales.shape == (2, 1)


def test_two_moons_target_matches_the_data_set(key):
    """The data set follows the moons target: same mean log density as exact samples."""
    import jax

    from scoresample import two_moons

    target = T.two_moons_target(noise=0.1)
    k1, k2 = jax.random.split(key)
    data = np.asarray(two_moons(k1, 2000, noise=0.1))
    exact = np.asarray(target.sample(k2, 2000))
    # mean log density of data under the target equals that of exact samples (z-test)
    lp_data = np.asarray(target.log_prob_batch(jnp.asarray(data)), np.float64)
    lp_exact = np.asarray(target.log_prob_batch(jnp.asarray(exact)), np.float64)
    z = (lp_data.mean() - lp_exact.mean()) / np.sqrt(lp_data.var() / 2000 + lp_exact.var() / 2000)
    assert abs(z) < 4
    # negative control: a wider noise is detected by the same statistic
    wide = np.asarray(two_moons(k1, 2000, noise=0.15))
    lp_wide = np.asarray(target.log_prob_batch(jnp.asarray(wide)), np.float64)
    z_wide = (lp_wide.mean() - lp_exact.mean()) / np.sqrt(
        lp_wide.var() / 2000 + lp_exact.var() / 2000
    )
    assert z_wide < -8
