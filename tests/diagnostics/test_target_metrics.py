"""Mode weights, well fractions, particle metrics, efficiency, and metrics beside floors."""

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest
from helpers import assert_zscores_small

from scoresample.chains import Chains
from scoresample.diagnostics import metrics
from scoresample.diagnostics.arviz import ess_bulk
from scoresample.diagnostics.metrics import floors
from scoresample.errors import NonFiniteError
from scoresample.targets import (
    Gaussian,
    dw4,
    from_log_prob,
    gmm40,
    many_well,
    ncsn_toy,
    torus_mixture,
)
from scoresample.targets.wells import P_RIGHT_WELL


def test_mode_weight_error_detects_a_50_50_split(key):
    toy, n = ncsn_toy(), 2000
    k1, k2 = jax.random.split(key)
    stderr = np.sqrt(0.8 * 0.2 / n)
    exact = metrics.mode_weights(toy.sample(k1, n), toy)
    assert exact.dtype == np.float64  # as documented, whatever JAX's precision
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


@pytest.mark.parametrize(("grads", "seconds"), [(1, 0.5), (0, 0.0), (1, -1.0)])
def test_efficiency_divides_by_any_positive_cost_and_only_by_one(key, grads, seconds):
    """One gradient or half a second is a cost (ESS / 1, ESS / 0.5); zero or a negative
    time is unknown (NaN), never an infinite or negative rate."""
    iid = np.asarray(jax.random.normal(key, (2, 50, 1)))
    evals = np.zeros((2, 50), int)
    evals[0, 0] = grads
    result = metrics.efficiency(Chains(iid, {"n_grad_evals": evals}, timing={"sampling": seconds}))
    ess = float(np.min(ess_bulk(iid)))
    per_grad = ess / grads if grads else np.nan
    per_second = ess / seconds if seconds > 0 else np.nan
    np.testing.assert_allclose([result.ess_per_grad_eval, result.ess_per_second],
                               [per_grad, per_second])  # fmt: skip


def test_efficiency_on_a_mean_free_target_ignores_the_centre_of_mass(key):
    """DW-4 draws whose centre of mass is a slow AR(1) walk, internal coordinates iid:
    centred (as the target asks) every coordinate has ESS about n; raw, about n / 39."""
    k1, k2 = jax.random.split(key)
    internal = np.array(jax.random.normal(k1, (2, 1000, 8)))
    internal -= np.tile(internal.reshape(2, 1000, 4, 2).mean(2), 4)
    shocks = np.asarray(jax.random.normal(k2, (2, 1000, 2)))
    walk = np.zeros_like(shocks)
    for t in range(1, 1000):
        walk[:, t] = 0.95 * walk[:, t - 1] + shocks[:, t]
    draws = internal + np.tile(walk, 4)
    centred = metrics.efficiency(Chains(draws), target=dw4()).ess_bulk_min
    raw = metrics.efficiency(Chains(draws)).ess_bulk_min
    assert centred > 1000 and raw < 200


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


def test_quality_report_rows_and_table():
    report = metrics.QualityReport(3, {"w2": 1.5, "ksd": 0.25}, {"w2": 1.25, "ksd": None})
    assert report.rows() == [
        {"metric": "w2", "value": 1.5, "floor": 1.25},
        {"metric": "ksd", "value": 0.25, "floor": None},
    ]
    assert str(report).splitlines() == [
        "metric                 value       floor   (n = 3)",
        "w2                       1.5        1.25",
        "ksd                     0.25            ",
    ]


def test_quality_report_of_many_well_has_its_well_fractions(key):
    target = many_well(4)
    x = np.array(target.sample(key, 300), np.float64)
    x[:40, 2] = -np.abs(x[:40, 2])  # push some draws to the second pair's left well
    report = metrics.sample_quality(x, target, key, metrics=("mmd2",))
    right = (x[:, [0, 2]] > 0).mean(axis=0)
    assert set(report.values) == {"mmd2", "well_fraction_error"}
    np.testing.assert_allclose(
        report.values["well_fraction_error"], np.mean(np.abs(right - P_RIGHT_WELL)), rtol=1e-12
    )


def test_quality_report_on_the_torus_compares_points_modulo_two_pi(key):
    """No KSD on a group; the two-sample metrics see a point and its copy shifted by 2 pi
    as the same point (they compare the group's embedding)."""
    target = torus_mixture()
    x = np.asarray(target.sample(key, 200), np.float64)
    shifted = x + 2 * np.pi * np.array([1.0, -2.0])
    report = metrics.sample_quality(x, target, key, metrics=("mmd2", "w2", "ksd"))
    again = metrics.sample_quality(shifted, target, key, metrics=("mmd2", "w2", "ksd"))
    assert set(report.values) == {"mmd2", "w2"}
    np.testing.assert_allclose(list(again.values.values()), list(report.values.values()), rtol=1e-6)


def test_quality_report_uses_the_reference_it_is_given(key):
    """A reference passed for an exact target replaces the exact draws: a reference shifted
    by 3 makes the exact samples look wrong."""
    gauss = Gaussian(np.array([0.5, -1.0]), np.array([[2.0, 0.3], [0.3, 0.5]]))
    x = np.asarray(gauss.sample(key, 300))
    shifted = metrics.sample_quality(x, gauss, key, reference=x + 3.0, metrics=("w2",))
    own = metrics.sample_quality(x, gauss, key, metrics=("w2",))
    np.testing.assert_allclose(shifted.values["w2"], 3.0 * np.sqrt(2), rtol=1e-9)
    assert own.values["w2"] < 0.5


