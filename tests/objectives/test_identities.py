"""Identities that hold for any score function, tested on untrained networks.

Each is a Monte Carlo mean compared with its exact value as a z-score (Bonferroni over
the family), with a negative control that must fail. All objectives see the same clean
draws and keys, so differences are paired per example.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_zscores_small, mean_zscores

from scoresample.diagnostics.stein import family_threshold
from scoresample.errors import ConfigError
from scoresample.objectives import DSM, ESM, ISM, ExactNoisedScore, dsm_s
from scoresample.objectives.ism import divergence_folx, divergence_jvp


def assert_control_fails(z_wrong):
    limit = family_threshold(len(z_wrong))
    assert np.min(np.abs(z_wrong)) > limit, f"negative control passed: {z_wrong}"


def test_dsm_minus_ism_is_half_the_dimension(kit, tables):
    """sigma^2 E[DSM] - sigma^2 E[ISM] = d / 2 for any network (Vincent 2011)."""
    z, z_wrong = [], []
    for process, t, _, _, table in tables:
        weight = float(process.sigma(t) ** 2)
        for net in ("a", "energy"):
            gap = weight * (np.asarray(table["dsm", net][0]) - np.asarray(table["ism", net][0]))
            z.append(mean_zscores(gap, kit.dim / 2))
            z_wrong.append(mean_zscores(gap, kit.dim))
    assert_zscores_small(z)
    assert_control_fails(z_wrong)


def test_tsm_minus_dsm_does_not_depend_on_the_network(kit, tables):
    """E[TSM - DSM] = E|grad log p(x)|^2 / (2 alpha^2) - d / (2 sigma^2), for two networks.

    Control: TSM on the clean score plus ``1`` (a wrong target) makes the gap depend on
    the network: moving the network by ``1`` moves it by ``E[1 . (s(x) + 1) / alpha] = d /
    alpha`` (Stein: ``E[s(x)] = 0``), whatever the network.
    """
    z, z_wrong = [], []
    for process, t, xs, _, table in tables:
        alpha, sigma = process.alpha(t), process.sigma(t)
        clean = jax.vmap(kit.mixture.score)(xs)
        constant = jnp.sum(clean**2, axis=1) / (2 * alpha**2) - kit.dim / (2 * sigma**2)
        gap = {net: table["tsm", net][0] - table["dsm", net][0] for net in ("a", "b")}
        wrong = {net: table["tsm_wrong", net][0] - table["dsm", net][0] for net in ("a", "a+1")}
        z += [mean_zscores(gap["a"] - constant, 0.0), mean_zscores(gap["b"] - constant, 0.0)]
        z.append(mean_zscores(gap["a"] - gap["b"], 0.0))
        z_wrong.append(mean_zscores(wrong["a"] - wrong["a+1"], 0.0))
    assert_zscores_small(z)
    assert_control_fails(z_wrong)


def test_ssm_and_hutchinson_ism_equal_exact_ism_in_expectation(tables):
    """Same noised points, so each difference is probe noise with mean zero.

    Control: counting the norm term twice is biased by ``E|s|^2 / 2``, tested on the score
    of ``N(0, I)``, ``s(y) = -y``, where that bias is ``E|y|^2 / 2`` (an untrained
    network's output can be too small for any estimator to tell).
    """
    _, _, _, _, table = tables[0]
    estimators = (
        "ssm_gaussian",
        "ssm_vr_rademacher",
        "hutchinson_rademacher",
        "hutchinson_gaussian",
    )
    z = [
        mean_zscores(np.asarray(table[name, net][0]) - np.asarray(table["ism", net][0]), 0.0)
        for net in ("a", "energy")
        for name in estimators
    ]
    exact = np.asarray(table["ism", "normal"][0])
    z_wrong = []
    for name in estimators:
        aux = table[name, "normal"][1]
        z_wrong.append(mean_zscores(2 * aux["norm"] + aux["fitting"] - exact, 0.0))
    assert_zscores_small(z)
    assert_control_fails(z_wrong)


def test_esm_of_the_exact_noised_score_is_zero(kit, key):
    process, t = kit.cases[0]
    exact = ExactNoisedScore(kit.mixture, process)
    xs, keys = kit.draws(key, 256)
    values, _ = kit.evaluate(ESM(process, exact), exact, xs, jnp.asarray(t), keys)
    np.testing.assert_array_equal(values, 0.0)
    clean, _ = kit.evaluate(ESM(process, exact), kit.clean_score, xs, jnp.asarray(t), keys)
    assert np.all(np.asarray(clean) > 0)


@eqx.filter_jit
def three_divergences(energy, ys, t):
    """``(s, div s)`` by JVPs, ``(s, div s)`` by folx, and the Hessian's trace of ``E``."""

    def field(z):
        return energy(z, t)

    def scalar(z):
        return energy.energy(z, t)

    by_jvp = jax.vmap(lambda y: divergence_jvp(field, y))(ys)
    by_folx = jax.vmap(lambda y: divergence_folx(scalar, y))(ys)
    laplacian = jnp.trace(jax.vmap(jax.hessian(scalar))(ys), axis1=1, axis2=2)
    return by_jvp, by_folx, laplacian


def test_jvp_and_folx_divergences_agree(kit, nets, tables, key):
    """div(-grad E) three ways: JVPs over the basis, folx's forward Laplacian, the Hessian."""
    ys = jax.random.normal(key, (64, kit.dim))
    for t in (0.1, 0.8):
        (s_jvp, div_jvp), (s_folx, div_folx), laplacian = three_divergences(
            nets["energy"], ys, jnp.asarray(t)
        )
        np.testing.assert_allclose(s_folx, s_jvp, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(div_folx, div_jvp, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(div_jvp, -laplacian, rtol=1e-4, atol=1e-6)


def test_dsm_s_drops_exactly_the_constant(kit, nets, key):
    process, t = kit.cases[0]
    xs, keys = kit.draws(key, 64)
    dsm, aux = kit.evaluate(DSM(process), nets["a"], xs, jnp.asarray(t), keys)
    stable, aux_s = kit.evaluate(dsm_s(process), nets["a"], xs, jnp.asarray(t), keys)
    eps = jax.vmap(lambda k: jax.random.normal(k, (kit.dim,)))(keys)
    constant = jnp.sum(eps**2, axis=1) / (2 * process.sigma(t) ** 2)
    np.testing.assert_allclose(stable, aux_s["norm"] + aux_s["fitting"], rtol=1e-6)
    np.testing.assert_allclose(dsm, stable + constant, rtol=1e-5)
    np.testing.assert_allclose(aux["fitting"], aux_s["fitting"], rtol=1e-6)


def test_folx_needs_an_energy_network(kit, nets, key):
    process, t = kit.cases[0]
    xs, keys = kit.draws(key, 4)
    with pytest.raises(ConfigError, match="energy network"):
        kit.evaluate(ISM(process, divergence="folx"), nets["a"], xs, jnp.asarray(t), keys)
