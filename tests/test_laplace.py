"""The within-mode scale from the energy alone: ``sqrt(mean(1 / lambda))`` of the energy's
Hessian at a local minimum, checked against closed forms at generic points."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from scoresample import targets
from scoresample.errors import DataError
from scoresample.estimators import laplace_fit, laplace_scale

COV = np.array([[2.0, 0.7, 0.0], [0.7, 0.9, -0.3], [0.0, -0.3, 0.4]])
MEAN = np.array([1.5, -2.0, 0.3])


def gaussian_log_prob(x):
    centred = x - jnp.asarray(MEAN)
    return -0.5 * centred @ jnp.linalg.solve(jnp.asarray(COV), centred) + 4.2


def test_a_gaussian_gives_the_root_mean_variance_of_its_covariance():
    # H = COV^-1, so mean(1 / lambda(H)) = trace(COV) / d, whatever the start.
    expected = np.sqrt(np.trace(COV) / 3)
    for start in ([0.0, 0.0, 0.0], [-3.0, 4.0, 2.5]):
        assert laplace_scale(gaussian_log_prob, start) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("ratio, kept", [(1.1e-3, True), (0.9e-3, False)])
def test_flat_directions_are_left_out_just_below_their_fraction(ratio, kept):
    # Eigenvalues 100 and 100 * ratio about the minimum (0.4, -1): the weak one counts
    # only above 1e-3 of the largest.
    curvatures = jnp.array([100.0, 100.0 * ratio])
    log_prob = lambda x: -0.5 * jnp.sum(curvatures * (x - jnp.array([0.4, -1.0])) ** 2)  # noqa: E731
    inverse = 1.0 / np.asarray(curvatures, np.float64)
    expected = np.sqrt(inverse.mean() if kept else inverse[0])
    assert laplace_scale(log_prob, [0.1, 0.2]) == pytest.approx(expected, rel=1e-4)
    # A fraction of the caller's own, below both ratios, keeps the weak direction.
    every = np.sqrt(inverse.mean())
    assert laplace_scale(log_prob, [0.1, 0.2], flat_fraction=1e-4) == pytest.approx(every, rel=1e-4)


def test_a_translation_invariant_pair_keeps_only_its_curved_direction():
    # E = a (x0 - x1 - 1)^2 / 2 + b x2^2 / 2: eigenvalues 2a, b and 0 (the translation).
    a, b = 3.0, 0.8
    log_prob = lambda x: -0.5 * (a * (x[0] - x[1] - 1.0) ** 2 + b * x[2] ** 2)  # noqa: E731
    expected = np.sqrt(0.5 * (1 / (2 * a) + 1 / b))
    assert laplace_scale(log_prob, [0.3, 0.9, -0.4]) == pytest.approx(expected, rel=1e-4)


def test_gmm40_gives_its_components_scale(key):
    # DEM's GMM-40: every component has standard deviation softplus(1) = log(1 + e).
    start = 20.0 * jax.random.normal(key, (2,))
    assert laplace_scale(targets.gmm40().log_prob, start) == pytest.approx(np.log1p(np.e), abs=0.01)


def test_an_energy_without_curvature_is_refused_by_name():
    with pytest.raises(DataError) as raised:
        laplace_scale(lambda x: -jnp.sum(x), [0.0] * 6)
    # The first four coordinates of where the descent went, then an ellipsis.
    expected = (
        r"start: leads L-BFGS to \[\S+ \S+ \S+ \S+\]\.\.\., where the energy has no finite "
        r"curvature; start nearer a mode of the target"
    )
    assert re.fullmatch(expected, str(raised.value)), str(raised.value)


def test_the_fit_counts_lbfgs_evaluations_and_one_gradient_per_coordinate():
    # The expected count from SciPy's own run of the same descent (an independent L-BFGS
    # call on the Gaussian), plus d = 3 for the Hessian.
    start = np.array([-3.0, 4.0, 2.5])
    energy = lambda x: float(-gaussian_log_prob(jnp.asarray(x)))  # noqa: E731
    gradient = jax.grad(lambda x: -gaussian_log_prob(x))
    own = scipy.optimize.minimize(
        energy, start, jac=lambda x: np.asarray(gradient(jnp.asarray(x)), np.float64),
        method="L-BFGS-B",
    )  # fmt: skip
    found = laplace_fit(gaussian_log_prob, start)
    assert found.energy_evals == own.nfev + own.njev + 3
    np.testing.assert_allclose(found.minimum, MEAN, atol=1e-4)
    assert found.scale == laplace_scale(gaussian_log_prob, start)
