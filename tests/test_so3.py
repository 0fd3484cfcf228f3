"""SO(3): group operations against SciPy's rotations, the IGSO(3) density's image sum
against its character series, normalisation and sampling of the angle law, Haar
invariance, the noised marginal against a Monte Carlo convolution, scores against autodiff,
both score identities of Prop. 3.3 against the exact noised score (the transport the
wrong way must fail), geodesic Langevin, and the group carried from the target to the
samplers, objectives and metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trains_with_fit
from scipy.spatial.transform import Rotation

from scoresample import ConfigError, samplers, targets
from scoresample.diagnostics import sample_quality
from scoresample.groups import so3
from scoresample.networks import SO3ScoreMLP
from scoresample.noise import VE, VP, geometric_levels
from scoresample.objectives import SO3DSM, SO3TSM, make_objective
from scoresample.objectives import so3 as so3_objectives
from scoresample.samplers import annealed_langevin, ula
from scoresample.targets import ExactNoisedScore

#: Weights 0.5, 0.3, 0.2; scales 0.3, 0.5, 0.25.
TARGET = targets.so3_mixture()
#: Generic rotation vectors: small, middling and near the cut locus |r| = pi.
POINTS = np.array([[1e-3, -2e-3, 5e-4], [0.4, -1.1, 0.7], [-2.0, 0.3, 1.9], [0.1, 3.0, -0.5]])


def _series_density(omega, sigma, terms=4000):
    """``f_sigma(omega)`` by the character series in float64 (the independent reference)."""
    ell = np.arange(terms)
    weights = (2 * ell + 1) * np.exp(-ell * (ell + 1) * sigma**2 / 2)
    return np.sum(weights * np.sin((ell + 0.5) * omega)) / np.sin(omega / 2)


def _angle_cdf(sigma, grid):
    density = (1 - np.cos(grid)) / np.pi * np.exp(np.asarray(so3.igso3_log_prob(grid, sigma)))
    steps = 0.5 * (density[1:] + density[:-1]) * np.diff(grid)
    return np.concatenate([[0.0], np.cumsum(steps)])


def test_group_operations_match_scipy_rotations():
    others = POINTS[::-1] * 0.9
    for r, s in zip(POINTS, others, strict=True):
        expected = Rotation.from_rotvec(r).as_matrix()
        np.testing.assert_allclose(so3.matrix(jnp.asarray(r)), expected, atol=2e-6)
        product = (Rotation.from_rotvec(r) * Rotation.from_rotvec(s)).as_matrix()
        composed = so3.compose(jnp.asarray(r), jnp.asarray(s))
        np.testing.assert_allclose(so3.matrix(composed), product, atol=2e-6)
        assert float(so3.angle(composed)) <= np.pi + 1e-6
        back = so3.exp_map(jnp.asarray(r), so3.log_map(jnp.asarray(r), jnp.asarray(s)))
        np.testing.assert_allclose(back, s, atol=2e-5)
    # A 1e-4 rad rotation keeps its angle in float32 (e3nn-jax's matrix loses it).
    np.testing.assert_allclose(so3.matrix(jnp.array([0.0, 0.0, 1e-4]))[1, 0], 1e-4, rtol=1e-3)
    u = jnp.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(
        so3.rotate(jnp.asarray(POINTS[2]), u), Rotation.from_rotvec(POINTS[2]).apply(u), atol=2e-6
    )


def test_haar_density_is_normalised_and_the_mixture_is_bi_invariant(key):
    # Uniform points of the ball of radius pi: E[haar density] * volume = 1.
    n = 200_000
    direction = jax.random.normal(key, (n, 3))
    radius = np.pi * jax.random.uniform(jax.random.fold_in(key, 1), (n,)) ** (1 / 3)
    points = radius[:, None] * direction / jnp.linalg.norm(direction, axis=1, keepdims=True)
    values = np.exp(np.asarray(jax.vmap(so3.haar_log_density)(points), np.float64))
    volume = 4 / 3 * np.pi**4
    assert abs(values.mean() * volume - 1) < 4 * values.std() * volume / np.sqrt(n)
    # log p(g r) under the means moved to g mu, and log p(r g) under mu g: both unchanged.
    g = jnp.array([0.7, -0.4, 1.2])
    left = so3.IGSO3Mixture(TARGET.weights, so3.compose(g, TARGET.means), TARGET.scales)
    right = so3.IGSO3Mixture(TARGET.weights, so3.compose(TARGET.means, g), TARGET.scales)
    for r in jnp.asarray(POINTS):
        np.testing.assert_allclose(left.log_prob(so3.compose(g, r)), TARGET.log_prob(r), rtol=1e-4)
        np.testing.assert_allclose(right.log_prob(so3.compose(r, g)), TARGET.log_prob(r), rtol=1e-4)
    for r in jnp.asarray(POINTS[1:]):  # (next to the identity, g r = r g)
        # The wrong side: SO(3) is not abelian.
        assert not np.isclose(left.log_prob(so3.compose(r, g)), TARGET.log_prob(r), rtol=1e-2)


@pytest.mark.parametrize("sigma", [0.15, 0.6, 1.3, 1.5, 2.5, so3.MAX_SCALE])
def test_density_matches_the_character_series(sigma):
    """Both branches (image sum below sigma = sqrt(2), series above) against a 4000-term
    float64 series, where that series is exact (its cancellation floor is 1e-15)."""
    for omega in (1e-5, 0.05, 0.4, 1.3, 2.2, 3.1):
        reference = _series_density(omega, sigma)
        if reference < 1e-6:
            continue
        np.testing.assert_allclose(
            np.exp(float(so3.igso3_log_prob(omega, sigma))), reference, rtol=2e-5, err_msg=omega
        )


def test_image_sum_and_series_agree_where_both_hold():
    for eps in (0.7, 1.0, 1.4):
        for omega in (0.02, 1.0, 3.0):
            a, b = so3._images_log_f(omega, eps), so3._series_log_f(omega, eps)
            np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.05, 0.5, 2.0])
def test_angle_law_is_normalised_and_sampled(sigma, key):
    grid = np.linspace(1e-7, np.pi, 40_001)
    cdf = _angle_cdf(sigma, grid)
    assert abs(cdf[-1] - 1) < 1e-5
    n = 20_000
    draws = jax.vmap(so3.igso3_sample, (0, None))(jax.random.split(key, n), sigma)
    angles = np.sort(np.asarray(so3.angle(draws), np.float64))
    ks = np.max(np.abs(np.searchsorted(angles, grid) / n - cdf))
    assert ks * np.sqrt(n) < 1.95  # KS at the 0.1% level
    wrong = np.max(np.abs(np.searchsorted(angles, grid) / n - _angle_cdf(0.7 * sigma, grid)))
    assert wrong * np.sqrt(n) > 4
    axes = np.asarray(draws) / angles.max() if sigma > 1 else np.asarray(draws)
    assert np.all(np.abs(axes.mean(0)) < 4 * axes.std(0) / np.sqrt(n))


def test_noised_marginal_is_the_convolution_with_igso3(key):
    """``X W`` by Monte Carlo against exact draws of ``noised(1, sigma)``: the mean
    rotation matrix (9 numbers), a two-sample z-test; a wrong sigma is detected."""
    sigma, n = 0.5, 20_000
    xs = TARGET.sample(jax.random.fold_in(key, 1), n)
    ws = jax.vmap(so3.igso3_sample, (0, None))(jax.random.split(key, n), sigma)
    convolved = np.asarray(so3.embed(so3.compose(xs, ws)), np.float64)

    def z(noised):
        exact = np.asarray(so3.embed(noised.sample(jax.random.fold_in(key, 2), n)), np.float64)
        se = np.sqrt((convolved.var(0) + exact.var(0)) / n)
        return np.max(np.abs(convolved.mean(0) - exact.mean(0)) / se)

    assert z(TARGET.noised(1.0, sigma)) < 4.5
    assert z(TARGET.noised(1.0, 1.5 * sigma)) > 8


@jax.jit
def _score_and_autodiff(target, points):
    """The target's score and autodiff of ``u -> log p(r Exp(u))`` at ``u = 0``, at each
    point (one compilation for every mixture of the same shape)."""
    along = jax.grad(lambda u, r: target.log_prob(so3.compose(r, u)))
    return jax.vmap(target.score)(points), jax.vmap(along, (None, 0))(jnp.zeros(3), points)


@pytest.mark.parametrize("sigma", [0.0, 0.7, 1.6])
def test_score_is_the_riemannian_gradient_of_the_log_density(sigma):
    """Body-frame score against autodiff along the exp map, also next to a component's
    centre (where the angle floor acts) and in both density branches."""
    target = TARGET if sigma == 0 else TARGET.noised(1.0, sigma)
    points = jnp.concatenate([jnp.asarray(POINTS), TARGET.means[:1] + 1e-4])
    score, by_autodiff = _score_and_autodiff(target, points)
    np.testing.assert_allclose(score, by_autodiff, rtol=2e-3, atol=2e-3)


def test_bad_scales_and_contracting_noise_are_refused():
    with pytest.raises(ConfigError, match="IGSO3Mixture.scales"):
        so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], so3.MAX_SCALE * 1.1)
    with pytest.raises(ConfigError, match="IGSO3Mixture.means"):
        so3.IGSO3Mixture([1.0, 1.0], [[0.0, 0.0, 0.0]], 0.3)
    with pytest.raises(ConfigError, match="noise"):
        TARGET.noised(0.9, 0.3)


def _importance_z(values, log_weights, exact):
    """Largest |z| of the self-normalised estimate ``sum w_i f_i`` against ``exact``
    (delta-method standard error)."""
    values, w = np.asarray(values, np.float64), np.asarray(log_weights, np.float64)
    w = np.exp(w - w.max())
    w /= w.sum()
    estimate = w @ values
    se = np.sqrt(np.sum(w[:, None] ** 2 * (values - estimate) ** 2, axis=0))
    return np.max(np.abs(estimate - exact) / se)


def test_both_identities_give_the_exact_noised_score(key):
    """At ``y``, posterior draws by importance sampling: ``x = y W^-1`` with ``W ~ IGSO``
    (the likelihood) weighted by ``p(x)``. TSI's ``W^T grad log p(x)`` and DSI's
    ``c(|w|) w`` both average to the exact score of ``noised(1, sigma)``. So does the
    clean score untransported: IGSO(3) noise is conjugation-invariant, ``X W = W' X``
    with ``W' = X W X^-1 ~ IGSO``, and for noise on the left the transport is the
    identity in body coordinates. The transport the wrong way, ``W g``, fails."""
    sigma, y, n = 1.0, jnp.array([0.9, -0.6, 0.8]), 40_000
    ws = jax.vmap(so3.igso3_sample, (0, None))(jax.random.split(key, n), sigma)
    xs = so3.compose(y[None, :], -ws)
    log_weights = jax.vmap(TARGET.log_prob)(xs)
    clean = jax.vmap(TARGET.score)(xs)
    exact = np.asarray(TARGET.noised(1.0, sigma).score(y))
    tsi = so3_objectives.transported_score(ws, clean)
    dsi = so3.igso3_score_factor(so3.angle(ws), sigma)[:, None] * ws
    assert _importance_z(tsi, log_weights, exact) < 4
    assert _importance_z(dsi, log_weights, exact) < 4
    assert _importance_z(clean, log_weights, exact) < 4
    assert _importance_z(so3.rotate(ws, clean), log_weights, exact) > 8


def test_so3_tsm_minus_dsm_does_not_depend_on_the_score_function(key, monkeypatch):
    """``E[TSM - DSM]`` is the same for two score functions (the exact noised score and
    zero): their targets share a posterior mean. TSM transported the wrong way (by ``W``
    instead of ``W^T``) is the negative control."""
    process = VE(0.3, 2.0)  # where the transport turns the score by a sizeable angle
    exact = lambda y, t: TARGET.noised(1.0, process.sigma(t)).score(y)  # noqa: E731
    zero = lambda y, t: jnp.zeros_like(y)  # noqa: E731
    n = 20_000
    xs, keys = TARGET.sample(jax.random.fold_in(key, 1), n), jax.random.split(key, n)
    ts = jax.random.uniform(jax.random.fold_in(key, 2), (n,))
    dsm = SO3DSM(process)

    def z_of_gap():
        tsm = SO3TSM(process, clean_score=TARGET.score)

        @jax.jit
        def differences(xs, ts, keys):
            def one(x, t, k):
                gaps = [tsm(s, x, t, k)[0] - dsm(s, x, t, k)[0] for s in (exact, zero)]
                return gaps[0] - gaps[1]

            return jax.vmap(one)(xs, ts, keys)

        d = np.asarray(differences(xs, ts, keys), np.float64)
        return abs(d.mean()) / (d.std() / np.sqrt(n))

    assert z_of_gap() < 4
    monkeypatch.setattr(so3_objectives, "transported_score", lambda w, g: so3.rotate(w, g))
    wrong = z_of_gap()
    assert wrong > 8, wrong


def test_network_is_a_function_of_the_rotation_and_trains_with_fit(key):
    net = SO3ScoreMLP(3, hidden=16, depth=2, key=key)
    axis = jnp.array([0.6, -0.8, 0.0])
    # The same rotation by pi about +axis and about -axis.
    np.testing.assert_allclose(net(np.pi * axis, 0.4), net(-np.pi * axis, 0.4), atol=1e-5)
    assert net(jnp.array([0.1, 0.2, 0.3]), 0.4).shape == (3,)
    assert not np.allclose(net(jnp.array([0.1, 0.2, 0.3]), 0.4), net(jnp.zeros(3), 0.4))
    assert_trains_with_fit(net, SO3TSM(VE(0.05, 1.0), clean_score=TARGET.score), TARGET, key)


def test_geodesic_langevin_samples_the_mixture_at_a_noise_level(key):
    """Geodesic ULA on the exact score of ``noised(1, 0.6)``, where the components overlap,
    from Haar-uniform starts, 400 steps at h = 0.02: the component weights (0.5, 0.3, 0.2)
    within 0.03, and the draws stay in the ball ``|r| <= pi``; Euclidean steps on the
    rotation vector leave it."""
    target = TARGET.noised(1.0, 0.6)
    start = np.asarray(so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], so3.MAX_SCALE).sample(key, 1000))

    def draws(exp_map_or_none, n_chains, n_steps):
        algorithm = ula.as_top_level_api(target.score, 0.02, exp_map=exp_map_or_none)
        spec = samplers.make_sampler(algorithm, num_warmup=n_steps - 1, num_samples=1)
        return samplers.run(spec, key, initial_positions=start[:n_chains], progress=False).flat()

    on_group = draws(so3.exp_map, 1000, 400)
    assert np.all(np.linalg.norm(on_group, axis=1) <= np.pi + 1e-5)
    weights = np.mean(jax.vmap(target.responsibilities)(on_group), axis=0)
    np.testing.assert_allclose(weights, [0.5, 0.3, 0.2], atol=0.03)
    assert np.any(np.linalg.norm(draws(None, 100, 20), axis=1) > np.pi)


def test_geodesic_langevin_keeps_an_igso3_law(key):
    """Geodesic ULA (``exp_map``) from exact draws of one component, 100 steps at
    h = 2e-3: the angle law from the centre stays IGSO(3)'s (KS at the 0.1% level); driven
    by the score of a 1.3x wider component, it drifts away (the control)."""
    sigma, n = 0.4, 3000
    start = np.asarray(so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], sigma).sample(key, n))
    grid = np.linspace(1e-7, np.pi, 20_001)

    def ks(scale):
        target = so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], scale)
        algorithm = ula.as_top_level_api(target.score, 2e-3, exp_map=so3.exp_map)
        spec = samplers.make_sampler(algorithm, num_warmup=99, num_samples=1)
        chains = samplers.run(spec, key, initial_positions=start, progress=False)
        angles = np.sort(np.asarray(so3.angle(chains.flat()), np.float64))
        gaps = np.abs(np.searchsorted(angles, grid) / n - _angle_cdf(sigma, grid))
        return np.max(gaps) * np.sqrt(n)

    assert ks(sigma) < 1.95
    assert ks(1.3 * sigma) > 4


def test_geodesic_annealed_langevin_runs_on_the_group(key):
    """Annealed Langevin with geodesic steps on the exact noised scores, 8 levels x 40
    steps from Haar-uniform starts: every draw in the ball and each component's weight
    within 0.1 (observed: 0.43 / 0.36 / 0.21 for 0.5 / 0.3 / 0.2; at this budget annealing
    leaves modes of unequal widths misweighted by a few percent, as on Euclidean mixtures,
    and geodesic ULA at one level gets them right, above). Tweedie's step is refused."""
    process = VE(0.05, 3.0)
    exact = ExactNoisedScore(TARGET, process)
    levels = annealed_langevin.schedule(process, geometric_levels(3.0, 0.05, 8), 1e-4)
    start = so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], so3.MAX_SCALE).sample(key, 1000)
    algorithm = annealed_langevin.as_top_level_api(
        exact, levels, 40, denoise=False, exp_map=so3.exp_map
    )
    spec = samplers.make_sampler(algorithm, num_samples=1)
    draws = samplers.run(spec, key, initial_positions=np.asarray(start), progress=False).flat()
    assert np.all(np.linalg.norm(draws, axis=1) <= np.pi + 1e-5)
    weights = np.mean(jax.vmap(TARGET.responsibilities)(draws), axis=0)
    np.testing.assert_allclose(weights, [0.5, 0.3, 0.2], atol=0.1)
    with pytest.raises(ConfigError, match="annealed_langevin.denoise"):
        annealed_langevin.as_top_level_api(exact, levels, 40, denoise=True, exp_map=so3.exp_map)


