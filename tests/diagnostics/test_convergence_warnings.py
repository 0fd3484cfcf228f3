"""Each warning of the convergence summary, whole, and each threshold just inside and just
outside its limit: R-hat 1.01, bulk ESS 100 per chain, E-BFMI 0.3, the 20 draws below
which chains are never called stuck. The expected sentences are written out here, not
read from the code."""

import numpy as np
import pandas as pd
import pytest

from scoresample.diagnostics.convergence import (
    ChainSummary,
    convergence_warnings,
    energy_bfmi,
    separated_chain_groups,
)

LABELS = ["x[a]", "x[b]", "x[c]"]
HEALTHY = {"r_hat": [1.0, 1.0, 1.0], "ess_bulk": [1000.0, 1000.0, 1000.0]}
RHAT_FIX = "the chains disagree. Run longer, or check for chains stuck in different modes."
ESS_FIX = "means and quantiles are unreliable. Run longer or tune the step size."
DIVERGENCE_FIX = (
    "the integrator failed where the density curves sharply, so that region is "
    "under-sampled. Reduce the step size or reparameterise."
)
BFMI_FIX = (
    "momentum resampling explores the energy levels poorly (heavy tails or a funnel); "
    "reparameterise or adapt the mass matrix."
)
NON_FINITE_FIX = (
    "the sampler met NaN or inf; every statistic involving them is NaN. Reduce the step "
    "size, or check the score or log density where they occur."
)
SINGLE_CHAIN = (
    "only 1 chain: R-hat compares chains and cannot be computed. Run at least 4 chains "
    "from dispersed starting points, or pass particles=True if the draws are independent."
)
STUCK_FIX = (
    "and their central 98% ranges never overlap{}. Pooled draws misweight the modes; start "
    "chains from more spread-out points, run longer, or use a sampler that moves between "
    "modes."
)


def table(r_hat=HEALTHY["r_hat"], ess_bulk=HEALTHY["ess_bulk"]):
    return pd.DataFrame({"r_hat": r_hat, "ess_bulk": ess_bulk}, index=LABELS)


def mixed_draws(n_chains=4, n_draws=30, seed=0):
    """Chains of one N(0, 1): no coordinate splits."""
    return np.random.default_rng(seed).normal(size=(n_chains, n_draws, 3))


def warnings_for(summary_table, draws=None, n_divergent=0, bfmi=None, particles=False):
    draws = mixed_draws() if draws is None else draws
    return convergence_warnings(summary_table, draws, LABELS, n_divergent, bfmi, particles)


def test_every_threshold_just_inside_its_limit_is_healthy():
    healthy = table(r_hat=[1.01, 1.0, 0.999], ess_bulk=[400.0, 400.0, 5000.0])
    assert warnings_for(healthy, bfmi=np.array([0.3, 0.3, 0.8, 1.2])) == []


def test_r_hat_just_above_its_limit_names_the_count_and_the_worst_coordinate():
    found = warnings_for(table(r_hat=[1.0101, 1.25, 1.0]))
    assert found == [f"R-hat > 1.01 for 2 of 3 coordinates (worst: x[b] = 1.25): {RHAT_FIX}"]


def test_a_nan_r_hat_is_the_worst_and_says_the_draws_are_constant():
    found = warnings_for(table(r_hat=[1.5, np.nan, 1.0]))
    assert found == [
        "R-hat > 1.01 for 2 of 3 coordinates (worst: x[b] = nan; NaN: the draws are "
        f"constant): {RHAT_FIX}"
    ]


def test_ess_just_below_100_per_chain_names_the_count_and_the_lowest_coordinate():
    found = warnings_for(table(ess_bulk=[399.9, 1000.0, 250.0]))
    assert found == [
        "bulk ESS below 100 per chain (400 for 4 chains) for 2 of 3 coordinates (lowest: "
        f"x[c] = 250): {ESS_FIX}"
    ]


def test_a_nan_ess_is_the_lowest():
    found = warnings_for(table(ess_bulk=[np.nan, 1000.0, 3.0]))
    assert found == [
        "bulk ESS below 100 per chain (400 for 4 chains) for 2 of 3 coordinates (lowest: "
        f"x[a] = nan): {ESS_FIX}"
    ]


