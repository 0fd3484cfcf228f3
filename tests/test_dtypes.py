"""Results come in JAX's default float type: float32, or float64 under ``jax_enable_x64``.

The suite runs in both precisions (CI repeats this file, the targets and the samplers with
``JAX_ENABLE_X64=1``), so each entry point here must compute in float64 when asked to,
with no float32 step along the way, and stay float32 otherwise. The command line is
checked in float64 in ``tests/app/cli/test_float64.py``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import fit, samplers, targets, to_inference_data
from scoresample.diagnostics.arviz import group
from scoresample.estimators import score_identities
from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.noise import VE, VP
from scoresample.objectives import ESM, OBJECTIVES, ExactNoisedScore, make_objective

#: Stated here, not taken from the library, so the library cannot agree with itself.
FLOAT = np.dtype(np.float64 if jax.config.jax_enable_x64 else np.float32)


def floats(tree) -> list[np.dtype]:
    """The dtypes of the floating-point arrays in ``tree``."""
    arrays = [x for x in jax.tree.leaves(tree) if eqx.is_array(x) or isinstance(x, np.ndarray)]
    return [np.dtype(x.dtype) for x in arrays if np.issubdtype(x.dtype, np.floating)]


def assert_default_float(tree) -> None:
    found = floats(tree)
    assert found and all(dtype == FLOAT for dtype in found), found


@pytest.mark.parametrize("name", [info.name for info in targets.builtin_targets()])
def test_builtin_targets(name, key):
    target = targets.make_target(name)
    x = jnp.full(target.dim, 0.3)
    assert_default_float(eqx.filter_jit(lambda t, x: [t.log_prob(x), t.score(x)])(target, x))
    if isinstance(target, targets.ExactSampler):
        draws = eqx.filter_jit(lambda t, key: t.sample(key, 5))(target, key)
        assert draws.shape == (5, target.dim)
        assert_default_float(draws)


def test_noise_noised_marginals_and_estimators(key):
    target, process = targets.ncsn_toy(), VP()
    y = jnp.array([0.5, -0.2])
    assert_default_float([VE().sigma(0.3), process.alpha(0.3), process.sigma(0.3)])
    assert_default_float(ExactNoisedScore(target, process)(y, 0.4))
    assert_default_float(score_identities(target, process, y, 0.4, key, m=8))


def test_networks_and_every_objective(key):
    target, process = targets.ncsn_toy(), VE(0.05, 5.0)
    networks = [ScoreMLP(2, hidden=8, depth=1, key=key), EnergyMLP(2, hidden=8, depth=1, key=key)]
    options = {
        "tsm": {"clean_score": target.score},
        "kappa": {"kappa": 0.5, "clean_score": target.score},
        "esm": {"noised_score": ExactNoisedScore(target, process)},
        "kde_esm": {"data": target.sample(key, 32)},
        "dem": {"target": target, "k": 4, "identity": "kappa", "kappa": 0.3},
    }
    x, t = jnp.array([1.0, -0.5]), jnp.asarray(0.4)
    for net in networks:
        assert_default_float(net(x, t))
        for name in OBJECTIVES:
            objective = make_objective(name, process, **options.get(name, {}))
            assert_default_float(objective(net, x, t, key))
    assert_default_float(networks[1].energy(x, t))
    assert isinstance(make_objective("esm", process, **options["esm"]), ESM)


def test_fit_keeps_the_precision_of_the_model_and_its_history(key):
    data = targets.ncsn_toy().sample(key, 64)
    model = ScoreMLP(2, hidden=8, depth=1, key=key)
    result = fit(model, make_objective("dsm", VP()), data, steps=4, batch_size=16, key=key)
    assert_default_float(result.model)
    assert all(np.dtype(v.dtype) == FLOAT for v in result.history.values()), result.history


@pytest.mark.parametrize("name", list(samplers.SAMPLERS))
def test_every_sampler_draws_in_the_default_float(name, key):
    """MCMC on the log density or score, particles on the exact noised score."""
    settings = {"n_chains": 2, "num_samples": 5}
    if name in ("annealed_langevin", "reverse_diffusion"):
        settings = {"n_chains": 4, "n_levels": 2, "n_steps_per_level": 3, "n_steps": 5}
    settings |= (
        {"num_warmup": 0, "step_size": 0.05} if name in ("mala", "hmc", "nuts", "ula") else {}
    )
    known = samplers.sampler_settings(name)
    spec = samplers.make_sampler(name, **{k: v for k, v in settings.items() if k in known})
    chains = samplers.run(spec, key, targets.ncsn_toy(), process=VP(), progress=False)
    assert_default_float(chains.positions)
    assert all(dtype == FLOAT for dtype in floats(chains.stats)), chains.stats
    posterior = group(to_inference_data(chains), "posterior")
    assert all(np.dtype(v.dtype) == FLOAT for v in posterior.data_vars.values())


def test_non_additive_noise_targets_and_objectives(key):
    from numpyro.distributions.transforms import ExpTransform

    from scoresample.nonadditive import TransformedNoise
    from scoresample.objectives import NonAdditiveDSM, NonAdditiveTSM

    target = targets.lognormal_mixture([0.6, 0.4], [[0.2, -0.3], [1.1, 0.5]], 0.4)
    noise = TransformedNoise(ExpTransform(), VP())
    x, net = jnp.array([1.4, 0.8]), ScoreMLP(2, hidden=8, depth=1, key=key)
    values = eqx.filter_jit(lambda t: [t.log_prob(x), t.score(x), t.sample(key, 3)])(target)
    assert_default_float(values)
    assert_default_float(eqx.filter_jit(lambda t: t.noised_by(noise, 0.3).score(x))(target))
    losses = eqx.filter_jit(lambda objective: objective(net, x, 0.3, key))
    for objective in (NonAdditiveTSM(noise, clean_score=target.score), NonAdditiveDSM(noise)):
        assert_default_float(losses(objective))


def test_bridges_and_bridge_matching(key):
    from scoresample.bridges import MixtureBridge, identity_terms
    from scoresample.objectives import BridgeMatching

    gaussian = targets.GaussianMixture([1.0], [[0.0, 0.0]], 1.0)
    bridge = MixtureBridge(targets.ncsn_toy(), gaussian, 0.5)
    net = ScoreMLP(2, hidden=8, depth=1, key=key)

    @eqx.filter_jit
    def values(bridge, net):
        x0, x1, y = bridge.sample(key, 0.3, 4)
        return [
            [x0, x1, y, bridge.marginal(0.3).score(y[0])],
            bridge.posterior_sample(key, y[0], 0.3, 3),
            identity_terms(bridge, x0[0], x1[0], y[0], 0.3),
            BridgeMatching(bridge)(net, x0[0], 0.3, key),
        ]

    for value in values(bridge, net):
        assert_default_float(value)
