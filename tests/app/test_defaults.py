"""Python and TOML defaults agree: every ``[score.*]`` default equals the default of the
library argument it configures, read from the library's signature, so that neither
side can drift alone.

``[score.data]``'s MCMC settings (100 chains, 500 warm-up steps) have no library
counterpart: they are the training-data run of the app, not a sampler's defaults.
"""

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scoresample.app.config import NetworkConfig, ScoreConfig, TrainingConfig
from scoresample.app.pipeline.build import build_network, build_optimizer
from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.networks.mlp import layer_widths
from scoresample.noise import VE, VP
from scoresample.training import DEFAULT_OPTIMIZER, fit


def default(function, name: str):
    """The default of argument ``name`` of ``function`` (a class: its ``__init__``)."""
    return inspect.signature(function).parameters[name].default


@pytest.mark.parametrize(
    ("field", "argument"),
    [
        ("steps", "steps"),
        ("batch_size", "batch_size"),
        ("ema", "ema_decay"),
        ("checkpoint_every", "checkpoint_every"),
        ("t_sampling", "times"),
        ("sigma", "sigmas"),
    ],
)
def test_training_defaults_are_fits(field, argument):
    assert getattr(TrainingConfig(), field) == default(fit, argument)


@pytest.mark.parametrize("network", [ScoreMLP, EnergyMLP])
@pytest.mark.parametrize("field", ["embed", "activation", "scale_by_sigma"])
def test_network_defaults_are_the_networks(network, field):
    assert getattr(NetworkConfig(), field) == default(network, field)


@pytest.mark.parametrize("network", [ScoreMLP, EnergyMLP])
def test_default_hidden_layers_are_the_networks(network):
    widths = layer_widths(default(network, "hidden"), default(network, "depth"))
    assert tuple(NetworkConfig().hidden) == widths


def test_the_default_network_of_a_config_is_the_default_score_mlp():
    """End to end: the same key gives the same weights, widths, embedding and activation."""
    key = jax.random.PRNGKey(0)
    built = build_network(ScoreConfig(), 3, VP(), np.zeros((4, 3)), key)
    assert eqx.tree_equal(built, ScoreMLP(3, process=VP(), key=key))
    assert not eqx.tree_equal(built, ScoreMLP(3, embed=64, process=VP(), key=key))


def test_noise_defaults_are_ves():
    config = ScoreConfig()
    assert (config.sigma_min, config.sigma_max) == (
        default(VE, "sigma_min"),
        default(VE, "sigma_max"),
    )


def updates(optimizer, steps: int = 3) -> list[np.ndarray]:
    """Updates of ``optimizer`` over ``steps`` steps of fixed non-zero gradients."""
    params = {"w": jnp.linspace(-1.0, 2.0, 5)}
    grads = {"w": jnp.array([0.3, -1.0, 0.01, 2.0, -0.5])}
    state, out = optimizer.init(params), []
    for _ in range(steps):
        step, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, step)
        out.append(np.asarray(step["w"]))
    return out


def test_default_optimizer_is_the_configs():
    np.testing.assert_array_equal(
        updates(build_optimizer(ScoreConfig())), updates(DEFAULT_OPTIMIZER)
    )
    # The comparison sees the weight decay and the learning rate.
    for other in (optax.adamw(1e-3, weight_decay=1e-2), optax.adamw(2e-3, weight_decay=1e-4)):
        assert not np.allclose(updates(other), updates(DEFAULT_OPTIMIZER))
