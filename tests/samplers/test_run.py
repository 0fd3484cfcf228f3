"""samplers.run: shapes and statistics, settings by name, reproducibility, chunked
progress, thinning, initial positions, learned models, and non-finite reporting."""

import importlib
import re

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import ConfigError, DataError, NonFiniteError, samplers, targets
from scoresample.chains import STAT_NAMES
from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.noise import VE, VP


def _fixed(name, **settings):
    """A sampler with a fixed step size and no warm-up."""
    return samplers.make_sampler(name, num_warmup=0, step_size=0.5, **settings)


@pytest.mark.parametrize(
    ("name", "settings", "match"),
    [
        ("nut", {}, "did you mean 'nuts'"),
        ("nuts", {"num_warmups": 10}, "nuts.num_warmups.*did you mean 'num_warmup'"),
        ("mala", {"step_size": 0.0}, "mala.step_size"),
        ("hmc", {"step_size": -1.0}, "hmc.step_size"),
        ("reverse_diffusion", {"n_steps": 0}, "reverse_diffusion.n_steps"),
        ("annealed_langevin", {"n_steps_per_level": 2.5}, "n_steps_per_level"),
        ("nuts", {"target_acceptance_rate": 1.2}, "target_acceptance_rate"),
        ("reverse_diffusion", {"time_grid": "log"}, "did you mean 'log_snr'"),
        ("ula", {"num_warmup": -1, "step_size": 0.1}, "ula.num_warmup"),
        ("ula", {}, r"ula.step_size: is required"),
    ],
)
def test_make_sampler_rejects_bad_settings(name, settings, match):
    with pytest.raises(ConfigError, match=match):
        samplers.make_sampler(name, **settings)


def test_settings_are_complete_and_replaceable():
    spec = samplers.make_sampler("nuts", num_samples=10)
    assert spec.settings["num_warmup"] == 1000 and spec.settings["max_num_doublings"] == 10
    assert spec.replace(num_samples=20).settings["num_samples"] == 20
    assert "corrector_steps" in samplers.sampler_settings("reverse_diffusion")


@pytest.mark.parametrize(
    ("spec", "kwargs", "match"),
    [
        (samplers.make_sampler("nuts", num_warmup=0), {}, "nuts.step_size"),
        (samplers.make_sampler("reverse_diffusion"), {}, "process"),
        (samplers.make_sampler("annealed_langevin"), {"process": VE()}, "model"),
    ],
)
def test_run_names_what_is_missing(spec, kwargs, match, key):
    with pytest.raises(ConfigError, match=match):
        samplers.run(spec, key, targets.funnel(), progress=False, **kwargs)


def test_initial_positions_are_checked(key):
    target, spec = targets.ncsn_toy(), _fixed("mala", num_samples=2)
    with pytest.raises(DataError, match="initial_positions"):
        samplers.run(spec, key, target, initial_positions=np.zeros((4, 3)), progress=False)
    with pytest.raises(NonFiniteError, match="initial_positions"):
        samplers.run(spec, key, target, initial_positions=np.full((4, 2), np.nan), progress=False)
    outside = targets.from_log_prob(lambda x: jnp.where(x[0] > 0, -x @ x, jnp.nan), dim=2)
    with pytest.raises(NonFiniteError, match=r"chains \[1\]"):
        samplers.run(spec, key, outside, initial_positions=[[1.0, 0], [-1.0, 0]], progress=False)
    with pytest.raises(ConfigError, match="initial_positions"):
        samplers.run(spec, key, log_prob=lambda x: -x @ x, progress=False)


@pytest.fixture(scope="module")
def nuts_chains():
    """NUTS with window adaptation on N(0, diag(0.25, 4))."""
    target = targets.Gaussian(jnp.zeros(2), jnp.diag(jnp.array([0.25, 4.0])))
    spec = samplers.make_sampler("nuts", num_warmup=1000, num_samples=200, n_chains=3)
    return samplers.run(spec, jax.random.PRNGKey(1), target, progress=False)


def test_chains_carry_arviz_statistics(nuts_chains):
    assert nuts_chains.positions.shape == (3, 200, 2) and nuts_chains.sampler == "nuts"
    assert set(nuts_chains.stats) == set(STAT_NAMES)
    assert set(nuts_chains.timing) == {"compile", "warmup", "sampling"}
    assert nuts_chains.settings["step_size"].shape == (3,)
    assert np.all(nuts_chains.stats["n_grad_evals"] == nuts_chains.stats["n_steps"])
    assert np.all(nuts_chains.stats["n_steps"] <= 2 ** nuts_chains.stats["tree_depth"])


