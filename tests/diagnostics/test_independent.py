"""Independent particles (annealed Langevin, reverse diffusion): ESS = n, no R-hat, i.i.d.
MCSE, no Markov-chain warnings, and the flag kept in netCDF files."""

import jax
import numpy as np
import pytest

import scoresample as ss
from scoresample.app.cli import main
from scoresample.diagnostics import convergence, load_chains, save_chains, summary
from scoresample.diagnostics.independent import iid_table, mcse_sd
from scoresample.targets import ncsn_toy


@pytest.fixture(scope="module")
def particle_run() -> ss.Chains:
    """A short annealed Langevin run on the two-Gaussian toy: one "chain" of 300 draws."""
    spec = ss.make_sampler(
        "annealed_langevin",
        n_chains=300,
        sigma_first=15.0,
        sigma_last=0.5,
        n_levels=4,
        n_steps_per_level=10,
    )
    process = ss.VE(0.5, 15.0)
    return ss.run(spec, jax.random.PRNGKey(3), ncsn_toy(), process=process, progress=False)


def _no_arviz_diagnostics(idata):
    raise AssertionError("ArviZ's R-hat / ESS were computed")


def test_particle_run_summary_has_ess_n_and_no_warnings(particle_run, monkeypatch):
    assert particle_run.particles and particle_run.positions.shape == (1, 300, 2)
    # ArviZ's diagnostics are never run on particles, so it logs nothing about shapes.
    monkeypatch.setattr(convergence, "summary_table", _no_arviz_diagnostics)
    report = summary(particle_run)
    assert report.ok, report.warnings
    assert report.particles and report.bfmi is None
    assert (report.table["ess_bulk"] == 300).all() and (report.table["ess_tail"] == 300).all()
    assert report.table["r_hat"].isna().all()
    assert "R-hat not applicable" in str(report) and "particles" in repr(report)


def test_the_same_draws_as_one_markov_chain_are_warned_about(particle_run, monkeypatch):
    """Negative control: read as a Markov chain, one chain cannot give an R-hat."""
    with monkeypatch.context() as patch:
        patch.setattr(convergence, "summary_table", _no_arviz_diagnostics)
        with pytest.raises(AssertionError, match="were computed"):
            summary(particle_run, particles=False)
    report = summary(particle_run, particles=False)
    assert any("only 1 chain" in w for w in report.warnings)
    assert not report.particles


def test_divergences_still_apply_to_particles(key):
    diverging = np.zeros((1, 400), bool)
    diverging[0, :3] = True
    draws = np.asarray(jax.random.normal(key, (1, 400, 2)))
    report = summary(ss.Chains(draws, {"diverging": diverging}, particles=True))
    assert report.n_divergent == 3
    assert report.warnings and "3 divergent transitions" in report.warnings[0]


def test_iid_table_columns(key):
    draws = np.asarray(jax.random.normal(key, (2, 250, 3)), np.float64) * 7.2
    table = iid_table(draws, ["a", "b", "c"])
    flat = draws.reshape(-1, 3)
    np.testing.assert_allclose(table["mean"], flat.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["sd"], flat.std(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(table["mcse_mean"], table["sd"] / np.sqrt(500), rtol=1e-12)
    assert (table["ess_bulk"] == 500).all() and table["r_hat"].isna().all()
    # A user's independent draws, in any input, by saying so.
    assert (summary({"x": draws}, particles=True).table["ess_tail"] == 500).all()


@pytest.mark.parametrize("law", ["normal", "laplace"])
def test_mcse_matches_the_spread_over_replications(law):
    """Over R replications of n draws, the sd of the sample means and of the sample sds
    equal the MCSE formulas (z-scores of log ratios, delta-method standard errors).
    The Laplace law (kurtosis 6) separates ``sqrt((kappa - 1) / 4n)`` from the
    normal-theory ``sqrt(2 / 4n)``, which must fail there (negative control). At n = 1000
    the plug-in kurtosis's downward bias (5% at n = 200 for Laplace) is 0.3%, a fifth of
    a standard error here."""
    n, replications = 1000, 2000
    rng = np.random.default_rng(11)
    draws = (
        rng.normal(size=(n, replications))
        if law == "normal"
        else rng.laplace(size=(n, replications))
    )
    means, sds = draws.mean(axis=0), draws.std(axis=0, ddof=1)

    def log_ratio_z(formula: np.ndarray, spread: np.ndarray) -> float:
        # log sd of R values has standard error 1 / sqrt(2 (R - 1)) (near-normal values).
        stderr = np.hypot(
            1 / np.sqrt(2 * (replications - 1)),
            formula.std() / formula.mean() / np.sqrt(replications),
        )
        return float((np.log(formula.mean()) - np.log(spread.std(ddof=1))) / stderr)

    assert abs(log_ratio_z(sds / np.sqrt(n), means)) < 4
    assert abs(log_ratio_z(mcse_sd(draws), sds)) < 4
    normal_theory = sds * np.sqrt(2 / (4 * n))
    assert (abs(log_ratio_z(normal_theory, sds)) < 4) is (law == "normal")


def test_particles_flag_round_trips_through_netcdf(particle_run, tmp_path, capsys):
    path = save_chains(particle_run, tmp_path / "annealed.nc")
    loaded = load_chains(path)
    assert loaded.particles and loaded.sampler == "annealed_langevin"
    assert not load_chains(save_chains(ss.Chains(np.zeros((2, 5, 1))), tmp_path / "m.nc")).particles
    assert (summary(path).table["ess_bulk"] == 300).all()
    assert main(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "independent draws (particles)" in out and "WARNING" not in out


def test_reprs_are_one_short_line(key):
    stats = {"diverging": np.zeros((4, 100), bool), "acceptance_rate": np.ones((4, 100))}
    chains = ss.Chains(np.asarray(jax.random.normal(key, (4, 100, 2))), stats, sampler="mala")
    text = repr(chains)
    assert "\n" not in text and len(text) < 150
    assert "'mala'" in text and "4 x 100 x 2" in text and "diverging" in text
    assert "particles=False" in text
    report = summary(chains)
    assert "\n" not in repr(report) and len(repr(report)) < 150
    assert "r_hat" in str(report)  # print gives the whole table
