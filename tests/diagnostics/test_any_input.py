"""Every diagnostics entry point takes any run: Chains, arrays, dicts, ArviZ containers,
netCDF paths (NumPyro MCMC objects: ``test_eight_schools``). Labels are ArviZ's."""

import re

import jax
import numpy as np
import pytest
import xarray as xr

from scoresample import Chains, sample_quality, summary, to_inference_data
from scoresample.app.cli import main
from scoresample.diagnostics import as_chains, plots
from scoresample.diagnostics.arviz import az, group
from scoresample.diagnostics.draws import flatten_posterior
from scoresample.errors import DataError
from scoresample.targets import dw4, gmm40

SCHOOLS = ["Choate", "Deerfield", "Phillips Andover"]


@pytest.fixture
def posterior(key) -> dict:
    """A dict of variables: a scalar, a matrix, a vector with named coordinates."""
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "mu": np.asarray(jax.random.normal(k1, (4, 200))),
        "theta": np.asarray(jax.random.normal(k2, (4, 200, 2, 3))),
        "school_effect": np.asarray(jax.random.normal(k3, (4, 200, 3))),
    }


def test_dict_summary_is_arviz_summary_with_arviz_labels(posterior):
    coords = {"school": SCHOOLS}
    dims = {"school_effect": ["school"]}
    if az.__version__.startswith("0."):
        idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    else:
        idata = az.from_dict({"posterior": posterior}, coords=coords, dims=dims)
    reference = az.summary(idata, round_to="none")
    report = summary(idata)
    assert list(report.table.index) == list(reference.index)
    assert report.table.index[:3].tolist() == ["mu", "theta[0, 0]", "theta[0, 1]"]
    assert "school_effect[Phillips Andover]" in report.table.index
    np.testing.assert_allclose(report.table["r_hat"], reference["r_hat"], rtol=1e-12)
    # The flattened draws behind the warnings carry the same labels, column by column.
    draws, labels = flatten_posterior(group(idata, "posterior"))
    assert labels == list(reference.index)
    np.testing.assert_array_equal(draws[:, :, 1:7], posterior["theta"].reshape(4, 200, 6))
    assert report.ok, report.warnings
    # A plain dict gives the same table, with positional labels for the unnamed axis.
    plain = summary(posterior).table
    np.testing.assert_allclose(plain.to_numpy(), report.table.to_numpy(), rtol=1e-12)
    assert plain.index[-1] == "school_effect[2]"


def test_particle_table_keeps_the_same_labels(posterior):
    markov = summary(posterior).table
    independent = summary(posterior, particles=True).table
    assert list(independent.index) == list(markov.index)
    assert tuple(independent.columns) == tuple(markov.columns)


def test_arrays_two_and_three_dimensional(key):
    xs = np.asarray(jax.random.normal(key, (4, 300, 2)))
    assert summary(xs).table.index.tolist() == ["x[0]", "x[1]"]
    assert summary(xs[..., 0]).table.index.tolist() == ["x"]
    np.testing.assert_allclose(
        summary(xs[..., 0]).table.to_numpy(), summary(xs).table.to_numpy()[:1], rtol=1e-6
    )
    assert summary(jax.numpy.asarray(xs)).ok  # JAX arrays too


def test_stuck_chain_warning_for_trapped_array_chains(key):
    """Chains 0, 1 in one mode and 2, 3 in another: named in words; one mode: silence."""
    base = np.asarray(jax.random.normal(key, (4, 500, 2)))
    trapped = base + np.array([[[0.0, -3.0]], [[0.0, -3.0]], [[0.0, 3.0]], [[0.0, 3.0]]])
    text = " ".join(summary(trapped).warnings)
    found = re.search(
        r"stuck in different modes: in x\[1\], chains \[0, 1\] near (\S+) and "
        r"chains \[2, 3\] near (\S+),",
        text,
    )
    assert found, text
    # Each group's median of 1000 N(+-3, 1) draws: standard error sqrt(pi / 2) / sqrt(1000).
    medians = np.array([float(found[1]), float(found[2])])
    assert np.all(np.abs(medians - [-3.0, 3.0]) < 4 * np.sqrt(np.pi / 2 / 1000)), medians
    mixed = summary(base)
    assert mixed.ok, mixed.warnings