def test_window_adaptation_learns_the_scales(nuts_chains):
    # Each chain adapts its own inverse mass matrix to the target variances; the last
    # slow window of Stan's schedule holds 500 draws (ESS > 100), so a variance
    # estimate within a factor 2 of the truth is a > 5 sigma event to miss.
    ratio = nuts_chains.settings["inverse_mass_matrix"] / np.array([0.25, 4.0])
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    assert 0.6 < nuts_chains.stats["acceptance_rate"].mean() < 0.95


@pytest.mark.parametrize("adapt_mass_matrix", [True, False])
def test_mala_warmup_reaches_its_target(adapt_mass_matrix, key):
    target = targets.Gaussian.standard(10)
    spec = samplers.make_sampler(
        "mala", num_warmup=400, num_samples=200, n_chains=4, adapt_mass_matrix=adapt_mass_matrix
    )
    chains = samplers.run(spec, key, target, progress=False)
    assert 0.45 < chains.stats["acceptance_rate"].mean() < 0.7


def test_thinning_sums_gradient_evaluations(key):
    spec = _fixed("hmc", num_integration_steps=3, thinning=4, num_samples=5, n_chains=2)
    chains = samplers.run(spec, key, targets.ncsn_toy(), progress=False)
    assert np.all(chains.stats["n_grad_evals"] == 12) and np.all(chains.stats["n_steps"] == 3)
    assert chains.total_grad_evals() == 2 * 5 * 12


def test_draws_do_not_depend_on_chunking_or_chain_count(key):
    target = targets.ncsn_toy()
    spec = _fixed("mala", num_samples=41, n_chains=3)  # 41 draws: a padded last chunk
    quiet = samplers.run(spec, key, target, progress=False)
    chunked = samplers.run(spec, key, target, progress=True)
    np.testing.assert_array_equal(quiet.positions, chunked.positions)
    more = samplers.run(spec, key, target, n_chains=5, progress=False)
    np.testing.assert_allclose(more.positions[:3], quiet.positions, atol=1e-5)
    assert not np.allclose(quiet.positions[0], quiet.positions[1])  # a key per chain


def test_learned_energy_and_score_networks_run(key):
    energy = EnergyMLP(2, hidden=16, depth=2, activation="tanh", key=jax.random.PRNGKey(0))
    start = np.random.default_rng(0).normal(size=(4, 2))  # networks carry no dim
    spec = _fixed("mala", num_samples=20)
    chains = samplers.run(spec, key, energy, initial_positions=start, t_min=0.1, progress=False)
    lp = -jax.vmap(lambda y: energy.energy(y, 0.1))(chains.flat())
    np.testing.assert_allclose(chains.stats["lp"].ravel(), lp, rtol=1e-5, atol=1e-6)
    score = ScoreMLP(2, hidden=16, depth=2, key=jax.random.PRNGKey(1))
    ula = samplers.make_sampler("ula", step_size=0.01, num_samples=20)
    assert samplers.run(ula, key, score, initial_positions=start).positions.shape == (4, 20, 2)


@pytest.mark.parametrize(
    ("spec", "network", "kwargs"),
    [
        (samplers.make_sampler("mala", num_warmup=3, num_samples=2), EnergyMLP, {"t_min": 0.1}),
        (samplers.make_sampler("ula", step_size=0.01, num_warmup=3, num_samples=2), ScoreMLP, {}),
        (samplers.make_sampler("annealed_langevin", n_levels=2), ScoreMLP, {"process": VP()}),
    ],
    ids=["mala-adaptation", "ula-burn-in", "annealed-langevin"],
)
def test_network_weights_are_arguments_not_constants(spec, network, kwargs, key, monkeypatch):
    """Every program ``run`` compiles takes the network's weights as a runtime argument.

    Weights closed over by the sampler would be constants of the program: XLA then
    constant-folds layers against them (slow compiles, "Constant folding" alarms on
    stderr), embeds them in the program and compiles again for new weights. The StableHLO
    of each compiled program is recorded; with a hidden width (17) that no other array
    has, a weight shows up as a ``tensor<17x...>`` argument (of the programs that use the
    network), never as a ``constant``.
    """
    module = importlib.import_module("scoresample.samplers._programs")
    compiled, programs = module.compiled, []

    def recording_compiled(key, make, args, timing, pins=()):
        programs.append(make().lower(*args).as_text())
        return compiled(None, make, args, timing, pins)  # never cached: every program seen

    monkeypatch.setattr(module, "compiled", recording_compiled)
    net = network(2, hidden=17, depth=2, embed=4, process=VP(), key=jax.random.PRNGKey(0))
    start = np.zeros((2, 2))
    samplers.run(spec, key, net, initial_positions=start, progress=False, **kwargs)
    assert len(programs) == 2 + (spec.settings.get("num_warmup", 0) > 0)
    assert "tensor<17x17x" in programs[-1]  # the draws use the network
    for program in programs:
        assert not re.search(r"constant .*tensor<(\d+x)*17x", program)


