"""Tutorials 1, 4 and 6 (Langevin dynamics and samplers) in quick mode.

The selected tutorials start together, each a script in its own subprocess (see
``tutorial_runs``): their run time is mostly XLA compilation, which is single-threaded,
so they share the cores. Each test then checks, from its tutorial's ``results.json``, the
findings quick mode can show:

- Monte Carlo comparisons are z-scores, ``|z| < 4``;
- mode-weight contrasts are checked where they differ by many standard errors (0.76 against
  0.51 on 1000 particles, whose standard error is 0.016);
- R-hat flags chains started in different wells (R-hat > 1.1); independent particles
  have none (NaN: not applicable) and ESS = n exactly.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import tutorial_runs
from tutorial_runs import assert_figures

#: Whole tutorials, minutes of compilation: CI runs them once, with the slow tests.
pytestmark = pytest.mark.slow
#: Annealed Langevin particles of tutorial 6 in quick mode (``N_PARTICLES``).
QUICK_PARTICLES = 400
#: test name -> tutorial it runs.
TUTORIALS = {
    "test_exact_scores_langevin": "01_exact_scores_langevin",
    "test_annealed_langevin": "04_annealed_langevin",
    "test_comparing_samplers": "06_comparing_samplers",
}


@pytest.fixture(scope="module")
def quick_runs(request, tmp_path_factory):
    """Start every selected tutorial at once; ``finish(name)`` waits for one of them and
    returns its results and output folder."""
    here = Path(request.fspath)
    wanted = {TUTORIALS[i.name] for i in request.session.items if i.path == here}
    out = tmp_path_factory.mktemp("tutorials")
    running = {}
    for name in sorted(wanted & set(TUTORIALS.values())):
        log = open(out / f"{name}.log", "w")  # noqa: SIM115 (closed at teardown)
        # Bound by execution (many Langevin steps): full optimisation.
        running[name] = (tutorial_runs.start(name, out, log, cheap_compilation=False), log)

    def finish(name: str) -> tuple[dict, Path]:
        process, log = running[name]
        log.flush()
        return tutorial_runs.finish(process, name, out, out / f"{name}.log")

    yield finish
    for process, log in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_exact_scores_langevin(quick_runs):
    results, folder = quick_runs("01_exact_scores_langevin")
    # The closed-form mixture score is the gradient of log_prob (float32 rounding).
    assert max(results["score_minus_autodiff_max"].values()) < 1e-3
    # The histogram approaches the density: total variation falls several-fold.
    tv = results["histogram_tv"]
    assert tv["100"] < tv["0"] / 3, tv
    # The mass on each side of the antimode is the uniform start's basin split...
    right = results["mass_right_of_antimode"]
    z = (right["100"] - results["basin_split_prediction"]) / results["basin_split_standard_error"]
    assert abs(z) < 4, (right, results["basin_split_prediction"])
    # ...and stays frozen for ten times longer (the barrier is 16 nats deep).
    assert abs(results["mass_right_after_long_run"] - right["100"]) < 0.01
    assert_figures(folder, ["score_field", "langevin_histograms"])


def test_annealed_langevin(quick_runs):
    results, folder = quick_runs("04_annealed_langevin")
    mass = results["mass_on_5_5"]
    # Song & Ermon (2019), Fig. 3: annealing recovers 0.8, plain Langevin keeps ~0.5.
    assert mass["annealed, exact score"] > 0.7, mass
    assert mass["plain ULA"] < 0.6, mass
    # Table 1 of the annealed-Langevin study (quick mode: T = 100 and 1000 per level, the
    # toy's levels 20 -> 1): too few iterations never recover the 0.8 (0.49 at most), and
    # at the larger T the weight depends on eps (0.77 at 1e-2, 0.04 at 1e-4).
    table = results["table1"]
    assert max(row["100"] for row in table.values()) < 0.6, table
    at_1000 = [row["1000"] for row in table.values()]
    assert max(at_1000) - min(at_1000) > 0.3, table
    assert results["table1_paper"]["0.001"]["30000"] == 0.94
    # The study's 2-D default levels 1 -> 0.01 make eps = 1e-2 unstable at the first
    # level (step 100 sigma_1^2): every particle escapes.
    assert results["table1_readings"]["1 -> 0.01"]["escaped"]["0.01"]["1000"] > 0.9
    # sigma_1 far below the data diameter cannot connect the modes.
    sweep = results["sigma_first_sweep"]
    ratios = sweep["ratios"]
    for name in ("toy", "stretched toy"):
        masses = dict(zip(ratios, sweep[name]["mass"], strict=True))
        assert masses[1.0] > masses[0.1] + 0.08, (name, masses)
    # An energy network's score is a gradient (symmetric Jacobian); a score network's not.
    asymmetry = results["hmc"]["jacobian_asymmetry"]
    assert asymmetry["energy network"] < 1e-5, asymmetry
    assert asymmetry["score network"] > 100 * asymmetry["energy network"], asymmetry
    assert_figures(
        folder,
        [
            "low_density_error",
            "langevin_vs_annealed",
            "peaked_mixture",
            "sigma_first",
            "score_norm",
            "hmc_learned_score",
        ],
    )


def test_comparing_samplers(quick_runs):
    results, folder = quick_runs("06_comparing_samplers")
    for target, metric in (("double_well", "well_fraction_error"), ("gmm40", "mode_weight_tv")):
        trapped, annealed = results[f"{target}/mala"], results[f"{target}/annealed_langevin"]
        # Chains started in different modes never meet: R-hat and the summary say so.
        assert trapped["r_hat_max"] > 1.1 and trapped["stuck_warning"], (target, trapped)
        # Annealed Langevin's draws are i.i.d. particles: no R-hat (it compares Markov
        # chains), ESS = n, no stuck-chain warning, and mode weights far better.
        assert math.isnan(annealed["r_hat_max"]) and not annealed["stuck_warning"], annealed
        assert annealed["ess_bulk_min"] == QUICK_PARTICLES, (target, annealed)
        assert annealed["metrics"][metric] < trapped["metrics"][metric] / 3, target
    for name in ("dw4/ula (TSM)", "dw4/annealed_langevin (TSM)"):
        assert np.isfinite(results[name]["metrics"]["energy_w1"]), name
    assert_figures(folder, ["trace_double_well", "gmm40_samplers", "dw4_energy_histograms"])
