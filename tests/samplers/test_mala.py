"""Preconditioned MALA: the identity metric is BlackJAX's MALA, any fixed metric leaves the
target invariant (and a Metropolis-Hastings ratio with the wrong metric does not), and
the windowed warm-up learns the target's scales and, when dense, its correlations.

Invariance follows the house pattern (``test_invariance.py``): many short chains started
at exact samples end at exact samples, tested as i.i.d. draws. Adapted matrices are
tested in the chain's whitened coordinates, where the target is ``N(0, I)``: a window
of ``n`` steps estimates each variance with relative standard error ``sqrt(2 / ESS)``
and each correlation with ``sqrt(1 / ESS)``, ``ESS = n / tau``; ``tau`` of ``y^2`` is
measured on the draws after warm-up.
"""

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from blackjax.adaptation.window_adaptation import build_schedule
from blackjax.util import linear_map
from helpers import assert_zscores_small, moment_zscores
from numpyro.diagnostics import effective_sample_size

from scoresample import ConfigError, samplers, targets
from scoresample.diagnostics.stein import family_threshold
from scoresample.samplers import mala

N_CHAINS = 10_000
#: Correlations up to 0.9 and scales 0.1 to 5: condition number about 16,000.
CORRELATION = np.array([[1.0, 0.9, 0.5], [0.9, 1.0, 0.7], [0.5, 0.7, 1.0]])
SCALES = np.array([0.1, 1.0, 5.0])
COV = np.diag(SCALES) @ CORRELATION @ np.diag(SCALES)
#: metric -> (inverse mass matrix, step size, kernel steps per chain). The dense metric
#: whitens the target exactly; the diagonal one leaves the correlations, so a smaller h.
METRICS = {"dense": (COV, 0.8, 10), "diagonal": (np.diag(COV), 0.05, 20)}


def _correlated():
    return targets.Gaussian(jnp.zeros(3), jnp.asarray(COV))


@pytest.mark.parametrize("inverse_mass_matrix", [None, "ones", "eye"])
def test_identity_metric_gives_blackjax_mala_draws(inverse_mass_matrix, key):
    target, start = targets.ncsn_toy(), jnp.array([4.0, 6.0])
    matrix = {None: None, "ones": jnp.ones(2), "eye": jnp.eye(2)}[inverse_mass_matrix]
    ours, theirs = mala.build_kernel(), blackjax.mala.build_kernel()
    step_ours = jax.jit(lambda k, s, m: ours(k, s, target.log_prob, 0.7, m))
    step_theirs = jax.jit(lambda k, s: theirs(k, s, target.log_prob, 0.7))
    a = b = mala.init(start, target.log_prob)
    accepted = []
    for step_key in jax.random.split(key, 100):
        (a, info_a), (b, info_b) = step_ours(step_key, a, matrix), step_theirs(step_key, b)
        assert info_a.is_accepted == info_b.is_accepted
        accepted.append(bool(info_a.is_accepted))
        if matrix is None:  # the identity is folded away: the same program, bit for bit
            np.testing.assert_array_equal(a.position, b.position)
        else:  # a runtime 1 * g changes where XLA fuses a multiply-add: last-bit rounding
            np.testing.assert_allclose(a.position, b.position, rtol=1e-6, atol=1e-6)
    assert 0.05 < np.mean(accepted) < 0.95


def _final_state_zscores(metric: str, key) -> tuple[np.ndarray, float]:
    """z-scores of the mean and covariance of the final states, and the acceptance rate."""
    matrix, step_size, steps = METRICS[metric]
    spec = samplers.make_sampler(
        "mala",
        num_warmup=0,
        step_size=step_size,
        inverse_mass_matrix=matrix.tolist(),
        thinning=steps,
        num_samples=1,
        n_chains=N_CHAINS,
    )
    target = _correlated()
    chains = samplers.run(spec, key, target, initial_positions=target.sample, progress=False)
    z = moment_zscores(chains.positions[:, -1], np.zeros(3), COV)
    return z, float(chains.stats["acceptance_rate"].mean())


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_a_fixed_metric_leaves_the_target_invariant(metric, key):
    z, acceptance = _final_state_zscores(metric, key)
    assert_zscores_small(z)
    assert 0.3 < acceptance < 0.95  # the chains moved


def _unweighted_energy(state, new_state, step_size, inverse_mass_matrix, metric):
    """The ratio without the metric's norm: ``|theta|^2`` for ``|theta|_M^2``."""
    drift = linear_map(inverse_mass_matrix, new_state.logdensity_grad)
    theta = state.position - new_state.position - step_size * drift
    return -new_state.logdensity + 0.25 / step_size * jnp.sum(theta * theta)


def _inverted_energy(state, new_state, step_size, inverse_mass_matrix, metric):
    """The ratio with ``M^{-1}`` where ``M`` belongs: ``|L^T theta|^2``."""
    drift = linear_map(inverse_mass_matrix, new_state.logdensity_grad)
    theta = state.position - new_state.position - step_size * drift
    scaled = metric.scale(new_state.position, theta, inv=True, trans=True)
    return -new_state.logdensity + 0.25 / step_size * jnp.sum(scaled * scaled)


