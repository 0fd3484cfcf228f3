"""The pipeline's builders: objectives from config sections, and the data they need."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import targets
from scoresample.app.config import parse_config
from scoresample.app.pipeline.build import (
    attach_scores,
    build_energy_objective,
    build_objective,
    build_process,
)
from scoresample.app.pipeline.train import resolve_kappa_sigma
from scoresample.errors import ConfigError
from scoresample.estimators import laplace_fit


def _score(objective: str, **extra):
    table = {
        "target": {"name": "gmm40"},
        "score": {"kind": "learned", "objective": objective, **extra},
        "sampler": [{"name": "mala"}],
    }
    return parse_config(table).score


def test_esm_from_a_config_regresses_on_the_exact_noised_score(key):
    cfg, target = _score("esm", weighting="uniform"), targets.gmm40()
    process = build_process(cfg)
    samples = np.asarray(target.sample(key, 64))
    objective = build_objective(cfg, process, target, samples)

    def exact(y, t):
        return target.noised(process.alpha(t), process.sigma(t)).score(y)

    value, _ = objective(exact, samples[0], jnp.asarray(0.3), key)
    assert abs(float(value)) < 1e-6  # ESM of the exact noised score is 0
    wrong, _ = objective(lambda y, t: 0.0 * y, samples[0], jnp.asarray(0.3), key)
    assert float(wrong) > 1e-3
    with pytest.raises(ConfigError, match="'esm' needs a target whose noised marginal"):
        build_objective(cfg, process, targets.dw4(), np.zeros((4, 8)))


def test_kde_esm_from_a_config_regresses_on_the_kde_of_the_training_data(key):
    """``objective = "kde_esm"`` with ``bandwidth`` in ``objective_options``: the loss is
    0 for the noised KDE of the very samples it is given, and not for another set's."""
    cfg = _score("kde_esm", weighting="uniform", objective_options={"bandwidth": 0.8})
    process = build_process(cfg)
    samples = np.asarray(targets.gmm40().sample(key, 64))
    objective = build_objective(cfg, process, targets.gmm40(), samples)
    for data, zero in ((samples, True), (samples[::-1][:32], False)):
        kde = targets.kde(data, 0.8)

        def kde_score(y, t, kde=kde):
            return kde.noised(process.alpha(t), process.sigma(t)).score(y)

        value, _ = objective(kde_score, samples[0], jnp.asarray(0.3), key)
        assert (abs(float(value)) < 1e-6) == zero, float(value)


def test_clean_scores_are_attached_where_the_objective_needs_them(key):
    target = targets.gmm40()
    samples = np.asarray(target.sample(key, 16))
    for name, needs in (("tsm", True), ("kappa", True), ("dsm", False), ("ism", False)):
        cfg = _score(name, kappa=0.5) if name == "kappa" else _score(name)
        objective = build_objective(cfg, build_process(cfg), target, samples)
        data = attach_scores(target, samples, objective)
        assert isinstance(data, tuple) == needs
        if needs:
            np.testing.assert_allclose(data[1], jax.vmap(target.score)(samples), rtol=1e-5)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_the_optimizer_keeps_optax_updates_with_its_rate_as_state(name):
    import optax

    from scoresample.app.pipeline.build import build_optimizer

    cfg = _score("dsm", training={"optimizer": name, "learning_rate": 3e-3})
    ours = build_optimizer(cfg)
    plain = optax.adam(3e-3) if name == "adam" else optax.adamw(3e-3, weight_decay=1e-4)
    params = {"w": jnp.array([0.3, -1.2, 2.0])}
    state_ours, state_plain = ours.init(params), plain.init(params)
    for i in range(4):
        grads = {"w": jnp.array([0.1, -0.4, 0.7]) * (i + 1)}
        step_ours, state_ours = ours.update(grads, state_ours, params)
        step_plain, state_plain = plain.update(grads, state_plain, params)
        np.testing.assert_array_equal(step_ours["w"], step_plain["w"])
    assert float(state_ours.hyperparams["learning_rate"]) == pytest.approx(3e-3)


def test_kappa_sigma_sets_the_gaussian_kappa_scale_apart_from_sigma_data(key):
    """``kappa_t = sigma^2 / (sigma^2 + alpha^2 s^2)`` with ``s = kappa_sigma`` where given
    (the within-mode scale), else ``sigma_data``; from the energy the same holds, and
    with neither there is nothing to measure it on."""
    target, samples = targets.gmm40(), np.zeros((4, 2))
    t = jnp.asarray(0.4)

    def kappa_of(cfg, objective):
        process = build_process(cfg)
        alpha, sigma = process.alpha(t), process.sigma(t)
        return float(objective.kappa(t)), float(sigma**2), float(alpha**2)

    for extra in ({"kappa_sigma": 0.7}, {"sigma_data": 0.7}):
        cfg = _score("kappa", process="ve", **{"sigma_data": 20.0} | extra)
        kappa, noise, signal = kappa_of(
            cfg, build_objective(cfg, build_process(cfg), target, samples)
        )
        np.testing.assert_allclose(kappa, noise / (noise + signal * 0.49), rtol=1e-6)
        energy = _score(
            "tsm", process="ve", data={"source": "energy"}, **{"sigma_data": 20.0} | extra
        )
        dem = build_energy_objective(energy, build_process(energy), target)
        np.testing.assert_allclose(kappa_of(energy, dem)[0], kappa, rtol=1e-6)
    with pytest.raises(ConfigError, match="score.sigma_data"):
        cfg = _score("tsm", data={"source": "energy"})
        build_energy_objective(cfg, build_process(cfg), target)


def test_kappa_sigma_laplace_measures_the_scale_on_the_energy_and_counts_it():
    """``kappa_sigma = "laplace"``: gmm40's components have scale softplus(1) = log(1 + e)
    (DEM's GMM-40), found from a training point; its evaluations are those of
    :func:`laplace_fit` from that point. A number is kept as it is, at no cost."""
    target = targets.gmm40()
    start = np.asarray(target.sample(jax.random.PRNGKey(3), 1))[0]
    resolved, evals = resolve_kappa_sigma(_score("kappa", kappa_sigma="laplace"), target, start)
    assert resolved.kappa_sigma == pytest.approx(np.log1p(np.e), abs=0.01)  # as test_laplace
    assert evals == laplace_fit(target.log_prob, start).energy_evals > target.dim
    given = _score("kappa", kappa_sigma=0.7)
    assert resolve_kappa_sigma(given, target, start) == (given, 0)
    # Nothing is measured, or counted, where no Gaussian kappa is built.
    for unused in (
        _score("tsm", kappa_sigma="laplace"),
        _score("kappa", kappa="bar", kappa_sigma="laplace"),
        _score("tsm", data={"source": "energy", "estimator": "tsi"}, kappa_sigma="laplace"),
    ):
        assert resolve_kappa_sigma(unused, target, start) == (unused, 0)


def test_kappa_sigma_names_laplace_when_misspelt():
    with pytest.raises(ConfigError, match="score.kappa_sigma.*did you mean 'laplace'"):
        _score("kappa", kappa_sigma="lapalce")
