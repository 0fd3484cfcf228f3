"""``run`` compiles once per trace: a second identical call, and a sweep over any runtime
setting, compile nothing, and a cached program gives exactly the draws of a fresh one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import samplers, targets
from scoresample.noise import VE, VP

TARGET = targets.Gaussian(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))
START = np.array([[0.1, 0.2], [-0.3, 0.4], [1.0, -1.0]])
CHAIN = {"num_samples": 7, "n_chains": 3}

#: (sampler, fixed settings, runtime setting, first value, second value, run arguments)
RUNTIME = [
    ("mala", {"num_warmup": 0}, "step_size", 0.3, 0.6, {}),
    ("mala", {"num_warmup": 6}, "step_size", 0.3, 2.0, {}),
    ("mala", {"num_warmup": 6}, "inverse_mass_matrix", np.ones(2), np.array([3.0, 0.2]), {}),
    ("hmc", {"num_warmup": 0, "num_integration_steps": 3}, "step_size", 0.2, 0.4, {}),
    (
        "hmc",
        {"num_warmup": 0, "num_integration_steps": 3, "step_size": 0.3},
        "inverse_mass_matrix",
        np.ones(2),
        np.array([2.0, 0.5]),
        {},
    ),
    ("nuts", {"num_warmup": 0}, "step_size", 0.2, 0.5, {}),
    ("nuts", {"num_warmup": 6}, "inverse_mass_matrix", np.ones(2), np.array([3.0, 0.2]), {}),
    ("ula", {}, "step_size", 0.01, 0.1, {}),
    ("annealed_langevin", {"n_levels": 3, "n_steps_per_level": 2}, "step_size", 0.01, 0.2, {}),
    ("annealed_langevin", {"n_levels": 3, "n_steps_per_level": 2}, "sigma_first", 5.0, 9.0, {}),
    ("annealed_langevin", {"n_levels": 3, "n_steps_per_level": 2}, "sigma_last", 0.1, 0.3, {}),
    ("reverse_diffusion", {"n_steps": 4}, "t_start", 0.9, 0.6, {}),
    ("reverse_diffusion", {"n_steps": 4}, "t_end", 0.01, 0.2, {}),
    ("reverse_diffusion", {"n_steps": 4}, "time_grid", "uniform", "log_snr", {}),
    ("reverse_diffusion", {"n_steps": 4, "corrector_steps": 1}, "corrector_snr", 0.1, 0.3, {}),
]


def _spec(name, fixed, **value):
    chain = CHAIN if name not in ("annealed_langevin", "reverse_diffusion") else {"n_chains": 3}
    return samplers.make_sampler(name, **chain, **fixed, **value)


def _run(spec, key):
    particles = spec.particles
    return samplers.run(
        spec,
        key,
        TARGET,
        initial_positions=None if particles else START,
        process=VE(0.05, 10.0) if spec.name == "annealed_langevin" else VP(),
        progress=False,
    )


@pytest.mark.parametrize(
    ("name", "fixed", "setting", "first", "second", "kwargs"),
    RUNTIME,
    ids=[f"{r[0]}-{r[2]}-warmup{r[1].get('num_warmup', 0)}" for r in RUNTIME],
)
def test_a_runtime_setting_compiles_nothing_and_is_honoured(
    name, fixed, setting, first, second, kwargs, key
):
    assert setting in samplers.SAMPLERS[name].runtime
    samplers.clear_compiled()
    _run(_spec(name, fixed, **{setting: first}), key)
    cached = _run(_spec(name, fixed, **{setting: second}), key)
    assert cached.timing["compile"] == 0.0
    samplers.clear_compiled()
    fresh = _run(_spec(name, fixed, **{setting: second}), key)
    assert fresh.timing["compile"] > 0.0
    np.testing.assert_array_equal(cached.positions, fresh.positions)
    other = _run(_spec(name, fixed, **{setting: first}), key)
    assert not np.array_equal(other.positions, fresh.positions)  # the value was used


def test_an_identical_call_compiles_nothing_and_a_structural_change_compiles(key):
    spec = samplers.make_sampler("hmc", num_warmup=20, num_integration_steps=3, **CHAIN)
    first = samplers.run(spec, key, TARGET, initial_positions=START, progress=False)
    same = targets.Gaussian(TARGET.mean, TARGET.cov)  # an equal target, built anew
    again = samplers.run(spec, key, same, initial_positions=START, progress=False)
    assert again.timing["compile"] == 0.0
    np.testing.assert_array_equal(first.positions, again.positions)
    shifted = targets.Gaussian(TARGET.mean + 1.0, TARGET.cov)  # new arrays, same structure
    moved = samplers.run(spec, key, shifted, initial_positions=START, progress=False)
    assert moved.timing["compile"] == 0.0
    assert not np.allclose(moved.positions, first.positions)
    longer = spec.replace(num_integration_steps=4)
    assert samplers.run(longer, key, same, initial_positions=START).timing["compile"] > 0.0


def test_a_new_function_compiles_and_a_rebound_closure_is_not_stale(key):
    ula = samplers.make_sampler("ula", step_size=0.05, **CHAIN)
    scale = 1.0

    def score(x):
        return -x / scale

    first = samplers.run(ula, key, score=score, initial_positions=START, progress=False)
    again = samplers.run(ula, key, score=score, initial_positions=START, progress=False)
    assert again.timing["compile"] == 0.0
    scale = 100.0
    wider = samplers.run(ula, key, score=score, initial_positions=START, progress=False)
    assert wider.timing["compile"] > 0.0
    assert not np.allclose(wider.positions, first.positions)


def test_sequential_chains_give_the_vectorized_draws(key):
    spec = samplers.make_sampler("nuts", num_warmup=0, step_size=0.4, **CHAIN)
    chains = _run(spec.replace(chain_method="sequential"), key)
    reference = _run(spec.replace(chain_method="vectorized"), key)
    np.testing.assert_allclose(chains.positions, reference.positions, rtol=0, atol=1e-5)
    assert np.all(chains.stats["n_grad_evals"] == chains.stats["n_steps"])


def test_auto_runs_nuts_chains_one_by_one_on_cpu():
    nuts = samplers.make_sampler("nuts").build(samplers.sampling_model(TARGET), 2)
    mala = samplers.make_sampler("mala").build(samplers.sampling_model(TARGET), 2)
    from scoresample.samplers.run import _sequential

    assert nuts.variable_length and not mala.variable_length
    assert _sequential("auto", nuts) == (jax.default_backend() == "cpu")
    assert not _sequential("auto", mala) and _sequential("sequential", mala)
    assert not _sequential("vectorized", nuts)
