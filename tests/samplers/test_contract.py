"""The sampler contract: any BlackJAX SamplingAlgorithm runs, roles are explicit, the noise
process travels with the model, and shape mistakes are caught at the boundary."""

import blackjax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import ConfigError, DataError, samplers, targets
from scoresample.networks import EnergyMLP, ScoreMLP, ScoreNetwork
from scoresample.noise import VE, VP


def test_blackjax_mala_gives_the_same_draws_as_our_mala_spec(key):
    target, start = targets.gmm40(), np.array([[1.0, -2.0], [3.5, 0.5], [-4.0, 2.0]])
    ours = samplers.make_sampler("mala", num_warmup=0, step_size=2.0, num_samples=50)
    theirs = samplers.make_sampler(blackjax.mala(target.log_prob, 2.0), num_samples=50)
    a = samplers.run(ours, key, target, initial_positions=start, progress=False)
    b = samplers.run(theirs, key, initial_positions=start, progress=False)
    # Same keys, same kernel: the same accepted moves, and positions equal up to rounding
    # (our run passes the mixture's arrays as arguments; BlackJAX's closure embeds them as
    # constants, which XLA may fold into a different order of float operations).
    moved = lambda c: np.any(np.diff(c.positions, axis=1) != 0, axis=2)  # noqa: E731
    np.testing.assert_array_equal(moved(a), moved(b))
    np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=1e-5)
    assert b.sampler == "custom" and not b.particles
    assert 0.05 < moved(a).mean() < 0.95  # the chains both moved and rejected
    burnt = samplers.run(theirs.replace(name="bj", num_warmup=3), key, initial_positions=start)
    assert burnt.sampler == "bj" and not np.allclose(burnt.positions, b.positions)


def test_a_bare_sampling_algorithm_runs_with_its_own_statistics(key):
    target = targets.Gaussian(jnp.zeros(3), jnp.diag(jnp.array([0.5, 1.0, 2.0])))
    algorithm = blackjax.nuts(target.log_prob, 0.5, jnp.ones(3))
    chains = samplers.run(algorithm, key, initial_positions=np.zeros((2, 3)), progress=False)
    assert chains.positions.shape == (2, 1000, 3)
    assert np.all(chains.stats["n_grad_evals"] == chains.stats["n_steps"])
    assert {"tree_depth", "energy", "lp", "diverging", "acceptance_rate"} <= set(chains.stats)
    np.testing.assert_allclose(
        chains.stats["lp"], jax.vmap(target.log_prob)(chains.flat()).reshape(2, -1), rtol=1e-5
    )
    with pytest.raises(ConfigError, match="model: is given, but a SamplingAlgorithm"):
        samplers.run(algorithm, key, target, initial_positions=np.zeros((2, 3)))


def test_a_bare_function_must_say_its_role(key):
    ula = samplers.make_sampler("ula", step_size=0.1, num_samples=5, n_chains=2)
    start = np.ones((2, 2))
    with pytest.raises(ConfigError, match="bare function.*by keyword: log_prob=f"):
        samplers.run(ula, key, lambda x: -0.5 * jnp.sum(x**2), initial_positions=start)
    with pytest.raises(ConfigError, match="ula needs a score"):
        samplers.run(ula, key, log_prob=lambda x: -0.5 * jnp.sum(x**2), initial_positions=start)
    chains = samplers.run(ula, key, score=lambda x: -x, initial_positions=start, progress=False)
    assert np.all(np.abs(chains.positions) < 10)  # the score -x, not a log density, drove it
    with pytest.raises(ConfigError, match="score: is given twice"):
        samplers.run(ula, key, targets.ncsn_toy(), score=lambda x: -x)


def test_objects_give_every_role_they_have_methods_for():
    target, process = targets.ncsn_toy(), VP()
    model = samplers.sampling_model(target, process=process)
    x = jnp.array([0.3, -1.2])
    np.testing.assert_allclose(model.log_prob(x), target.log_prob(x))
    np.testing.assert_allclose(model.score(x), target.score(x))
    exact = target.noised(process.alpha(0.4), process.sigma(0.4)).score(x)
    np.testing.assert_allclose(model.noised_score(x, 0.4), exact, rtol=1e-6)
    energy = EnergyMLP(2, hidden=8, depth=1, key=jax.random.PRNGKey(0))
    roles = samplers.sampling_model(energy, process=VE(), t_min=0.2)
    np.testing.assert_allclose(roles.log_prob(x), -energy.energy(x, 0.2))
    np.testing.assert_allclose(roles.score(x), energy(x, 0.2), rtol=1e-6)
    assert samplers.sampling_model(target).noised_score is None  # no process, no noised score


