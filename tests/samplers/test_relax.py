"""Relaxation of starting points (capped steepest descent to an energy bound): exact
paths on energies whose descent is known in closed form, the stopping rule at its
bound, Lennard-Jones overlaps pulled apart, the count of evaluations, and refinement
from relaxed starts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from scoresample import samplers, targets
from scoresample.errors import ConfigError

STEP, GROW = 0.05, 1.2  # relax's first step and its growth after each accepted step


def travelled(k: int) -> float:
    """The length of ``k`` accepted steps from the first: 0.05 (1.2^k - 1) / 0.2 (below
    the largest step, 1)."""
    return STEP * (GROW**k - 1) / (GROW - 1)


def linear_log_prob(x):
    """E(x) = x_0 + 0 x_1: the force is (-1, 0) everywhere."""
    return -x[0] + 0.0 * x[1]


def test_a_linear_energy_is_descended_in_growing_steps_to_the_first_point_below_the_bound():
    bound = 0.5
    # E just below, at, just above and far above the bound
    starts = np.array([[0.3, 1.7], [0.5, -2.0], [0.501, 0.4], [2.013, -0.9]], np.float32)
    relaxed = samplers.relax(linear_log_prob, starts, bound)
    expected = starts.copy()
    expected[2, 0] -= STEP  # one step: 0.451
    # 1.513 to go: 10 steps travel 1.298, 11 travel 1.6075, ending at 0.4055
    assert travelled(10) < 2.013 - bound < travelled(11)
    expected[3, 0] -= travelled(11)
    np.testing.assert_allclose(relaxed.positions, expected, atol=1e-5)
    np.testing.assert_array_equal(relaxed.positions[:2], starts[:2])  # untouched
    assert (relaxed.n_relaxed, relaxed.n_still_above) == (2, 0)
    # one evaluation per start, one per step of each point still above the bound
    assert relaxed.grad_evals == 4 + 1 + 11


def test_a_quadratic_energy_is_descended_along_each_ray_and_stops_at_the_first_step_below():
    """E = |x - c|^2 / 2: every step moves towards c, so a start at radius r ends at
    radius r - travelled(k) for the first k with travelled(k) >= r - r_b, r_b = sqrt(2 b)."""
    centre, bound = np.array([0.4, -1.1, 2.3]), 0.845  # r_b = 1.3
    directions = np.array([[0.6, 0.0, 0.8], [0.0, -1.0, 0.0], [2.0, 3.0, 6.0]]) / np.array(
        [[1.0], [1.0], [7.0]]
    )
    radii = np.array([3.17, 2.03, 1.1])  # 12 steps, 8 steps, already inside
    steps = [12, 8, 0]
    for radius, k in zip(radii[:2], steps, strict=False):
        assert travelled(k - 1) < radius - 1.3 <= travelled(k) < radius  # no overshoot
    starts = centre + radii[:, None] * directions
    relaxed = samplers.relax(lambda x: -0.5 * jnp.sum((x - centre) ** 2), starts, bound)
    expected = centre + (radii - [travelled(k) for k in steps])[:, None] * directions
    np.testing.assert_allclose(relaxed.positions, expected, atol=2e-5)
    assert relaxed.grad_evals == 3 + 12 + 8


def lennard_jones_pair(x):
    """Two particles in 3-D, E = 4 (r^-12 - r^-6): E <= 0 exactly when r >= 1."""
    r = jnp.linalg.norm(x[:3] - x[3:])
    return -4.0 * (r**-12 - r**-6)


def test_overlapping_particles_are_pulled_apart_to_the_bound_and_keep_their_centre():
    pairs = [[0.1, 0.2, -0.3, 0.25, 0.1, -0.3], [1.0, -1.0, 0.5, 1.9, -0.2, 0.8]]
    starts = np.array(pairs, jnp.zeros(()).dtype)  # r = 0.18 and 1.24
    distance = np.linalg.norm(starts[:, :3] - starts[:, 3:], axis=1)
    assert 4.0 * distance[0] ** -12 > 1e9  # an overlap: E ~ 3e9 and forces ~ 2e11
    relaxed = samplers.relax(lennard_jones_pair, starts, 0.0)
    moved = relaxed.positions[0]
    r = np.linalg.norm(moved[:3] - moved[3:])
    # each step of length l moves each particle l / sqrt(2) along the pair axis, r by
    # sqrt(2) l; E falls while r < 2^(1/6), so every step is taken: 7 steps, r 0.18 -> 1.093
    r0 = distance[0]
    assert r0 + np.sqrt(2) * travelled(6) < 1.0 <= r0 + np.sqrt(2) * travelled(7) < 2 ** (1 / 6)
    np.testing.assert_allclose(r, r0 + np.sqrt(2) * travelled(7), rtol=1e-5)
    np.testing.assert_allclose(moved[:3] + moved[3:], starts[0, :3] + starts[0, 3:], atol=1e-5)
    np.testing.assert_array_equal(relaxed.positions[1], starts[1])  # E < 0: untouched
    assert relaxed.n_still_above == 0


def test_points_without_a_finite_energy_stay_and_are_counted_as_above():
    starts = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.1, 0.2, -0.3, 0.25, 0.1, -0.3]])
    relaxed = samplers.relax(lennard_jones_pair, starts, 0.0, max_steps=200)
    assert (relaxed.n_relaxed, relaxed.n_still_above) == (2, 1)
    np.testing.assert_array_equal(relaxed.positions[0], starts[0])


def test_too_few_steps_leave_points_above_the_bound():
    starts = np.array([[2.013, 0.0]])
    assert samplers.relax(linear_log_prob, starts, 0.5, max_steps=11).n_still_above == 0
    assert samplers.relax(linear_log_prob, starts, 0.5, max_steps=10).n_still_above == 1


def test_the_step_grows_no_further_than_max_step():
    """From 1.0 to below -1.2 (2.2 to go) in steps 0.9, 1, 1: 3 steps, ending at -1.9;
    uncapped (0.9, 1.08, 1.296) they would end at -2.276."""
    relaxed = samplers.relax(linear_log_prob, np.array([[1.0, 0.0]]), -1.2, step=0.9, max_step=1)
    np.testing.assert_allclose(relaxed.positions[0], [-1.9, 0.0], atol=1e-6)


@pytest.mark.parametrize(
    "settings", [{"step": 0.0}, {"step": 2.0, "max_step": 1.0}, {"max_steps": 0}]
)
def test_bad_settings_are_refused_by_name(settings):
    with pytest.raises(ConfigError, match="relax"):
        samplers.relax(linear_log_prob, np.zeros((1, 2)), 0.0, **settings)


MEAN, SCALES = np.array([1.0, -2.0]), np.array([0.5, 2.0])
TARGET = targets.Gaussian(jnp.asarray(MEAN), jnp.diag(jnp.asarray(SCALES**2)))


def test_refinement_from_relaxed_starts_counts_the_relaxation_and_takes_the_target_law():
    n, bound = 1000, 6.0
    far = MEAN + np.asarray(jax.random.normal(jax.random.PRNGKey(2), (n, 2))) * 6 * SCALES
    energies = -scipy.stats.multivariate_normal(MEAN, np.diag(SCALES**2)).logpdf(far)
    above = int(np.sum(energies > bound))
    assert 0 < above < n
    settings = dict(num_warmup=50, num_steps=100)
    plain = samplers.refine(jax.random.PRNGKey(1), far, TARGET, **settings)
    relaxed = samplers.refine(
        jax.random.PRNGKey(1), far, TARGET, max_start_energy=bound, **settings
    )
    assert relaxed.settings["relaxed_starts"] == above
    extra = relaxed.settings["relax_grad_evals"]
    assert extra > n + above  # every start evaluated, every relaxed one moved at least once
    assert relaxed.warmup_grad_evals() == plain.warmup_grad_evals() + extra == n * 50 + extra
    draws = relaxed.flat()
    z = (draws.mean(axis=0) - MEAN) / (SCALES / np.sqrt(n))
    assert np.all(np.abs(z) < 4) and np.all(np.abs(draws.std(axis=0) / SCALES - 1) < 0.1)


def test_refinement_warns_when_starts_stay_above_the_bound():
    far = np.array([[40.0, 40.0], [1.0, -2.0]])
    with pytest.warns(RuntimeWarning, match="1 of 1 relaxed draws are still above"):
        samplers.refine(
            jax.random.PRNGKey(1), far, TARGET, max_start_energy=6.0, relax_steps=3,
            num_warmup=5, num_steps=5,
        )  # fmt: skip