def test_divergences_give_their_share_of_all_draws():
    # 3 of 4 x 30 = 120 draws: 2.5%.
    found = warnings_for(table(), n_divergent=3)
    assert found == [f"3 divergent transitions (2.5% of draws): {DIVERGENCE_FIX}"]


def test_e_bfmi_just_below_its_limit_names_the_chains_and_the_lowest():
    found = warnings_for(table(), bfmi=np.array([0.3, 0.2999, 0.9, 0.1234]))
    assert found == [f"E-BFMI below 0.3 in chains [1, 3] (lowest 0.12): {BFMI_FIX}"]


def test_non_finite_draws_are_counted_per_draw_and_the_first_coordinate_named():
    draws = mixed_draws()
    draws[0, 5, 2] = np.nan
    draws[2, 7, 1] = np.inf
    draws[2, 7, 2] = -np.inf  # the same draw: counted once
    found = warnings_for(table(), draws=draws, particles=True)
    assert found == [f"2 of 120 draws have non-finite values (first in x[b]): {NON_FINITE_FIX}"]


def test_particles_get_only_the_non_finite_and_divergence_warnings():
    """Independent draws: bad R-hat, ESS and E-BFMI, and separated 'chains', are not
    warned about (they judge Markov chains)."""
    draws = mixed_draws()
    draws[2:, :, 0] += 100.0
    bad = table(r_hat=[2.0, 2.0, 2.0], ess_bulk=[1.0, 1.0, 1.0])
    found = warnings_for(bad, draws, n_divergent=6, bfmi=np.zeros(4), particles=True)
    assert found == [f"6 divergent transitions (5% of draws): {DIVERGENCE_FIX}"]


def test_the_order_of_the_warnings_of_markov_chains():
    """R-hat, ESS, non-finite draws, divergences, E-BFMI, stuck chains."""
    draws = mixed_draws()
    draws[2:, :, 0] += 100.0
    draws[0, 0, 1] = np.nan
    bad = table(r_hat=[2.0, 1.0, 1.0], ess_bulk=[1.0, 1000.0, 1000.0])
    found = warnings_for(bad, draws, n_divergent=6, bfmi=np.array([0.1, 1.0, 1.0, 1.0]))
    starts = ["R-hat", "bulk ESS", "1 of 120 draws", "6 divergent", "E-BFMI", "chains are stuck"]
    assert all(w.startswith(s) for w, s in zip(found, starts, strict=True)), found


def test_a_single_chain_is_told_to_run_more_and_keeps_the_ess_warning():
    found = warnings_for(
        table(r_hat=[np.nan] * 3, ess_bulk=[99.9, 100.0, 100.0]), draws=mixed_draws(n_chains=1)
    )
    assert found == [
        SINGLE_CHAIN,
        "bulk ESS below 100 per chain (100 for 1 chains) for 1 of 3 coordinates (lowest: "
        f"x[a] = 100): {ESS_FIX}",
    ]


def stuck_draws(n_draws=20):
    """Coordinate b: chains 0-1 on [0, 1], chain 2 on [10, 11], chain 3 on [20, 21];
    coordinate c: chains 0-1 on [-2, -1], chains 2-3 on [3, 4]; coordinate a mixed. (The
    coordinate of most groups is not the last one.)"""
    grid = np.linspace(0.0, 1.0, n_draws)
    draws = mixed_draws(n_draws=n_draws)
    draws[:, :, 1] = np.array([0.0, 0.0, 10.0, 20.0])[:, None] + grid
    draws[:, :, 2] = np.array([-2.0, -2.0, 3.0, 3.0])[:, None] + grid
    return draws


def test_stuck_chains_name_the_coordinate_with_the_most_groups_and_their_medians():
    found = warnings_for(table(), draws=stuck_draws())
    where = "chains [0, 1] near 0.5 and chains [2] near 10.5 and chains [3] near 20.5"
    fix = STUCK_FIX.format(" (1 more coordinate split likewise)")
    assert found == [f"chains are stuck in different modes: in x[b], {where}, {fix}"]