def test_particle_samplers_return_one_chain_of_independent_draws(key):
    spec = samplers.make_sampler("reverse_diffusion", n_steps=20, corrector_steps=1, n_chains=50)
    start = np.random.default_rng(0).normal(size=(50, 2))  # a bare function has no dim
    chains = samplers.run(
        spec, key, noised_score=lambda y, t: -y, process=VP(), initial_positions=start
    )
    assert chains.positions.shape == (1, 50, 2) and chains.stats["diverging"].shape == (1, 50)
    assert np.all(chains.stats["n_grad_evals"] == 20 * 2 + 1)
    assert len(chains.settings["times"]) == 21


def _nan_beyond_21():
    """Modes at x_0 = -20 and 20; log density and score are NaN where ``x_0 > 21``."""
    modes = targets.GaussianMixture([0.5, 0.5], [[-20.0, 0.0], [20.0, 0.0]], 1.0)
    return targets.from_log_prob(lambda x: modes.log_prob(x) + 0 * jnp.sqrt(21 - x[0]), dim=2)


@pytest.mark.parametrize("name", ["mala", "hmc", "nuts", "ula"])
def test_non_finite_values_are_flagged_not_propagated(name, key):
    spec = _fixed(name, num_samples=30, n_chains=2)
    start = np.array([[-20.0, 0.0], [20.0, 0.0]])  # chain 0 cannot cross to the NaN side
    with pytest.warns(samplers.NonFiniteWarning, match=r"chain\(s\) \[1\]"):
        chains = samplers.run(spec, key, _nan_beyond_21(), initial_positions=start, progress=False)
    assert np.all(np.isfinite(chains.positions)) and np.all(chains.positions[..., 0] <= 21.0)
    assert chains.stats["diverging"][1].any() and not chains.stats["diverging"][0].any()


def test_particles_with_non_finite_scores_are_flagged(key):
    process = VE(0.01, 20.0)

    def score_fn(y, t):  # NaN far beyond where any particle from N(0, 20^2) travels
        return jnp.where(y[0] > 1000.0, jnp.nan, -y / (1 + process.sigma(t) ** 2))

    start = np.array(20.0 * jax.random.normal(key, (200, 2)))
    start[[3, 50], 0] = 2000.0
    spec = samplers.make_sampler("reverse_diffusion", n_steps=10, n_chains=200)
    with pytest.warns(samplers.NonFiniteWarning, match=r"reverse_diffusion.*\[3, 50\]"):
        chains = samplers.run(
            spec, key, noised_score=score_fn, process=process, initial_positions=start
        )
    np.testing.assert_array_equal(np.flatnonzero(chains.stats["diverging"]), [3, 50])
    assert np.all(np.isfinite(chains.positions))


def test_mala_kernel_is_blackjax_mala(key):
    target = targets.ncsn_toy()
    ours = samplers.mala.as_top_level_api(target.log_prob, 0.7)
    theirs = blackjax.mala(target.log_prob, 0.7)
    state_ours, state_theirs = ours.init(jnp.array([4.0, 6.0])), theirs.init(jnp.array([4.0, 6.0]))
    step_ours, step_theirs = jax.jit(ours.step), jax.jit(theirs.step)
    for step_key in jax.random.split(key, 20):
        state_ours, info = step_ours(step_key, state_ours)
        state_theirs, info_theirs = step_theirs(step_key, state_theirs)
        np.testing.assert_array_equal(state_ours.position, state_theirs.position)
        assert info.acceptance_rate == info_theirs.acceptance_rate and not info.proposal_is_invalid
