"""ArviZ conversion, summary and netCDF files, under whichever ArviZ major version is installed."""

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from scoresample.chains import Chains
from scoresample.diagnostics import (
    SUMMARY_COLUMNS,
    load_chains,
    save_chains,
    summary,
    to_inference_data,
)
from scoresample.diagnostics.arviz import ARVIZ_MAJOR, az
from scoresample.diagnostics.convergence import energy_bfmi, separated_chain_groups
from scoresample.errors import DataError
from scoresample.targets import dw4, from_numpyro, ncsn_toy


def iid_chains(key, n_chains=4, n_draws=500, dim=3, **kwargs) -> Chains:
    """Exact i.i.d. N(0, I) draws shaped as chains: the healthy case."""
    positions = np.asarray(jax.random.normal(key, (n_chains, n_draws, dim)))
    return Chains(positions, **kwargs)


def ar1(key, rho, shape) -> np.ndarray:
    """Stationary AR(1) series along axis 1 with unit marginal variance."""
    noise = np.asarray(jax.random.normal(key, shape))
    out = np.empty(shape)
    out[:, 0] = noise[:, 0]
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + np.sqrt(1 - rho**2) * noise[:, t]
    return out


@pytest.fixture(scope="module")
def trapped_mala_chains() -> Chains:
    """MALA on the two-Gaussian toy: two chains start in each mode and never cross."""
    toy = ncsn_toy()
    mala = blackjax.mala(toy.log_prob, 0.5)

    def run(key, x0):
        def step(state, k):
            state, info = mala.step(k, state)
            return state, (state.position, info.acceptance_rate)

        _, out = jax.lax.scan(step, mala.init(x0), jax.random.split(key, 1000))
        return out

    starts = jnp.array([[5.0, 5.0], [5.0, 5.0], [-5.0, -5.0], [-5.0, -5.0]])
    keys = jax.random.split(jax.random.PRNGKey(7), 4)
    positions, acceptance = jax.jit(jax.vmap(run))(keys, starts)
    stats = {"acceptance_rate": np.asarray(acceptance), "n_grad_evals": np.ones((4, 1000))}
    return Chains(np.asarray(positions), stats, sampler="mala")


def test_posterior_and_sample_stats_layout(key):
    chains = iid_chains(key, stats={"diverging": np.zeros((4, 500), bool)}, sampler="nuts")
    idata = to_inference_data(chains)
    x = idata["posterior"]["x"]
    assert x.dims == ("chain", "draw", "dim")
    assert x.shape == (4, 500, 3)
    np.testing.assert_array_equal(x.values, chains.positions)
    assert list(idata["sample_stats"]["diverging"].dims) == ["chain", "draw"]


def test_coordinate_names_chains_then_target(key):
    named = iid_chains(key, dim=2, coordinate_names=["alpha", "beta"])
    assert list(to_inference_data(named)["posterior"]["dim"].values) == ["alpha", "beta"]
    particles = Chains(np.zeros((2, 10, 8)))
    names = list(to_inference_data(particles, dw4())["posterior"]["dim"].values)
    assert names[:3] == ["p0.x", "p0.y", "p1.x"] and names[-1] == "p3.y"
    with pytest.raises(DataError, match="coordinate_names"):
        to_inference_data(Chains(np.zeros((2, 10, 3)), coordinate_names=["a"]))


def test_numpyro_sites_are_named_and_constrained(key):
    def model():
        numpyro.sample("mu", dist.Normal(0.0, 1.0))
        numpyro.sample("tau", dist.HalfNormal(1.0))
        numpyro.sample("theta", dist.Normal(0.0, 1.0).expand([2]))

    target = from_numpyro(model)
    chains = iid_chains(key, n_chains=2, n_draws=50, dim=target.dim)
    posterior = to_inference_data(chains, target)["posterior"]
    assert list(posterior["dim"].values) == ["mu", "tau", "theta[0]", "theta[1]"]
    tau = posterior["tau"].values
    assert tau.shape == (2, 50) and np.all(tau > 0)
    np.testing.assert_allclose(tau, np.exp(chains.positions[:, :, 1]), rtol=1e-5)
    assert "tau" in summary(chains, target).table.index