@pytest.mark.parametrize(
    ("metric", "energy"),
    [
        ("dense", _unweighted_energy),
        pytest.param("dense", _inverted_energy, marks=pytest.mark.slow),
        pytest.param("diagonal", _unweighted_energy, marks=pytest.mark.slow),
        pytest.param("diagonal", _inverted_energy, marks=pytest.mark.slow),
    ],
)
def test_a_ratio_with_the_wrong_metric_is_detected(metric, energy, key, monkeypatch):
    # run caches compiled programs by trace key, which a patched module function does
    # not change: compile afresh with the wrong ratio and leave no wrong program behind.
    samplers.clear_compiled()
    monkeypatch.setattr(mala, "_transition_energy", energy)
    try:
        z, _ = _final_state_zscores(metric, key)
    finally:
        samplers.clear_compiled()
    assert np.max(np.abs(z)) > family_threshold(z.size), z


def _last_window(num_warmup: int) -> int:
    """Steps in the last slow window of Stan's schedule (the one the matrix comes from)."""
    ends = np.flatnonzero(np.asarray(build_schedule(num_warmup))[:, 1])
    return int(ends[-1] - ends[-2])


def _whitened(chains, cov):
    """Draws ``L^{-1} x`` (``L L^T = cov``), ``N(0, I)`` under the target, and per chain
    the window's ESS: ``_last_window / tau`` with the largest ``tau`` of ``y_i^2``."""
    y = np.asarray(chains.positions, np.float64) @ np.linalg.inv(np.linalg.cholesky(cov)).T
    squares = y**2
    ess = np.stack([effective_sample_size(squares[c : c + 1]) for c in range(len(squares))])
    tau = squares.shape[1] / ess.min(axis=1)
    return y, _last_window(chains.settings["num_warmup"]) / tau


def _adapted_zscores(chains, cov) -> np.ndarray:
    """z-scores of each chain's whitened ``L^{-1} M^{-1} L^{-T}`` against the identity:
    variances ``(v - 1) / sqrt(2 / ESS)``, correlations ``c / sqrt(1 / ESS)``."""
    _, window_ess = _whitened(chains, cov)
    inverse_l = np.linalg.inv(np.linalg.cholesky(cov))
    matrices = np.asarray(chains.settings["inverse_mass_matrix"], np.float64)
    if matrices.ndim == 2:
        matrices = np.stack([np.diag(m) for m in matrices])
    whitened = inverse_l @ matrices @ inverse_l.T
    variances = np.diagonal(whitened, axis1=1, axis2=2)
    upper = np.triu_indices(cov.shape[0], 1)
    correlations = whitened[:, upper[0], upper[1]] / np.sqrt(
        variances[:, upper[0]] * variances[:, upper[1]]
    )
    sqrt_ess = np.sqrt(window_ess)[:, None]
    return np.concatenate(
        [(variances - 1) / np.sqrt(2) * sqrt_ess, correlations * sqrt_ess], axis=1
    )


def test_window_adaptation_learns_the_scales(key):
    scales = np.geomspace(0.1, 10.0, 5)
    cov = np.diag(scales**2)
    target = targets.Gaussian(jnp.zeros(5), jnp.asarray(cov))
    spec = samplers.make_sampler("mala", num_warmup=2000, num_samples=2000, n_chains=8)
    chains = samplers.run(spec, key, target, progress=False)
    assert chains.settings["inverse_mass_matrix"].shape == (8, 5)  # diagonal by default
    _, window_ess = _whitened(chains, cov)
    assert np.all(window_ess > 100), window_ess  # a window worth the name
    assert_zscores_small(_adapted_zscores(chains, cov))
    assert 0.45 < chains.stats["acceptance_rate"].mean() < 0.8  # near 0.574


@pytest.fixture(scope="module")
def dense_and_diagonal():
    """Dense and diagonal adaptation on the correlated Gaussian, same keys."""
    runs = {}
    for dense in (True, False):
        spec = samplers.make_sampler(
            "mala", num_warmup=2000, num_samples=2000, n_chains=4, dense_mass=dense
        )
        runs[dense] = samplers.run(spec, jax.random.PRNGKey(3), _correlated(), progress=False)
    return runs


def test_dense_adaptation_learns_the_correlations(dense_and_diagonal):
    chains = dense_and_diagonal[True]
    assert chains.settings["inverse_mass_matrix"].shape == (4, 3, 3)
    assert_zscores_small(_adapted_zscores(chains, COV))
    # Negative control: a diagonal matrix cannot whiten correlations of 0.9.
    z = _adapted_zscores(dense_and_diagonal[False], COV)
    assert np.max(np.abs(z)) > family_threshold(z.size), z


def test_given_matrices_are_honoured(key):
    target = _correlated()
    fixed = samplers.make_sampler(
        "mala",
        num_warmup=100,
        num_samples=10,
        n_chains=2,
        inverse_mass_matrix=np.diag(COV).tolist(),
        dense_mass=True,
        adapt_mass_matrix=False,
    )
    chains = samplers.run(fixed, key, target, initial_positions=target.sample, progress=False)
    given = np.diag(np.diag(COV)).astype(jnp.zeros(()).dtype)  # JAX's default float
    np.testing.assert_array_equal(chains.settings["inverse_mass_matrix"][1], given)
    assert not np.allclose(chains.settings["step_size"], 1.0)  # the step size was adapted
    with pytest.raises(ConfigError, match=r"mala.inverse_mass_matrix: has shape \(2,\)"):
        samplers.run(fixed.replace(inverse_mass_matrix=[1.0, 2.0]), key, target)
    with pytest.raises(ConfigError, match="mala.adapt_mass_matrix"):
        samplers.make_sampler("mala", adapt_mass_matrix="diagonal")
