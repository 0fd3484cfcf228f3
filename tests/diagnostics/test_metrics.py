"""Two-sample metrics and KSD: exact formulas on small sets, then statistical behaviour.

Statistical tests compare a metric's values against its null distribution (two
independent exact sets of the same size, replicated): a wrong set must exceed the null
mean by more than 4 null standard deviations, and unbiased estimators must have a null
mean within 4 standard errors of 0.
"""

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest

from scoresample.diagnostics import metrics
from scoresample.diagnostics.metrics import _arrays
from scoresample.errors import ConfigError, DataError, NonFiniteError, ScoresampleError
from scoresample.targets import Gaussian, GaussianMixture, ncsn_toy

TWO_SAMPLE = {
    "mmd2": metrics.mmd2,
    "energy_distance": metrics.energy_distance,
    "sliced_w2": lambda x, y: metrics.sliced_wasserstein2(x, y, n_projections=100),
    "w2": metrics.wasserstein2,
}
UNBIASED = ("mmd2", "energy_distance")
N, REPLICATES = 500, 6


def exact_pairs(target, key, n=N, r=REPLICATES):
    """``r`` pairs of independent exact sample sets of size ``n``."""
    keys = jax.random.split(key, 2 * r)
    return [
        (np.asarray(target.sample(keys[2 * i], n)), np.asarray(target.sample(keys[2 * i + 1], n)))
        for i in range(r)
    ]


def brute_mmd2(x, y, h):
    def k(a, b):
        return np.exp(-np.sum((a[:, None] - b[None]) ** 2, -1) / (2 * h**2))

    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * k(x, y).mean()
    )


def test_mmd2_and_energy_distance_match_brute_force_with_small_blocks(key, monkeypatch):
    k1, k2 = jax.random.split(key)
    x = np.asarray(jax.random.normal(k1, (23, 3)), np.float64)
    y = np.asarray(jax.random.normal(k2, (17, 3)), np.float64) + 0.3
    expected_mmd = brute_mmd2(x, y, 1.7)
    dist = lambda a, b: np.linalg.norm(a[:, None] - b[None], axis=-1)  # noqa: E731
    expected_energy = (
        2 * dist(x, y).mean() - dist(x, x).sum() / (23 * 22) - dist(y, y).sum() / (17 * 16)
    )
    monkeypatch.setattr(_arrays, "BLOCK", 5)
    np.testing.assert_allclose(metrics.mmd2(x, y, bandwidth=1.7), expected_mmd, rtol=1e-10)
    np.testing.assert_allclose(metrics.energy_distance(x, y), expected_energy, rtol=1e-8)


def test_median_bandwidth_is_the_median_distance_of_all_pooled_pairs(key):
    """Up to 1000 pooled points every distinct pair counts; beyond, 1000 evenly spaced
    points give nearly the same median. The default MMD uses it."""
    k1, k2 = jax.random.split(key)
    x = np.array(jax.random.normal(k1, (23, 3)), np.float64)
    y = 2.0 * np.asarray(jax.random.exponential(k2, (17, 3)), np.float64)
    x[0] = 40.0  # an outlier: every pair that holds it is among the longest
    pooled = np.concatenate([x, y])
    pairs = [np.linalg.norm(a - b) for i, a in enumerate(pooled) for b in pooled[i + 1 :]]
    h = np.median(pairs)
    np.testing.assert_allclose(
        metrics.median_bandwidth(x, y), h, rtol=1e-6
    )  # rounding of |a|^2 + |b|^2 - 2ab
    np.testing.assert_allclose(metrics.mmd2(x, y), brute_mmd2(x, y, h), rtol=1e-6)
    big = np.asarray(jax.random.normal(k1, (1500, 2)), np.float64)
    distances = np.linalg.norm(big[:, None] - big[None], axis=-1)[np.triu_indices(1500, 1)]
    np.testing.assert_allclose(
        metrics.median_bandwidth(big[:700], big[700:]), np.median(distances), rtol=0.02
    )