def test_summary_columns_and_labels_for_healthy_chains(key):
    report = summary(iid_chains(key, coordinate_names=["a", "b", "c"]))
    assert tuple(report.table.columns) == SUMMARY_COLUMNS
    assert list(report.table.index) == ["x[a]", "x[b]", "x[c]"]
    assert report.ok, report.warnings
    assert report.n_divergent == 0 and report.bfmi is None
    assert "r_hat" in str(report)


def test_rhat_flags_mala_chains_trapped_in_different_modes(trapped_mala_chains):
    report = summary(trapped_mala_chains)
    assert np.all(report.table["r_hat"] > 1.5)
    text = " ".join(report.warnings)
    assert "R-hat > 1.01" in text
    assert "stuck in different modes" in text and "[0, 1]" in text and "[2, 3]" in text


def test_mala_chains_in_one_mode_do_not_look_stuck(trapped_mala_chains):
    """Negative control: the same chains restricted to one mode agree with each other."""
    one_mode = Chains(trapped_mala_chains.positions[:2], sampler="mala")
    assert separated_chain_groups(one_mode.positions) == {}
    assert not any("stuck" in w for w in summary(one_mode).warnings)


def test_separated_groups_of_constant_and_offset_chains():
    positions = np.zeros((3, 20, 2))
    positions[2, :, 1] = 1.0
    assert separated_chain_groups(positions) == {1: [[0, 1], [2]]}


def test_divergences_low_ess_and_bfmi_are_warned(key):
    k1, k2 = jax.random.split(key)
    diverging = np.zeros((4, 500), bool)
    diverging[1, ::50] = True
    energy = ar1(k2, 0.95, (4, 500))  # E-BFMI = 2 (1 - rho) = 0.1
    chains = Chains(ar1(k1, 0.99, (4, 500))[..., None], {"diverging": diverging, "energy": energy})
    report = summary(chains)
    text = " ".join(report.warnings)
    assert report.n_divergent == 10 and "10 divergent transitions" in text
    assert "bulk ESS below 100 per chain" in text
    assert np.all(report.bfmi < 0.3) and "E-BFMI below 0.3" in text


def test_bfmi_matches_arviz(key):
    energy = ar1(key, 0.5, (3, 400))
    chains = Chains(np.zeros((3, 400, 1)), {"energy": energy})
    reference = az.bfmi(to_inference_data(chains))
    if ARVIZ_MAJOR > 0:
        reference = reference["energy"].values
    np.testing.assert_allclose(energy_bfmi(energy), reference, rtol=1e-10)


def test_netcdf_round_trip(key, tmp_path):
    stats = {
        "diverging": np.asarray(jax.random.bernoulli(key, 0.1, (2, 30))),
        "step_size": np.full((2, 30), 0.25),
    }
    chains = iid_chains(
        key,
        n_chains=2,
        n_draws=30,
        dim=2,
        stats=stats,
        sampler="hmc",
        timing={"compile": 1.5, "sampling": 0.25},
        settings={"step_size": 0.25, "inverse_mass_matrix": np.array([1.0, 2.0])},
        coordinate_names=["u", "v"],
    )
    path = save_chains(chains, tmp_path / "run" / "chains.nc")
    assert [p.name for p in path.parent.iterdir()] == ["chains.nc"]  # no temporary left
    loaded = load_chains(path)
    np.testing.assert_array_equal(loaded.positions, chains.positions)
    assert loaded.stats["diverging"].dtype == bool
    np.testing.assert_array_equal(loaded.stats["diverging"], stats["diverging"])
    assert (loaded.sampler, loaded.timing, loaded.coordinate_names) == (
        "hmc",
        chains.timing,
        ["u", "v"],
    )
    assert loaded.settings == {"step_size": 0.25, "inverse_mass_matrix": [1.0, 2.0]}
    assert az.from_netcdf(path)["posterior"]["x"].shape == (2, 30, 2)


def test_default_names_round_trip_as_none(key, tmp_path):
    loaded = load_chains(save_chains(iid_chains(key, n_draws=20), tmp_path / "c.nc"))
    assert loaded.coordinate_names is None and loaded.stats == {}


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_chains(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netCDF")
    with pytest.raises(DataError, match="junk.nc: is not a netCDF-4 file with a posterior group"):
        load_chains(tmp_path / "junk.nc")
