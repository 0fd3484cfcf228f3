"""Tutorials 2, 3, 5 and 9 (score matching) in quick mode.

Each tutorial runs to the end as a script (see ``tutorial_runs``), then the findings quick
mode can show are checked from its ``results.json``:

- identities that hold for any network are z-scores, ``|z| < 4``;
- scalings with a known exponent (DSM's gradient noise ~ 1/sigma, the DSM loss ~ 1/sigma^2)
  are checked over decades, with margins of several times on ratios of 10^3 to 10^5;
- estimator-variance orderings are checked where they differ by orders of magnitude, and
  kappa-bar's "best or tied" with a 25% tie margin (quick mode's Monte Carlo error on
  these variances is a few percent).
"""

import itertools

import numpy as np
import pytest
from tutorial_runs import assert_figures, notebook_images, run

#: Whole tutorials, minutes of compilation: CI runs them once, with the slow tests.
pytestmark = pytest.mark.slow


def run_tutorial(name, tmp_path, notebook=False):
    """Quick runs of these tutorials are bound by compilation: compile cheaply."""
    return run(name, tmp_path, cheap_compilation=True, notebook=notebook)


def test_ism_vs_dsm(tmp_path):
    results, out = run_tutorial("02_ism_vs_dsm", tmp_path)
    # (a) Stein's lemma: the two fitting terms have one mean at every sigma.
    for row in results["agreement_sigma_0.01"].values():
        assert abs(row["z"]) < 4, row
    # (b) DSM's gradient norm grows with every decade of sigma; ISM's does not.
    sweep = results["sweep"]
    dsm = [sweep[f"DSM {s:g}"]["grad_norm"] for s in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert all(b > 2 * a for a, b in itertools.pairwise(dsm)), dsm
    assert sweep["ISM 0.0001"]["grad_norm"] < 2 * sweep["ISM 0"]["grad_norm"]
    # (c) |g_DSM - g_ISM| / |g_ISM| ~ 1/sigma: 10^3 over three decades.
    sizes = results["sizes"]
    deviation = results["gradients"][f"initial, {sizes['noise_samples_gradients']} draws/point"]
    ratio = deviation["deviation"][-1] / deviation["deviation"][0]
    assert 200 < ratio < 5000, ratio
    assert_figures(
        out, ["agreement", "sigma_sweep", "ism_overfitting", "score_fields", "gradients"]
    )


def test_target_score_matching(tmp_path):
    results, out = run_tutorial("03_target_score_matching", tmp_path)
    summary = results["variance_summary"]
    for name, row in summary.items():
        assert row["dsi_over_tsi_at_t_min"] > 100, name  # DSI blows up as t -> 0
        assert row["tsi_over_dsi_at_t_max"] > 100, name  # TSI blows up as t -> 1
    for name in ("unit Gaussian", "gentle mixture", "hard, equal widths"):
        assert summary[name]["kappa_bar_over_best_other_max"] < 1.25, name
    # The exception the tutorial states: one kappa_t cannot suit two mode widths.
    assert summary["hard, unequal widths"]["kappa_bar_over_best_other_max"] > 2
    # kappa-bar's loss at the true score has the least (or a tied) spread, every weighting.
    for weighting, row in results["losses_at_true_score"].items():
        stds = {name: value["std"] for name, value in row.items()}
        others = min(v for name, v in stds.items() if name != "kappa-bar")
        assert stds["kappa-bar"] < 1.5 * others, (weighting, stds)
    relative = results["losses_at_true_score"]["relative"]
    assert relative["kappa-bar"]["std"] < 0.5 * relative["kappa"]["std"]
    curves = [run["curve"] for run in results["training"].values()]
    assert all(np.all(np.isfinite(c["fisher"])) and np.all(np.isfinite(c["mmd"])) for c in curves)
    assert_figures(out, ["estimator_variance", "loss_distributions", "training", "samples"])


def test_score_models_ground_up(tmp_path):
    """Run as a notebook (converted by jupytext, executed in a Jupyter kernel), as a user
    opening it would: its figures show inline, and are saved as when run as a script."""
    results, out = run_tutorial("05_score_models_ground_up", tmp_path, notebook=True)
    figures = ["mixture_score", "fisher", "ism_cost", "consistency", "multi_noise", "kde_esm"]
    assert notebook_images(tmp_path / "05_score_models_ground_up.ipynb") == len(figures)
    assert results["score_of_scaled_density_difference"] < 1e-4
    assert max(abs(z) for z in results["hyvarinen_identity_z"]) < 4
    assert abs(results["hyvarinen_without_constant_z"]) > 4  # negative control
    # ISM on the Gaussian family is moment matching (to the grid's resolution).
    minimum, moments = results["ism_minimum"], results["data_moments"]
    assert abs(minimum["mu"] - moments["mean"]) < 0.1
    assert abs(np.log(minimum["s"] / moments["std"])) < 0.05
    # The Fisher divergence does not see wrong mode weights; KL does.
    blind = results["weight_blindness"]
    assert blind["fisher"][5] < 1e-3 * blind["kl"][5]
    # DSM at the largest sigma keeps the bias of the blurred score; ISM and SSM do not.
    errors, bias = results["clean_score_error"], results["dsm_bias"]
    assert errors["DSM 1"] > 0.7 * bias["1"]
    assert errors["DSM 1"] > 2 * max(errors["ISM"], errors["SSM-VR"])
    # Per-level DSM loss at the truth ~ 1/sigma^2; sigma^2 weighting makes it O(1).
    multi = results["multi_noise"]
    truth, weighted = np.array(multi["loss_at_truth"]), np.array(multi["loss_at_truth_sigma2"])
    assert truth.max() / truth.min() > 1000
    assert weighted.max() / weighted.min() < 10
    # KDE-ESM: the KDE's score at its own points is ~0 in high d (relative error 1), so a
    # network trained on it learns nothing there (quick mode: 0.06 -> 1.00 from d = 1 to
    # 64; the KDE-ESM network 0.07 at d = 2, 0.999 at d = 16).
    kde = results["kde_esm"]
    at_data = {d: row["data"] for d, row in kde["gaussian_kde_score_error"].items()}
    assert at_data["1"] < 0.1 and at_data["64"] > 0.95, at_data
    nets = kde["gaussian_network_error"]
    assert nets["2"]["KDE-ESM"] < 0.3 and nets["16"]["KDE-ESM"] > 0.9, nets
    assert_figures(out, figures)


def test_tsm_beyond_additive_noise(tmp_path):
    # Cold cache, alone on 2 cores, with the quick compilation: 48 s (72 s before its Monte
    # Carlo helpers were compiled rather than run op by op).
    results, out = run_tutorial("09_tsm_beyond_additive_noise", tmp_path)
    # Both identities give the exact noised score; both negative controls fail by far.
    assert results["nonadditive_identity_max_abs_z"] < 4
    assert results["nonadditive_controls_min_abs_z"] > 8
    # DSI's variance explodes as sigma -> 0, TSI's as alpha -> 0 (orders of magnitude).
    assert results["nonadditive_dsi_over_tsi_at_t_min"] > 100
    assert results["nonadditive_tsi_over_dsi_at_t_max"] > 100
    # Trained on the low-noise range, TSM's score error is below DSM's at the lowest level
    # (quick mode: 0.11 against 0.38).
    assert results["nonadditive_tsm_error"] < 0.6 * results["nonadditive_dsm_error"]
    # Bridges: the four identities give the exact score; each end's identity is exact at
    # its end (variance ratios of 3 and 500 in quick mode); Eq. 14's network beats both
    # single-end ones at every t, and DSM's near t = 1 (as at full size).
    assert results["bridge_identity_max_abs_z"] < 4
    variance = results["bridge_variance"]
    assert variance["start"][0] < 0.5 * variance["sum"][0] < variance["dsi"][0]
    assert variance["end"][-1] < 0.1 * variance["sum"][-1] < variance["dsi"][-1]
    errors = results["bridge_errors"]
    for i, t in enumerate(errors["t"]):
        assert errors["sum"][i] < min(errors["start"][i], errors["end"][i]), t
        if t >= 0.95:
            assert errors["sum"][i] < errors["dsi"][i], t
    # The torus: TSM's score error at the lowest level is below DSM's (quick: 0.24 / 0.61).
    assert results["torus_tsm_error"] < 0.6 * results["torus_dsm_error"]
    assert set(results["torus_mmd"]) == {"TSM", "DSM"} and "torus_mmd_floor" in results
    # SO(3): the same at the lowest level (quick: 0.27 / 0.53); TSM's draws by geodesic
    # annealed Langevin nearer the target than DSM's (MMD^2, quick: 3.8e-3 / 2.3e-2).
    assert results["so3_tsm_error"] < 0.6 * results["so3_dsm_error"]
    assert results["so3_mmd"]["TSM"] < results["so3_mmd"]["DSM"] and "so3_mmd_floor" in results
    assert_figures(out, ["nonadditive"])
