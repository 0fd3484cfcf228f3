"""Exact, non-statistical properties of the objectives, weightings and parameterisations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample.errors import ConfigError
from scoresample.noise import VE, VP, FixedLevel
from scoresample.objectives import (
    DSM,
    EDM,
    ISM,
    OBJECTIVES,
    SSM,
    TSM,
    ExactNoisedScore,
    GaussianKappa,
    KappaMixture,
    Preconditioned,
    TargetInformed,
    TSMOptimal,
    average_component_variance,
    kappa_bar,
    make_objective,
    make_weighting,
    preconditioning,
    weighting,
)
from scoresample.targets import Gaussian, GaussianMixture, ncsn_toy

VE_PROCESS = VE(0.05, 5.0)
TIMES = jnp.linspace(0.1, 0.9, 5)


def test_kappa_one_is_dsm_and_kappa_zero_is_tsm(kit, nets, key):
    xs, keys = kit.draws(key, 128)
    score, net = kit.mixture.score, nets["a"]
    table = kit.evaluate_table(
        {
            "kappa1": (KappaMixture(VE_PROCESS, 1.0, clean_score=score), net),
            "dsm": (DSM(VE_PROCESS), net),
            "kappa0": (KappaMixture(VE_PROCESS, 0.0, clean_score=score), net),
            "tsm": (TSM(VE_PROCESS, clean_score=score), net),
        },
        xs,
        jnp.asarray(0.4),
        keys,
    )
    np.testing.assert_allclose(table["kappa1"][0], table["dsm"][0], rtol=1e-5)
    np.testing.assert_allclose(table["kappa0"][0], table["tsm"][0], rtol=1e-5)


def test_tsm_takes_scores_bound_or_paired(kit, nets, key):
    xs, keys = kit.draws(key, 128)
    t = jnp.asarray(0.2)
    bound = TSM(VE_PROCESS, clean_score=kit.mixture.score)
    paired = TSM(VE_PROCESS)
    assert paired.needs_scores and not bound.needs_scores
    scores = jax.vmap(kit.mixture.score)(xs)
    got, _ = kit.evaluate(paired, nets["a"], (xs, scores), t, keys)
    want, _ = kit.evaluate(bound, nets["a"], xs, t, keys)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(TypeError, match="pair"):
        kit.evaluate(paired, nets["a"], xs, t, keys)


def test_gaussian_kappa_and_kappa_bar():
    kappa = GaussianKappa(VE_PROCESS, sigma_data=2.0)
    sigma = jax.vmap(VE_PROCESS.sigma)(TIMES)
    np.testing.assert_allclose(jax.vmap(kappa)(TIMES), sigma**2 / (sigma**2 + 4.0), rtol=1e-6)
    assert kappa_bar(VE_PROCESS, ncsn_toy()).sigma_data == pytest.approx(1.0)
    mixture = GaussianMixture([0.25, 0.75], [[0.0, 0.0], [5.0, 5.0]], [[1.0, 3.0], [2.0, 2.0]])
    assert average_component_variance(mixture) == pytest.approx(0.25 * 5.0 + 0.75 * 4.0)


def test_preconditioned_zero_network_is_the_exact_score_of_gaussian_data(key):
    """``c_skip y = -y / v`` is the noised score of ``N(0, sigma_data^2 I)``."""
    gaussian = Gaussian.standard(2, scale=1.5)
    ys = jax.random.normal(key, (8, 2))
    for process in (VE_PROCESS, VP()):
        exact = ExactNoisedScore(gaussian, process)
        for loss in ("tsm", "dsm"):
            model = Preconditioned(lambda y, t: jnp.zeros_like(y), process, 1.5, loss)
            for t in (0.2, 0.7):
                got = jax.vmap(lambda y, t=t, m=model: m(y, t))(ys)
                want = jax.vmap(lambda y, t=t, e=exact: e(y, t))(ys)
                np.testing.assert_allclose(got, want, rtol=1e-5)


def test_preconditioning_coefficients():
    for process in (VE_PROCESS, VP()):
        for t in (0.2, 0.8):
            alpha, sigma = process.alpha(t), process.sigma(t)
            v = alpha**2 * 4.0 + sigma**2
            tsm = preconditioning(process, t, 2.0, "tsm")
            dsm = preconditioning(process, t, 2.0, "dsm")
            np.testing.assert_allclose(tsm["c_in"], v**-0.5, rtol=1e-6)
            np.testing.assert_allclose(tsm["c_skip"], -1 / v, rtol=1e-6)
            np.testing.assert_allclose(tsm["c_out"] ** 2, sigma**2 / (alpha**2 * 4 * v), rtol=1e-5)
            np.testing.assert_allclose(dsm["c_out"] ** 2, alpha**2 * 4 / (sigma**2 * v), rtol=1e-5)
            np.testing.assert_allclose(tsm["weight"], TSMOptimal(2.0)(process, t), rtol=1e-6)
            np.testing.assert_allclose(dsm["weight"], EDM(2.0)(process, t), rtol=1e-6)
    with pytest.raises(ConfigError, match="preconditioning.loss"):
        preconditioning(VE_PROCESS, 0.5, 1.0, "ism")


def test_target_informed_adds_the_scaled_clean_score(key):
    target = ncsn_toy()
    model = TargetInformed(lambda y, t: jnp.ones_like(y), target.score, VP())
    y = jax.random.normal(key, (2,))
    np.testing.assert_allclose(model(y, 0.3), target.score(y) / VP().alpha(0.3) + 1, rtol=1e-6)


def test_weightings_match_their_formulas():
    sigma = jax.vmap(VE_PROCESS.sigma)(TIMES)
    # EDM in the denoiser form with alpha = 1, times sigma^4 (denoiser -> score error).
    karras = (sigma**2 + 0.25) / (sigma * 0.5) ** 2 * sigma**4
    np.testing.assert_allclose(
        jax.vmap(lambda t: EDM(0.5)(VE_PROCESS, t))(TIMES), karras, rtol=1e-5
    )
    np.testing.assert_allclose(weighting.sigma_squared(VE_PROCESS, TIMES), sigma**2, rtol=1e-6)
    np.testing.assert_allclose(
        weighting.inverse_sigma_squared(VE_PROCESS, TIMES), sigma**-2, rtol=1e-6
    )
    np.testing.assert_array_equal(weighting.uniform(VE_PROCESS, TIMES), 1.0)
    likelihood = jax.vmap(lambda t: weighting.likelihood(VP(), t))(TIMES)
    np.testing.assert_allclose(likelihood, jax.vmap(VP().diffusion_squared)(TIMES), rtol=1e-6)
    assert make_weighting("tsm", sigma_data=1.0) == TSMOptimal(1.0)
    with pytest.raises(ConfigError, match="sigma_data"):
        make_weighting("edm")
    with pytest.raises(ConfigError, match="weighting"):
        make_weighting("sigma3")


def test_default_weightings():
    assert DSM(VE_PROCESS).weighting is weighting.sigma_squared
    assert ISM(VE_PROCESS).weighting is weighting.sigma_squared
    assert ISM(VE_PROCESS, clean=True).weighting is weighting.uniform
    assert SSM(VE_PROCESS, clean=True).weighting is weighting.uniform
    assert TSM(VE_PROCESS, weighting=EDM(1.0)).weighting == EDM(1.0)
    # One level: uniform by default, whatever the objective; an explicit choice is kept.
    fixed = FixedLevel(0.01)
    for objective in (DSM(fixed), ISM(fixed), SSM(fixed), TSM(fixed), KappaMixture(fixed, 0.5)):
        assert objective.weighting is weighting.uniform
    assert DSM(fixed, weighting=weighting.sigma_squared).weighting is weighting.sigma_squared


def test_registry_builds_every_objective():
    exact = ExactNoisedScore(ncsn_toy(), VE_PROCESS)
    options = {
        "kappa": {"kappa": 0.5},
        "esm": {"noised_score": exact},
        "kde_esm": {"data": np.random.default_rng(0).normal(size=(32, 2))},
        "dem": {"target": ncsn_toy()},
    }
    for name in OBJECTIVES:
        objective = make_objective(name, VE_PROCESS, **options.get(name, {}))
        assert objective.process == VE_PROCESS
    assert make_objective("ssm_vr", VE_PROCESS).variance_reduced
    assert make_objective("dsm_s", VE_PROCESS).drop_constant
    with pytest.raises(ConfigError, match="objective"):
        make_objective("nce", VE_PROCESS)
    with pytest.raises(ConfigError, match=r"objective\.dsm"):
        make_objective("dsm", VE_PROCESS, n_probes=3)
    with pytest.raises(ConfigError, match="ISM.divergence"):
        ISM(VE_PROCESS, divergence="exact")
    with pytest.raises(ConfigError, match="SSM.probes"):
        SSM(VE_PROCESS, probes="uniform")
