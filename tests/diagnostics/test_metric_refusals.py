"""Every refusal of the sample-quality metrics names its field, says why and gives the
fix, in full (a test matching a substring misses a wrong field or a dropped fix); and
the metrics return float64 NumPy values whatever JAX's precision, as documented."""

import jax
import numpy as np
import pytest
from helpers import refusal_message

from scoresample.diagnostics import metrics
from scoresample.diagnostics.metrics import transport
from scoresample.errors import ScoresampleError
from scoresample.targets import Gaussian, dw4, gmm40, many_well, ncsn_toy

NAN_ROWS = np.full((3, 8), np.nan)
FINE = np.ones((3, 8))
KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.energies(NAN_ROWS, dw4()),
            "samples: contains 24 NaN or infinite values; remove or replace them",
        ),
        (
            lambda: metrics.interatomic_distances(NAN_ROWS, dw4()),
            "samples: contains 24 NaN or infinite values; remove or replace them",
        ),
        (
            lambda: metrics.energies(np.ones((1, 8)), dw4()),
            "samples: has 1 samples; pass at least 2 samples",
        ),
        (
            lambda: metrics.particle_metrics(FINE, FINE, gmm40()),
            "target: is not a particle system; use dw4(), lj13() or another particle target",
        ),
        (
            lambda: metrics.particle_metrics(NAN_ROWS, FINE, dw4()),
            "samples: contains 24 NaN",
        ),
        (
            lambda: metrics.particle_metrics(FINE, np.ones((3, 6)), dw4()),
            "reference: has dimension 6 but the target has 8; pass samples of this target",
        ),
        (
            lambda: metrics.mode_weights(np.full((3, 2), np.nan), ncsn_toy()),
            "samples: contains 6 NaN or infinite values; remove or replace them",
        ),
        (
            lambda: metrics.well_fractions(np.full((3, 4), np.inf), many_well(2)),
            "samples: contains 12 NaN or infinite values; remove or replace them",
        ),
        (
            lambda: metrics.well_fractions(np.ones((3, 8)), many_well(4)),
            "samples: has dimension 8 but the target has 4; pass samples of this target",
        ),
        (
            lambda: metrics.mode_weights(np.ones((3, 3)), ncsn_toy()),
            "samples: has dimension 3 but the target has 2; pass samples of this target",
        ),
        (
            lambda: metrics.energies(np.ones((3, 6)), dw4()),
            "samples: has dimension 6 but the target has 8; pass samples of this target",
        ),
        (
            lambda: metrics.sample_quality(NAN_ROWS, dw4(), KEY, reference=FINE),
            "samples: contains 24 NaN or infinite values; remove or replace them",
        ),
        (
            lambda: metrics.sample_quality(FINE, dw4(), KEY, reference=np.ones((1, 8))),
            "reference: has 1 samples; pass at least 2 samples",
        ),
        (
            lambda: metrics.mmd2(np.zeros((4, 2)), np.zeros((4, 3))),
            "y: has dimension 3 but x has 2; compare samples of the same target",
        ),
        (
            lambda: metrics.mmd2(np.zeros(5), np.zeros((4, 1))),
            "x: has 1 dimensions (shape (5,)), expected 2; reshape it to the documented shape",
        ),
        (
            lambda: metrics.energy_distance(np.zeros((1, 2)), np.zeros((4, 2))),
            "x: has 1 samples; pass at least 2 samples",
        ),
        (
            lambda: metrics.sliced_wasserstein2(np.zeros((4, 2)), np.zeros((1, 2))),
            "y: has 1 samples; pass at least 2 samples",
        ),
        (
            lambda: metrics.wasserstein2(np.zeros((5001, 1)), np.zeros((5000, 1))),
            "samples: 5001 x 5000 points are too many for the exact W2 (cost matrix of "
            "25005000 entries); subsample to a few thousand points or use sliced_wasserstein2",
        ),
        (
            lambda: metrics.ksd(np.ones((3, 1)), lambda x: x * np.nan),
            "score: is NaN or infinite at some samples; drop diverged samples first",
        ),
        (
            lambda: metrics.ksd(np.ones((1, 1)), lambda x: x),
            "samples: has 1 samples; pass at least 2 samples",
        ),
        (
            lambda: metrics.sample_quality(
                np.ones((3, 1)),
                Gaussian(np.zeros(1), np.eye(1)),
                jax.random.PRNGKey(0),
                metrics=("w3",),
            ),
            "metrics: unknown names ['w3']; choose from ['mmd2', 'energy_distance', "
            "'sliced_w2', 'w2', 'ksd']",
        ),
    ],
)
def test_each_refusal_names_its_field_and_says_why(call, message):
    assert refusal_message(call).startswith(message)


def test_two_samples_are_enough():
    """The smallest sets allowed: two points each, ``2 |X - Y| - |X - X'| - |Y - Y'|``
    averaged over the four cross pairs and the one distinct pair of each set."""
    x, y = np.array([[0.0], [1.0]]), np.array([[3.0], [5.0]])
    assert metrics.energy_distance(x, y) == pytest.approx(2 * 3.5 - 1.0 - 2.0)


def test_exact_w2_accepts_the_largest_cost_matrix_and_refuses_one_more_entry(monkeypatch):
    """``n * m <= MAX_EXACT_PAIRS`` is allowed (lowered here to 12 to keep it cheap)."""
    monkeypatch.setattr(transport, "MAX_EXACT_PAIRS", 12)
    assert metrics.wasserstein2(np.zeros((3, 1)), np.ones((4, 1))) == pytest.approx(1.0)
    with pytest.raises(ScoresampleError, match="^samples: 13 x 2 points"):
        metrics.wasserstein2(np.zeros((13, 1)), np.zeros((2, 1)))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: metrics.energies(x, dw4()),
        lambda x: metrics.interatomic_distances(x, dw4()),
        lambda x: metrics.mode_weights(x[:, :2], ncsn_toy()),
        lambda x: metrics.well_fractions(x, many_well(8)),
    ],
)
def test_per_sample_metrics_are_float64_numpy(call):
    x = np.linspace(-1.3, 2.1, 40).reshape(5, 8)
    value = call(x)
    assert isinstance(value, np.ndarray) and value.dtype == np.float64