@pytest.mark.parametrize(("shift", "stuck"), [(0.985, True), (0.975, False)])
def test_stuck_chain_threshold_is_the_98_percent_range(shift, stuck):
    """Draws evenly spread over [0, 1] have 1% / 99% quantiles 0.01 / 0.99: two groups
    split exactly when the shift exceeds 0.98."""
    grid = np.linspace(0.0, 1.0, 101)
    draws = np.stack([grid, grid, grid + shift, grid + shift])
    found = any("are stuck in different modes" in w for w in summary(draws).warnings)
    assert found is stuck


def test_non_finite_draws_are_named(key):
    xs = np.array(jax.random.normal(key, (4, 300, 2)))
    xs[2, 10:13, 1] = np.nan
    text = " ".join(summary(xs, particles=True).warnings)
    assert "3 of 1200 draws have non-finite values (first in x[1])" in text
    assert not summary(np.nan_to_num(xs), particles=True).warnings


def test_netcdf_written_by_arviz_with_a_scalar_variable(posterior, tmp_path, capsys):
    path = tmp_path / "arviz.nc"
    to_inference_data({"mu": posterior["mu"]}).to_netcdf(str(path))
    report = summary(path)
    assert report.table.index.tolist() == ["mu"] and report.ok
    chains = as_chains(str(path))
    assert chains.positions.shape == (4, 200, 1) and chains.coordinate_names == ["mu"]
    assert main(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "== arviz (unknown, 4 x 200 draws)" in out and "\nmu " in out


def test_cli_refuses_a_file_without_posterior_in_one_line(tmp_path, capsys):
    path = tmp_path / "other.nc"
    xr.Dataset({"y": ("obs", np.zeros(3))}).to_netcdf(path, engine="h5netcdf")
    assert main(["diagnose", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a netCDF-4 file with a posterior group" in err


def test_mean_free_target_is_centred(key):
    """DW-4 draws whose centre of mass random-walks: raw R-hat reports the walk; the
    summary on the target diagnoses the centred draws, which are i.i.d."""
    target = dw4()
    k1, k2 = jax.random.split(key)
    internal = np.asarray(target.remove_mean(jax.random.normal(k1, (4 * 300, 8))))
    walk = np.cumsum(np.asarray(jax.random.normal(k2, (4, 300, 1, 2))), axis=1)
    raw = (internal.reshape(4, 300, 4, 2) + walk).reshape(4, 300, 8)
    chains = Chains(raw, sampler="mala")
    assert any("R-hat > 1.01" in w for w in summary(chains).warnings)
    report = summary(chains, target)
    assert report.ok, report.warnings
    assert report.table.index[0] == "x[p0.x]"
    centred = summary(Chains(internal.reshape(4, 300, 8), coordinate_names=None), target)
    # Equal up to float32 rounding of the two centrings.
    np.testing.assert_allclose(report.table.to_numpy(), centred.table.to_numpy(), rtol=1e-4)


def test_metrics_pool_chains_and_keep_two_dimensional_arrays(key):
    target = gmm40()
    xs = np.asarray(target.sample(key, 600)).reshape(3, 200, 2)
    pooled = sample_quality(xs, target, key, metrics=("mmd2",))
    flat = sample_quality(xs.reshape(-1, 2), target, key, metrics=("mmd2",))
    assert pooled.n_samples == 600 and pooled.values == flat.values
    as_dict = sample_quality({"x": xs}, target, key, metrics=("mmd2",))
    assert as_dict.values == flat.values


def test_plots_take_any_run(posterior, tmp_path):
    fig = plots.plot_trace(posterior, tmp_path / "trace.png", dims=[0, 4])
    assert fig.axes[0].get_ylabel() == "mu" and (tmp_path / "trace.png").stat().st_size > 10_000
    plots.plot_rank(to_inference_data(posterior), tmp_path / "rank.png", dims=[0])
    fig = plots.plot_marginals(posterior, None, tmp_path / "marginals.png", dims=[0, 1])
    assert fig.axes[1].get_xlabel() == "theta[0, 0]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({1, 2}, r"data: is a set; pass Chains, an array"),
        (np.zeros(5), r"data: is an array of shape \(5,\)"),
        (np.array([["a", "b"]]), r"data: is an array of shape \(1, 2\) and dtype <U1"),
        ({"a": np.zeros((2, 5)), "b": np.zeros((3, 5))}, r"mixes \(chain, draw\) shapes"),
        ({"a": np.zeros(5)}, r"data\['a'\]: has shape \(5,\)"),
        ({}, r"data: is empty"),
    ],
)
def test_unsupported_inputs_name_what_is_accepted(data, message):
    with pytest.raises(DataError, match=message):
        summary(data)