def test_two_more_split_coordinates_are_counted_in_the_plural():
    draws = stuck_draws()
    draws[:, :, 0] = np.array([7.0, 7.0, -7.0, -7.0])[:, None] + np.linspace(0, 1, 20)
    (found,) = warnings_for(table(), draws=draws)
    assert found.endswith(STUCK_FIX.format(" (2 more coordinates split likewise)"))


def test_one_split_coordinate_mentions_no_others():
    draws = stuck_draws()
    draws[:, :, 1] = mixed_draws(n_draws=20)[:, :, 1]
    (found,) = warnings_for(table(), draws=draws)
    where = "chains [0, 1] near -1.5 and chains [2, 3] near 3.5"
    assert found == f"chains are stuck in different modes: in x[c], {where}, {STUCK_FIX.format('')}"


@pytest.mark.parametrize(("n_draws", "groups"), [(20, 2), (19, 0)])
def test_chains_are_split_from_20_draws_on(n_draws, groups):
    found = separated_chain_groups(stuck_draws(n_draws))
    assert len(found.get(2, [])) == groups


def test_e_bfmi_at_a_generic_series_by_hand():
    """Two chains of five values: squared successive differences over squared deviations
    from each chain's own mean."""
    energy = np.array([[1.0, 3.0, 2.0, 5.0, 4.0], [0.5, 0.7, 0.2, 0.9, 1.1]])
    expected = [
        (4 + 1 + 9 + 1) / (2.0**2 + 0 + 1 + 2**2 + 1),
        (0.04 + 0.25 + 0.49 + 0.04) / (0.18**2 + 0.02**2 + 0.48**2 + 0.22**2 + 0.42**2),
    ]
    np.testing.assert_allclose(energy_bfmi(energy), expected, rtol=1e-12)


def test_e_bfmi_of_float32_energies_is_computed_in_float64():
    """Energies near 1e5 (a Boltzmann energy's offset) in float32: float32 arithmetic on
    the same values moves the E-BFMI by about 1e-6 relative (the mean is off in its last
    place, 0.008); in float64 it agrees to 1e-12."""
    rng = np.random.default_rng(3)
    energy = (1e5 + np.cumsum(rng.normal(size=(2, 400)), axis=1)).astype(np.float32)
    exact = energy.astype(np.float64)
    centred = exact - exact.mean(axis=1, keepdims=True)
    expected = np.sum(np.diff(exact, axis=1) ** 2, axis=1) / np.sum(centred**2, axis=1)
    np.testing.assert_allclose(energy_bfmi(energy), expected, rtol=1e-12)


def test_report_lines_and_one_line_repr():
    report = ChainSummary(
        table(r_hat=[1.0, 1.02, 1.0], ess_bulk=[812.4, 90.0, 1500.0]),
        n_divergent=2,
        bfmi=np.array([0.81, 0.456]),
        warnings=["first", "second"],
    )
    assert not report.ok
    assert repr(report) == (
        "ChainSummary(3 rows, max R-hat 1.02, min ESS bulk 90, 2 divergent, 2 warnings)"
    )
    lines = str(report).splitlines()
    assert lines[-4:] == [
        "divergences: 2",
        "E-BFMI per chain: 0.81, 0.46",
        "WARNING: first",
        "WARNING: second",
    ]
    assert lines[0].split() == ["r_hat", "ess_bulk"]
    assert lines[1].split() == ["x[a]", "1", "812.4"]


def test_an_empty_table_reports_nan():
    report = ChainSummary(table().iloc[:0], 0, None)
    assert repr(report) == (
        "ChainSummary(0 rows, max R-hat nan, min ESS bulk nan, 0 divergent, 0 warnings)"
    )


def test_a_particle_report_says_so_and_has_no_r_hat():
    report = ChainSummary(table(), 0, None, particles=True)
    assert report.ok
    assert repr(report) == (
        "ChainSummary(3 rows, max R-hat n/a, min ESS bulk 1000, 0 divergent, 0 warnings, particles)"
    )
    assert str(report).splitlines()[-2:] == [
        "independent draws (particles): ESS = n, R-hat not applicable",
        "divergences: 0",
    ]