def test_quality_report_without_reference_or_sampler_has_ksd_only(key):
    target = from_log_prob(lambda x: -0.5 * jnp.sum((x - 0.3) ** 2 / 1.7), dim=2)
    report = metrics.sample_quality(np.linspace(-2.0, 2.0, 40).reshape(20, 2), target, key)
    assert set(report.values) == {"ksd"} and report.floors == {"ksd": None}


def test_quality_report_of_a_particle_system_without_reference_is_empty(key):
    """DW-4 has no exact sampler and no KSD (its density is improper along the centre of
    mass): without a reference no metric applies."""
    report = metrics.sample_quality(np.linspace(-1.0, 1.0, 80).reshape(10, 8), dw4(), key)
    assert report.values == {} and report.floors == {}


class _DivergingSampler(Gaussian):
    def sample(self, key, n):
        return jnp.full((n, self.dim), jnp.nan)


def test_quality_report_refuses_a_diverged_exact_sampler(key):
    target = _DivergingSampler(np.zeros(2), np.eye(2))
    with pytest.raises(NonFiniteError) as caught:
        metrics.sample_quality(np.ones((5, 2)), target, key, reference=np.zeros((5, 2)))
    assert str(caught.value).startswith("exact samples: contains 10 NaN or infinite values")


def test_quality_report_of_a_particle_system_ignores_translations(key):
    target = dw4()
    k1, k2 = jax.random.split(key)
    x, ref = (np.asarray(jax.random.normal(k, (100, 8)), np.float64) for k in (k1, k2))
    moved = x + np.tile([4.0, -3.0], 4)
    kinds = ("mmd2", "w2")
    report = metrics.sample_quality(x, target, key, reference=ref, metrics=kinds)
    again = metrics.sample_quality(moved, target, key, reference=ref, metrics=kinds)
    for name in report.values:
        np.testing.assert_allclose(again.values[name], report.values[name], rtol=1e-6, atol=1e-9)


def test_quality_report_compares_centred_particles_and_embedded_torus_points(key):
    """Particle samples are compared without their centre of mass, torus points by
    ``(cos, sin)``, each computed here independently (the library centres and embeds in
    JAX's default precision, hence 1e-6)."""
    k1, k2 = jax.random.split(key)
    x, ref = (np.asarray(jax.random.normal(k, (60, 8)), np.float64) + 0.37 for k in (k1, k2))

    def centred(a):
        return a - np.tile(a.reshape(-1, 4, 2).mean(axis=1), 4)

    got = metrics.sample_quality(x, dw4(), key, reference=ref, metrics=("mmd2",))
    expected = metrics.mmd2(centred(x), centred(ref))
    np.testing.assert_allclose(got.values["mmd2"], expected, rtol=1e-6)
    torus = torus_mixture()
    y, ref = 1.3 * x[:, :2], 0.7 * ref[:, :2]
    got = metrics.sample_quality(y, torus, key, reference=ref, metrics=("mmd2",))
    embedded = [np.concatenate([np.cos(a), np.sin(a)], axis=1) for a in (y, ref)]
    np.testing.assert_allclose(got.values["mmd2"], metrics.mmd2(*embedded), rtol=1e-6)


def test_exact_w2_is_reported_up_to_its_limit_of_points(key, monkeypatch):
    monkeypatch.setattr(floors, "W2_MAX_POINTS", 30)
    gauss = Gaussian(np.zeros(1), np.eye(1))
    at_limit = metrics.sample_quality(np.linspace(-1, 1, 30)[:, None], gauss, key, metrics=("w2",))
    beyond = metrics.sample_quality(np.linspace(-1, 1, 31)[:, None], gauss, key, metrics=("w2",))
    assert "w2" in at_limit.values and "w2" not in beyond.values


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
    with pytest.raises(NonFiniteError, match="^samples: contains 6 NaN"):
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
    np.testing.assert_allclose(got["energy_w1"], np.mean(np.abs(e_x - e_y)), rtol=1e-6)
    np.testing.assert_allclose(got["distance_w1"], np.mean(np.abs(d_x - d_y)), rtol=1e-6)
    assert got["energy_w2"] > 1.05 * got["energy_w1"]  # so W1 and W2 cannot be confused
    assert got["distance_w2"] > 1.05 * got["distance_w1"]
    np.testing.assert_allclose(got["energy_w2_dem"], ot.emd2_1d(e_x, e_y), rtol=1e-6)
    np.testing.assert_allclose(got["distance_w2_dem"], ot.emd2_1d(d_x, d_y), rtol=1e-6)
    assert got["distance_w2_dem"] != pytest.approx(got["distance_w2"], rel=0.05)
    edges = np.linspace(min(d_x[0], d_y[0]), max(d_x[-1], d_y[-1]), 201)
    p = np.histogram(d_x, edges)[0] / d_x.size
    q = np.histogram(d_y, edges)[0] / d_y.size
    np.testing.assert_allclose(got["distance_tv"], 0.5 * np.abs(p - q).sum(), rtol=1e-12)