def test_samplers_objectives_and_metrics_take_the_group_from_the_target(key):
    """A target on SO(3) carries its group: ULA steps along it from Haar draws without
    being told, the Euclidean samplers refuse, ``tsm``/``dsm`` by name are the group's
    (VE only), and the sample-quality metrics compare rotations, not their vectors."""
    chains = samplers.run(
        samplers.make_sampler("ula", n_chains=50, step_size=0.01, num_samples=20),
        key,
        TARGET,
        progress=False,
    )
    assert np.all(np.linalg.norm(chains.flat(), axis=1) <= np.pi + 1e-5)
    with pytest.raises(ConfigError, match="nuts steps in R\\^d, but the model lives on so3"):
        samplers.run(samplers.make_sampler("nuts"), key, TARGET, progress=False)
    assert type(make_objective("tsm", VE(0.05, 2.0), so3.SO3, clean_score=TARGET.score)) is SO3TSM
    assert type(make_objective("dsm", VE(0.05, 2.0), so3.SO3)) is SO3DSM
    with pytest.raises(ConfigError, match="unknown name 'kappa' on so3"):
        make_objective("kappa", VE(0.05, 2.0), so3.SO3)
    with pytest.raises(ConfigError, match="contracts"):
        make_objective("dsm", VP(), so3.SO3)
    # The same rotations written outside the ball (r (1 - 2 pi / |r|)): equal metrics.
    draws = np.asarray(TARGET.sample(key, 500), np.float64)
    norms = np.linalg.norm(draws, axis=1, keepdims=True)
    elsewhere = draws * (1 - 2 * np.pi / norms)
    np.testing.assert_allclose(so3.matrix(elsewhere), so3.matrix(draws), atol=1e-5)
    inside, outside = (
        sample_quality(d, TARGET, key, metrics=("mmd2",)) for d in (draws, elsewhere)
    )
    np.testing.assert_allclose(outside.values["mmd2"], inside.values["mmd2"], atol=1e-6)
    assert "ksd" not in sample_quality(draws, TARGET, key).values