@pytest.mark.parametrize(("c", "beta"), [(1.3, -0.5), (0.6, -0.3), (None, None)])
def test_ksd_matches_autodiff_stein_kernel(key, monkeypatch, c, beta):
    """The closed-form IMQ Stein kernel against k_0 built from jax derivatives; None: the
    documented defaults c = 1, beta = -1/2."""
    target = Gaussian(jnp.array([0.5, -1.0, 0.0]), jnp.diag(jnp.array([1.0, 2.0, 0.5])))
    x = np.asarray(jax.random.normal(key, (12, 3)), np.float64)
    settings = {} if c is None else {"c": c, "beta": beta}
    c, beta = (1.0, -0.5) if c is None else (c, beta)

    def kernel(a, b):
        return (c**2 + jnp.sum((a - b) ** 2)) ** beta

    def stein_kernel(a, b):
        sa, sb = target.score(a), target.score(b)
        grad_a, grad_b = jax.grad(kernel, 0)(a, b), jax.grad(kernel, 1)(a, b)
        trace = jnp.trace(jax.jacfwd(jax.grad(kernel, 0), 1)(a, b))
        return sa @ sb * kernel(a, b) + sa @ grad_b + sb @ grad_a + trace

    xs = jnp.asarray(x)
    k0 = jax.vmap(lambda a: jax.vmap(lambda b: stein_kernel(a, b))(xs))(xs)
    expected = float(np.sqrt(np.mean(np.asarray(k0, np.float64))))
    monkeypatch.setattr(_arrays, "BLOCK", 5)
    np.testing.assert_allclose(metrics.ksd(x, target.score, **settings), expected, rtol=1e-4)


def test_ksd_sums_in_float64(key):
    """The scores come in JAX's default precision; the double sum over pairs is float64
    (a brute-force float64 sum with the same scores agrees to 1e-10)."""
    target = Gaussian(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.4], [0.4, 0.8]]))
    x = 3.0 * np.asarray(jax.random.normal(key, (40, 2)), np.float64)
    s = np.asarray(jax.vmap(target.score)(jnp.asarray(x)), np.float64)
    diff = x[:, None] - x[None]
    r2 = np.sum(diff**2, -1)
    q = 1.0 + r2
    k0 = (
        q**-0.5 * (s @ s.T)
        - q**-1.5 * np.einsum("ijk,jk->ij", diff, s)  # s_j . grad_i k
        + q**-1.5 * np.einsum("ijk,ik->ij", diff, s)  # s_i . grad_j k
        + 2 * q**-1.5
        - 3 * q**-2.5 * r2
    )
    np.testing.assert_allclose(metrics.ksd(x, target.score), np.sqrt(k0.mean()), rtol=1e-10)


def test_w2_exact_cases(key):
    k1, k2 = jax.random.split(key)
    x = np.asarray(jax.random.normal(k1, (60, 1)), np.float64)
    y = 2.0 * np.asarray(jax.random.normal(k2, (60, 1)), np.float64)
    sorted_w2 = np.sqrt(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))
    np.testing.assert_allclose(metrics.wasserstein2(x, y), sorted_w2, rtol=1e-9)
    np.testing.assert_allclose(metrics.sliced_wasserstein2(x, y), sorted_w2, rtol=1e-9)
    cloud = np.asarray(jax.random.normal(k1, (80, 3)), np.float64)
    shift = np.array([0.3, -0.4, 1.2])
    np.testing.assert_allclose(metrics.wasserstein2(cloud, cloud + shift), 1.3, rtol=1e-9)


def test_wasserstein_1d_default_order_and_order_two(key):
    """Equal sizes: ``W_p`` is the ``p``-mean of the differences of sorted values (W1 by
    default), at values whose W1 and W2 differ."""
    k1, k2 = jax.random.split(key)
    u = 1.3 * np.asarray(jax.random.normal(k1, (70,)), np.float64)
    v = np.asarray(jax.random.exponential(k2, (70,)), np.float64) - 0.2
    gaps = np.abs(np.sort(u) - np.sort(v))
    assert np.sqrt(np.mean(gaps**2)) > 1.05 * np.mean(gaps)  # W1 and W2 differ here
    np.testing.assert_allclose(metrics.wasserstein_1d(u, v), np.mean(gaps), rtol=1e-9)
    np.testing.assert_allclose(
        metrics.wasserstein_1d(u, v, p=2), np.sqrt(np.mean(gaps**2)), rtol=1e-9
    )


@pytest.mark.parametrize(
    ("u", "v", "message"),
    [
        (np.zeros((3, 2)), np.zeros(3), "u: has 2 dimensions (shape (3, 2)), expected 1; "),
        (np.zeros(3), np.zeros((3, 1)), "v: has 2 dimensions (shape (3, 1)), expected 1; "),
        (np.array([0.0, np.inf]), np.zeros(3), "u: contains 1 NaN or infinite values; "),
        (np.zeros(3), np.array([np.nan, 0.0]), "v: contains 1 NaN or infinite values; "),
    ],
)
def test_wasserstein_1d_refuses_and_names_the_input(u, v, message):
    with pytest.raises(ScoresampleError) as caught:
        metrics.wasserstein_1d(u, v)
    assert str(caught.value).startswith(message)


