"""Another library's chains: NumPyro's eight schools, centred (it diverges), diagnosed as
an MCMC object, as ArviZ's InferenceData / DataTree, and as a netCDF file on the CLI."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from helpers import zoo_module
from numpyro.infer import MCMC, NUTS

from scoresample import summary
from scoresample.app.cli import main
from scoresample.diagnostics import as_chains
from scoresample.diagnostics.arviz import ARVIZ_MAJOR, az

(SIGMA,), OBSERVED = zoo_module("eight_schools").data()
LABELS = ["mu", "tau", *[f"theta[{j}]" for j in range(8)]]


def centred_eight_schools(sigma, y=None):
    """``theta_j ~ N(mu, tau)``: the funnel between tau and theta makes NUTS diverge."""
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("school", sigma.shape[0]):
        theta = numpyro.sample("theta", dist.Normal(mu, tau))
        numpyro.sample("y", dist.Normal(theta, sigma), obs=y)


@pytest.fixture(scope="module")
def mcmc() -> MCMC:
    run = MCMC(
        NUTS(centred_eight_schools),
        num_warmup=300,
        num_samples=500,
        num_chains=2,
        chain_method="vectorized",
        progress_bar=False,
    )
    run.run(jax.random.PRNGKey(8), SIGMA, extra_fields=("energy",), **OBSERVED)
    return run


def test_mcmc_object_gets_our_summary_and_divergence_warning(mcmc):
    n_divergent = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    assert n_divergent > 0  # the centred parameterisation diverges
    report = summary(mcmc)
    assert list(report.table.index) == LABELS
    assert report.n_divergent == n_divergent
    assert any(f"{n_divergent} divergent transitions" in w for w in report.warnings)
    reference = az.bfmi(az.from_numpyro(mcmc))
    reference = reference["energy"].values if ARVIZ_MAJOR > 0 else reference
    np.testing.assert_allclose(report.bfmi, reference, rtol=1e-6)


def test_inference_data_gives_the_same_summary(mcmc):
    idata = az.from_numpyro(mcmc)
    by_idata, by_mcmc = summary(idata), summary(mcmc)
    assert by_idata.table.equals(by_mcmc.table)
    assert by_idata.warnings == by_mcmc.warnings and by_idata.n_divergent == by_mcmc.n_divergent


def test_posterior_alone_has_no_divergence_warning(mcmc):
    """Negative control: the same draws without ``sample_stats`` cannot show divergences."""
    draws = mcmc.get_samples(group_by_chain=True)
    report = summary({name: np.asarray(value) for name, value in draws.items()})
    assert report.n_divergent == 0 and report.bfmi is None
    assert not any("divergent" in w for w in report.warnings)
    assert list(report.table.index) == LABELS


def test_as_chains_flattens_with_arviz_labels(mcmc):
    chains = as_chains(mcmc)
    assert chains.positions.shape == (2, 500, 10) and chains.coordinate_names == LABELS
    assert chains.sampler == "numpyro" and not chains.particles
    diverging = mcmc.get_extra_fields(group_by_chain=True)["diverging"]
    np.testing.assert_array_equal(chains.stats["diverging"], diverging)


def test_cli_diagnoses_a_netcdf_written_by_arviz(mcmc, tmp_path, capsys):
    path = tmp_path / "eight_schools.nc"
    az.from_numpyro(mcmc).to_netcdf(str(path))
    assert main(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "== eight_schools (numpyro, 2 x 500 draws)" in out
    assert "theta[7]" in out and "divergent transitions" in out
