"""Score and energy networks: shapes, configurations, sigma scaling, sign conventions."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample.errors import ConfigError
from scoresample.networks import EnergyMLP, ScoreMLP, SinusoidalEmbedding
from scoresample.noise import VE

PROCESS = VE(0.01, 10.0)


def n_params(model) -> int:
    layers = model.body.mlp.layers
    return sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(layers, eqx.is_array)))


@pytest.mark.parametrize("network", [ScoreMLP, EnergyMLP])
def test_small_tanh_and_3x128_silu_are_expressible(network, key):
    for width in (16, 32):
        tanh = network(2, hidden=width, depth=2, embed=8, activation="tanh", key=key)
        out = 2 if network is ScoreMLP else 1
        assert n_params(tanh) == (10 + 1) * width + (width + 1) * width + (width + 1) * out
        assert tanh.body.mlp.activation is jnp.tanh
    silu = network(2, hidden=128, depth=3, activation="silu", key=key)
    assert [layer.out_features for layer in silu.body.mlp.layers[:-1]] == [128, 128, 128]
    assert silu.body.mlp.activation is jax.nn.silu
    widths = network(2, hidden=(16, 32), key=key)
    assert [layer.out_features for layer in widths.body.mlp.layers[:-1]] == [16, 32]


def test_score_mlp_maps_positions_and_times(key):
    model = ScoreMLP(3, hidden=16, depth=2, key=key)
    ys = jax.random.normal(key, (5, 3))
    assert jax.vmap(model)(ys, jnp.linspace(0, 1, 5)).shape == (5, 3)
    assert model.dim == 3 and EnergyMLP(3, hidden=16, depth=2, key=key).dim == 3
    assert ScoreMLP(3, embed=0, key=key)(ys[0], 0.3).shape == (3,)


def test_scale_by_sigma_divides_the_output(key):
    plain = ScoreMLP(2, hidden=16, process=PROCESS, embed_of="log_sigma", key=key)
    scaled = ScoreMLP(
        2, hidden=16, process=PROCESS, embed_of="log_sigma", scale_by_sigma=True, key=key
    )
    y, t = jnp.array([0.3, -1.2]), 0.37
    np.testing.assert_allclose(scaled(y, t) * PROCESS.sigma(t), plain(y, t), rtol=1e-5)


def test_embedding_of_log_sigma(key):
    embedding = SinusoidalEmbedding(8, of="log_sigma", process=PROCESS, max_frequency=4.0)
    phases = np.geomspace(1.0, 4.0, 4) * np.log(float(PROCESS.sigma(0.25)))
    np.testing.assert_allclose(
        embedding(0.25), np.concatenate([np.sin(phases), np.cos(phases)]), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 7}, "embedding.size"),
        ({"of": "log_sigma"}, "embedding.process"),
        ({"of": "sigma"}, "embedding.of"),
    ],
)
def test_embedding_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        SinusoidalEmbedding(**kwargs)


def test_network_errors_name_the_field(key):
    with pytest.raises(ConfigError, match="activation"):
        ScoreMLP(2, activation="sigmoidish", key=key)
    with pytest.raises(ConfigError, match="network.process"):
        ScoreMLP(2, scale_by_sigma=True, key=key)
    with pytest.raises(ConfigError, match="network.depth"):
        EnergyMLP(2, depth=0, key=key)


def test_energy_score_is_minus_the_energy_gradient(key):
    model = EnergyMLP(2, hidden=32, depth=2, activation="tanh", key=key)
    ys = jax.random.normal(key, (16, 2))
    t = jnp.full((16,), 0.4)
    scores = jax.vmap(model)(ys, t)
    np.testing.assert_allclose(scores, -jax.vmap(jax.grad(model.energy))(ys, t), rtol=1e-6)
    # Sign: a small step along the score lowers the energy (raises the density).
    energies = jax.vmap(model.energy)(ys, t)
    moved = jax.vmap(model.energy)(ys + 1e-3 * scores, t)
    assert np.all(moved < energies)