def test_sliced_w2_averages_pots_500_directions_of_seed_0(key):
    """By default: the root mean over POT's 500 random directions of seed 0 of the squared
    1-D W2 of the projections (equal sizes: sorted differences)."""
    k1, k2 = jax.random.split(key)
    x = np.asarray(jax.random.normal(k1, (50, 3)), np.float64)
    y = 1.5 * np.asarray(jax.random.normal(k2, (50, 3)), np.float64) + 0.3
    directions = ot.sliced.get_random_projections(3, 500, seed=0)  # (3, 500)
    gaps = np.sort(x @ directions, axis=0) - np.sort(y @ directions, axis=0)
    expected = np.sqrt(np.mean(gaps**2))
    np.testing.assert_allclose(metrics.sliced_wasserstein2(x, y), expected, rtol=1e-9)
    other_seed = metrics.sliced_wasserstein2(x, y, seed=1)
    assert abs(other_seed - expected) > 1e-6  # the seed matters, so it is pinned


def test_exact_w2_solves_thousands_of_points_to_optimality(key):
    """4000 points need more network-simplex pivots than POT's default cap of 1e5 (which
    stops early with a warning, an error here); in 1-D the exact value is known."""
    k1, k2 = jax.random.split(key)
    x = np.asarray(jax.random.normal(k1, (4000, 1)), np.float64)
    y = 1.3 * np.asarray(jax.random.normal(k2, (4000, 1)), np.float64)
    expected = np.sqrt(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))
    np.testing.assert_allclose(metrics.wasserstein2(x, y), expected, rtol=1e-9)


def test_input_errors_name_the_field():
    x = np.zeros((10, 2))
    with pytest.raises(DataError, match="y: has dimension 3"):
        metrics.mmd2(x, np.zeros((10, 3)))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(NonFiniteError, match="x: contains 1 NaN"):
        metrics.energy_distance(bad, x)
    with pytest.raises(ConfigError, match="sliced_wasserstein2"):
        metrics.wasserstein2(np.zeros((5001, 1)), np.zeros((5001, 1)))


@pytest.fixture(scope="module")
def null_and_wrong_values():
    """Metric values: exact vs exact, exact vs shifted (Gaussian), exact vs mode-dropped (toy)."""
    key = jax.random.PRNGKey(11)
    gauss, toy = Gaussian(jnp.zeros(2), jnp.eye(2)), ncsn_toy()
    one_mode = toy.with_weights([1.0, 1e-12])
    cases = {
        "shifted": (gauss, lambda y, k: y + 0.5),
        "mode_dropped": (toy, lambda y, k: np.asarray(one_mode.sample(k, len(y)))),
    }
    values = {}
    for i, (case, (target, wrong)) in enumerate(cases.items()):
        pairs = exact_pairs(target, jax.random.fold_in(key, i))
        for name, fn in TWO_SAMPLE.items():
            null = [fn(x, y) for x, y in pairs]
            bad = [
                fn(x, wrong(y, jax.random.fold_in(key, 100 + j))) for j, (x, y) in enumerate(pairs)
            ]
            values[case, name] = np.array(null), np.array(bad)
    return values


@pytest.mark.parametrize("case", ["shifted", "mode_dropped"])
@pytest.mark.parametrize("name", list(TWO_SAMPLE))
def test_metric_separates_wrong_sets_from_its_floor(null_and_wrong_values, case, name):
    null, bad = null_and_wrong_values[case, name]
    z = (bad.mean() - null.mean()) / null.std(ddof=1)
    assert z > 4, f"{name} on {case}: null {null}, wrong {bad}"


@pytest.mark.parametrize("case", ["shifted", "mode_dropped"])
@pytest.mark.parametrize("name", UNBIASED)
def test_unbiased_metrics_are_zero_for_exact_pairs(null_and_wrong_values, case, name):
    null, _ = null_and_wrong_values[case, name]
    assert abs(null.mean()) / (null.std(ddof=1) / np.sqrt(len(null))) < 4, null


def test_ksd_lower_for_exact_than_for_wrong_spread():
    """Wrong spread, not wrong weights: KSD cannot see mode weights (see DESIGN.md)."""
    toy = ncsn_toy()
    too_wide = GaussianMixture(toy.weights, toy.means, 1.3)
    key = jax.random.PRNGKey(5)
    exact = [metrics.ksd(toy.sample(jax.random.fold_in(key, i), N), toy.score) for i in range(4)]
    wide = [
        metrics.ksd(too_wide.sample(jax.random.fold_in(key, 10 + i), N), toy.score)
        for i in range(4)
    ]
    stderr = np.sqrt((np.var(exact, ddof=1) + np.var(wide, ddof=1)) / 4)
    assert (np.mean(wide) - np.mean(exact)) / stderr > 4, (exact, wide)


def test_ksd_rejects_non_finite_scores():
    with pytest.raises(NonFiniteError, match="score"):
        metrics.ksd(np.ones((4, 2)), lambda x: x / 0.0)
