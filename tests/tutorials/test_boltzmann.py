"""Tutorials 7 (Boltzmann sampling with target score matching) and 8 (scores from the
energy alone) in quick mode.

Quick mode trains 400 steps, so the learned sampler is rough; what it can show is the
accounting and the correction: refinement by the exact energy cuts the learned energy
error by orders of magnitude (a few draws with far-flung particles dominate it),
refining the resampled reweighted draws spreads their duplicates, every row counts its
energy gradients, the budget-matched MCMC spends the costliest corrected pipeline's
budget, Kish's ESS lies between 1 and n, and R-hat of the data chains' raw coordinates
flags their orientations while R-hat of the invariant observables does not.
"""

import pytest
from tutorial_runs import assert_figures, run

#: Whole tutorials, minutes of compilation: CI runs them once, with the slow tests.
pytestmark = pytest.mark.slow

#: Judged draws in quick mode (``N_EVAL``).
QUICK_N = 500


def test_boltzmann_tsm(tmp_path, monkeypatch):
    monkeypatch.setenv("SCORESAMPLE_CACHE", str(tmp_path / "cache"))  # the reference's store
    results, out = run("07_boltzmann_tsm", tmp_path, cheap_compilation=False)
    rows, floors = results["rows"], results["floors"]
    assert rows["learned_mh"]["energy_w2"] < rows["learned"]["energy_w2"] / 10, rows
    assert rows["learned_mh"]["distance_tv"] < rows["learned"]["distance_tv"], rows
    assert all(floors[m] < rows["learned"][m] for m in ("energy_w2", "distance_tv")), floors
    # resample-move pays the weights' energies and the same refinement as learned_mh
    moved, refined = rows["learned_reweighted_mh"], rows["learned_mh"]
    assert moved["energy_evals"] == refined["energy_evals"] + QUICK_N
    # the refinement spreads the resampling's duplicates
    assert moved["distance_tv"] < rows["learned_reweighted"]["distance_tv"], rows
    budget = moved["energy_evals"]
    assert rows["learned"]["energy_evals"] < budget
    # one MALA chain per judged draw, whole steps: within one step per chain of the budget
    assert budget - 2 * QUICK_N <= rows["mcmc_budget_matched"]["energy_evals"] <= budget
    assert 1 / QUICK_N <= results["ess_fraction"] <= 1
    # a symmetric target's chains keep their orientation; its invariants mix
    assert results["data_r_hat_coordinates_max"] > 1.5
    assert results["data_r_hat_invariants_max"] < results["data_r_hat_coordinates_max"] / 2
    assert (tmp_path / "cache" / "references").is_dir()
    assert_figures(out, ["histograms"])


def test_scores_from_the_energy(tmp_path):
    """Tutorial 8 in quick mode: the Laplace scale is GMM-40's component scale; kappa-bar
    beats TSI at the largest noise and DSI at the smallest; each data-free row costs
    steps x batch x K energy evaluations and MALA spends as many (to a step per chain)."""
    results, out = run("08_scores_from_the_energy", tmp_path, cheap_compilation=True)
    assert abs(results["laplace_scale"] - 1.3133) < 0.01, results["laplace_scale"]
    errors = results["estimator_errors"]["128"]
    assert errors[-1]["kappa_bar"] < errors[-1]["tsi"] / 10, errors[-1]
    assert errors[0]["kappa_bar"] < errors[0]["dsi"], errors[0]
    rows = results["rows"]
    budget = 300 * 64 * 32
    assert rows["data_free"]["energy_evals"] == rows["data_free_tsi"]["energy_evals"] == budget
    assert budget - 2 * QUICK_N <= rows["mcmc_budget_matched"]["energy_evals"] <= budget
    assert_figures(out, ["estimator_errors", "training", "samples"])
