"""Mode weights, well fractions, particle metrics, efficiency, and metrics beside floors."""

import jax
import numpy as np
import ot
import pytest
from helpers import assert_zscores_small

from scoresample.chains import Chains
from scoresample.diagnostics import metrics
from scoresample.diagnostics.arviz import ess_bulk
from scoresample.errors import NonFiniteError
from scoresample.targets import Gaussian, dw4, gmm40, many_well, ncsn_toy
from scoresample.targets.wells import P_RIGHT_WELL


def test_mode_weight_error_detects_a_50_50_split(key):
    toy, n = ncsn_toy(), 2000
    k1, k2 = jax.random.split(key)
    stderr = np.sqrt(0.8 * 0.2 / n)
    exact = metrics.mode_weights(toy.sample(k1, n), toy)
    assert abs(exact[0] - 0.8) / stderr < 4
    assert abs(metrics.mode_weight_tv(toy.sample(k1, n), toy) - abs(exact[0] - 0.8)) < 1e-6
    even = toy.with_weights([0.5, 0.5]).sample(k2, n)
    assert (0.8 - metrics.mode_weights(even, toy)[0]) / stderr > 4
    assert (metrics.mode_weight_tv(even, toy) - 0.3) / np.sqrt(0.25 / n) > -4


def test_well_fractions_of_exact_and_one_sided_samples(key):
    target, n = many_well(8), 2000
    xs = np.asarray(target.sample(key, n))
    fractions = metrics.well_fractions(xs, target)
    assert fractions.shape == (4,)
    assert_zscores_small(
        (fractions - P_RIGHT_WELL) / np.sqrt(P_RIGHT_WELL * (1 - P_RIGHT_WELL) / n)
    )
    right_only = xs.copy()
    right_only[:, ::2] = np.abs(right_only[:, ::2])
    np.testing.assert_allclose(metrics.well_fraction_error(right_only, target), 1 - P_RIGHT_WELL)


def rigid_copy(target, xs, key):
    """Rotate, translate and permute every DW-4 configuration: the energy is unchanged."""
    angle = jax.random.uniform(key, (), maxval=2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    particles = xs.reshape(len(xs), target.n_particles, 2)[:, ::-1] @ rotation.T + [3.0, -1.0]
    return particles.reshape(len(xs), -1)


def test_particle_metrics_invariances_and_scaling(key):
    target = dw4()
    xs = 2.0 * np.asarray(jax.random.normal(key, (300, target.dim)), np.float64)
    same = metrics.particle_metrics(xs, rigid_copy(target, xs, key), target)
    energy_scale = np.abs(metrics.energies(xs, target)).mean()  # float32 energies at worst
    assert max(same["energy_w1"], same["energy_w2"]) < 1e-5 * energy_scale
    assert same["distance_w1"] < 1e-5 and same["distance_tv"] == 0.0
    scaled = metrics.particle_metrics(1.3 * xs, xs, target)
    mean_distance = metrics.interatomic_distances(xs, target).mean()
    np.testing.assert_allclose(scaled["distance_w1"], 0.3 * mean_distance, rtol=1e-5)
    assert scaled["energy_w1"] > 0 and scaled["energy_w2"] >= scaled["energy_w1"]
    assert scaled["distance_tv"] > 0.1


def test_histogram_tv_limits():
    u = np.linspace(0.0, 1.0, 100)
    assert metrics.histogram_tv(u, u) == 0.0
    assert metrics.histogram_tv(u, u + 5.0) == 1.0


def test_efficiency_counts_gradients_and_seconds(key):
    iid = np.asarray(jax.random.normal(key, (4, 1000, 2)))
    chains = Chains(iid, {"n_grad_evals": np.full((4, 1000), 3)}, timing={"sampling": 2.0})
    result = metrics.efficiency(chains)
    ess = float(np.min(ess_bulk(iid)))
    assert (result.ess_bulk_min, result.n_grad_evals, result.seconds) == (ess, 12_000, 2.0)
    np.testing.assert_allclose(result.ess_per_grad_eval, ess / 12_000)
    np.testing.assert_allclose(result.ess_per_second, ess / 2.0)
    unknown = metrics.efficiency(Chains(iid))
    assert np.isnan(unknown.ess_per_grad_eval) and np.isnan(unknown.ess_per_second)


def test_ess_of_correlated_chains_is_lower(key):
    """AR(1) with rho = 0.9 has ESS / N = (1 - rho) / (1 + rho) = 1 / 19 against ~1 for iid."""
    noise = np.asarray(jax.random.normal(key, (4, 2000, 1)))
    ar = np.empty_like(noise)
    ar[:, 0] = noise[:, 0]
    for t in range(1, 2000):
        ar[:, t] = 0.9 * ar[:, t - 1] + np.sqrt(1 - 0.81) * noise[:, t]
    assert ess_bulk(noise)[0] > 5 * ess_bulk(ar)[0]


def test_quality_report_on_the_toy(key):
    toy = ncsn_toy()
    k1, k2 = jax.random.split(key)
    good = metrics.sample_quality(toy.sample(k1, 500), toy, k2)
    assert set(good.values) == {
        "mmd2",
        "energy_distance",
        "sliced_w2",
        "w2",
        "ksd",
        "mode_weight_tv",
    }
    assert all(good.floors[name] is not None for name in good.values)
    dropped = toy.with_weights([1.0, 1e-12]).sample(k1, 500)
    bad = metrics.sample_quality(dropped, toy, k2)
    # All mass in one mode of 0.8 / 0.2: TV 0.2 against a floor of order sqrt(0.16 / 500).
    assert bad.values["mode_weight_tv"] > 0.2 - 4 * np.sqrt(0.16 / 500)
    assert bad.values["mode_weight_tv"] > 5 * bad.floors["mode_weight_tv"]
    assert "mode_weight_tv" in str(bad) and len(bad.rows()) == 6


def test_quality_report_without_exact_sampler_and_large_sets(key):
    target = dw4()
    k1, k2 = jax.random.split(key)
    xs, ref = (np.asarray(jax.random.normal(k, (200, 8))) for k in (k1, k2))
    report = metrics.sample_quality(xs, target, key, reference=ref)
    assert {"energy_w1", "energy_w2", "distance_w1", "distance_tv", "mmd2"} <= set(report.values)
    assert "ksd" not in report.values and set(report.floors.values()) == {None}
    gauss = Gaussian(np.zeros(1), np.eye(1))
    big = metrics.sample_quality(np.zeros((2001, 1)), gauss, key, metrics=("w2",))
    assert "w2" not in big.values


def test_documented_w2_floor_on_gmm40():
    """The docs say: W2 between two exact gmm40 sets of 1000 points is about 4.3."""
    target, values = gmm40(), []
    for i in range(12):
        k1, k2 = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(3), i))
        values.append(metrics.wasserstein2(target.sample(k1, 1000), target.sample(k2, 1000)))
    z = (np.mean(values) - 4.3) / (np.std(values, ddof=1) / np.sqrt(len(values)))
    assert abs(z) < 4, values