def test_the_noise_process_comes_from_the_network(key):
    net = ScoreMLP(2, hidden=8, depth=1, key=jax.random.PRNGKey(0))
    spec = samplers.make_sampler("annealed_langevin", n_levels=2, n_steps_per_level=3, n_chains=6)
    given = samplers.run(spec, key, net, process=VP(), progress=False)
    carried = samplers.run(spec, key, net.with_process(VP()), progress=False)
    np.testing.assert_array_equal(given.positions, carried.positions)
    with pytest.raises(ConfigError, match=r"process: is VE\(.*\) but the model carries VP\(\)"):
        samplers.run(spec, key, net.with_process(VP()), process=VE())
    with pytest.raises(ConfigError, match="process: annealed_langevin needs the noise process"):
        samplers.run(spec, key, net)


class _WrongWidth(ScoreNetwork):
    """A score network whose output has the wrong size (3 for positions of size 2)."""

    dim: int = eqx.field(static=True, default=2)
    process: VP = VP()

    def __call__(self, y, t):
        return jnp.zeros(3)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        (
            "mala",
            {"log_prob": lambda x: -0.5 * x**2},
            r"log_prob: returns shape \(2,\).*shape \(\)",
        ),
        ("ula", {"score": lambda x: jnp.zeros(3)}, r"score: returns shape \(3,\).*\(2,\)"),
        ("annealed_langevin", {"model": _WrongWidth()}, r"noised_score: returns shape \(3,\)"),
    ],
)
def test_output_shapes_are_checked_before_sampling(name, kwargs, match, key):
    chain = {"num_warmup": 0, "step_size": 0.1} if name != "annealed_langevin" else {}
    spec = samplers.make_sampler(name, n_chains=2, **chain)
    with pytest.raises(DataError, match=match):
        samplers.run(spec, key, initial_positions=np.zeros((2, 2)), progress=False, **kwargs)


def test_targets_and_networks_name_both_shapes():
    with pytest.raises(DataError, match=r"GaussianMixture.score input: has shape \(3,\).*\(2,\)"):
        targets.gmm40().score(jnp.ones(3))
    with pytest.raises(DataError, match=r"DoubleWellParticles.log_prob input.*\(8,\)"):
        jax.jit(targets.dw4().log_prob)(jnp.ones(6))
    net = ScoreMLP(2, hidden=8, depth=1, key=jax.random.PRNGKey(0))
    with pytest.raises(DataError, match=r"ScoreMLP input: has shape \(2, 2\)"):
        net(jnp.ones((2, 2)), 0.5)
    assert targets.gmm40().score(jnp.ones(2)).shape == (2,)  # the right shape passes


def test_facts_about_samplers_are_read_from_the_spec():
    roles = {name: samplers.make_sampler(name, step_size=0.1).role for name in ("mala", "ula")}
    assert roles == {"mala": "log_prob", "ula": "score"}
    particles = {
        name: samplers.make_sampler(name).particles for name in samplers.SAMPLERS if name != "ula"
    }
    assert particles == {
        "mala": False,
        "hmc": False,
        "nuts": False,
        "annealed_langevin": True,
        "reverse_diffusion": True,
    }
    assert samplers.make_sampler("reverse_diffusion").role == "noised_score"


@pytest.mark.parametrize("name", ["annealed_langevin", "reverse_diffusion"])
def test_a_one_level_process_has_nothing_to_anneal(name, key):
    from scoresample.noise import FixedLevel

    net = ScoreMLP(2, hidden=8, depth=1, key=jax.random.PRNGKey(0)).with_process(FixedLevel(0.3))
    with pytest.raises(ConfigError, match="process: FixedLevel.*no noise to anneal"):
        samplers.run(samplers.make_sampler(name, n_chains=2), key, net)
    ula = samplers.make_sampler("ula", step_size=0.01, num_samples=3, n_chains=2)
    assert samplers.run(ula, key, net, progress=False).positions.shape == (2, 3, 2)