@pytest.mark.parametrize("name", ["mode_weights", "well_fractions"])
def test_target_metrics_reject_nan(name):
    target = ncsn_toy() if name == "mode_weights" else many_well(2)
    with pytest.raises(NonFiniteError, match="samples"):
        getattr(metrics, name)(np.full((3, 2), np.nan), target)


def test_particle_w2_and_dem_squares_match_an_independent_computation(key):
    """Equal sizes: 1-D W2 is the root mean squared difference of sorted values, and
    DEM's number is POT's ``emd2_1d`` (squared-Euclidean cost), the squared W2."""
    target = dw4()
    k1, k2 = jax.random.split(key)
    xs = 1.7 * np.asarray(jax.random.normal(k1, (400, target.dim)), np.float64)
    ys = 2.3 * np.asarray(jax.random.normal(k2, (400, target.dim)), np.float64) + 0.4
    got = metrics.particle_metrics(xs, ys, target)
    e_x, e_y = np.sort(metrics.energies(xs, target)), np.sort(metrics.energies(ys, target))
    d_x = np.sort(metrics.interatomic_distances(xs, target))
    d_y = np.sort(metrics.interatomic_distances(ys, target))
    np.testing.assert_allclose(got["energy_w2"], np.sqrt(np.mean((e_x - e_y) ** 2)), rtol=1e-6)
    np.testing.assert_allclose(got["distance_w2"], np.sqrt(np.mean((d_x - d_y) ** 2)), rtol=1e-6)
    np.testing.assert_allclose(got["energy_w2_dem"], ot.emd2_1d(e_x, e_y), rtol=1e-6)
    np.testing.assert_allclose(got["distance_w2_dem"], ot.emd2_1d(d_x, d_y), rtol=1e-6)
    assert got["distance_w2_dem"] != pytest.approx(got["distance_w2"], rel=0.05)
    edges = np.linspace(min(d_x[0], d_y[0]), max(d_x[-1], d_y[-1]), 201)
    p = np.histogram(d_x, edges)[0] / d_x.size
    q = np.histogram(d_y, edges)[0] / d_y.size
    np.testing.assert_allclose(got["distance_tv"], 0.5 * np.abs(p - q).sum(), rtol=1e-12)
