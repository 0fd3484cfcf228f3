"""Learning tests: trained networks against the exact noised scores of a 2-D mixture.

Thresholds are margins on training outcomes, not Monte Carlo z-scores: each comparison
is between errors that differ by one to two orders of magnitude when the code is right
(TSM vs DSM at sigma = 0.01: about 400x), so the margins below leave room for any seed.
The score errors are computed on 4096 exact draws of the noised mixture (Monte Carlo
relative error about 2 percent).
"""

import jax
import numpy as np
import optax
import pytest

from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import DSM, ISM, TSM, KappaMixture, kappa_bar, score_error
from scoresample.objectives.kappa import average_component_variance
from scoresample.objectives.weighting import Relative
from scoresample.targets import Gaussian, GaussianMixture
from scoresample.training import fit

PROCESS = VE(0.01, 5.0)
MIXTURE = GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.5, 0.8])
OPTIMIZER = optax.adam(3e-3)
#: t = 0, 0.25, ..., 1: sigma = 0.01, 0.047, 0.22, 1.06, 5.
TIMES = (0.0, 0.25, 0.5, 0.75, 1.0)


def relative_errors(model, target=MIXTURE, times=TIMES):
    key = jax.random.PRNGKey(99)
    return np.array([score_error(model, target, PROCESS, t, key).relative for t in times])


def test_tsm_beats_dsm_at_low_noise(key):
    """De Bortoli et al. (2024): at sigma = 0.01 the DSM target -eps/sigma is mostly noise."""
    errors = {}
    for name, objective in (
        ("dsm", DSM(PROCESS)),
        ("tsm", TSM(PROCESS, clean_score=MIXTURE.score)),
    ):
        model = ScoreMLP(2, hidden=32, depth=2, embed=0, activation="tanh", key=key)
        result = fit(
            model,
            objective,
            MIXTURE,
            optimizer=OPTIMIZER,
            steps=2000,
            batch_size=256,
            key=key,
            sigmas=0.01,
            progress=False,
        )
        errors[name] = relative_errors(result.model, times=(0.0,))[0]
    assert errors["tsm"] < 0.02
    assert 5 * errors["tsm"] < errors["dsm"], errors


@pytest.fixture(scope="module")
def across_t():
    """DSM, TSM and kappa-bar trained on all of t with the same weighting, net, steps, batch."""
    sigma_data = float(np.sqrt(average_component_variance(MIXTURE)))
    relative = Relative(sigma_data)
    objectives = {
        "dsm": DSM(PROCESS, weighting=relative),
        "tsm": TSM(PROCESS, clean_score=MIXTURE.score, weighting=relative),
        "kappa_bar": KappaMixture(
            PROCESS, kappa_bar(PROCESS, MIXTURE), clean_score=MIXTURE.score, weighting=relative
        ),
    }
    key = jax.random.PRNGKey(3)
    errors = {}
    for name, objective in objectives.items():
        model = ScoreMLP(2, hidden=64, depth=2, embed=16, activation="silu", key=key)
        result = fit(
            model,
            objective,
            MIXTURE,
            optimizer=OPTIMIZER,
            steps=3000,
            batch_size=256,
            key=key,
            times="stratified",
            progress=False,
        )
        errors[name] = relative_errors(result.model)
    return errors


def test_kappa_bar_is_never_much_worse_than_the_better_of_dsm_and_tsm(across_t):
    best = np.minimum(across_t["dsm"], across_t["tsm"])
    assert np.all(across_t["kappa_bar"] <= 2 * best + 0.005), across_t
    # Mixing pays at both ends: TSM's targets are noise at high sigma, DSM's at low sigma.
    assert across_t["kappa_bar"][0] * 5 < across_t["dsm"][0], across_t
    assert across_t["kappa_bar"][-1] * 2 < across_t["tsm"][-1], across_t


def test_kappa_bar_learns_the_noised_scores_at_every_level(across_t):
    assert np.all(across_t["kappa_bar"][:-1] < 0.05), across_t["kappa_bar"]
    assert across_t["kappa_bar"][-1] < 0.2, across_t["kappa_bar"]


def test_ism_with_the_forward_laplacian_trains_an_energy_network(key):
    """Clean ISM (sigma = 0) with div s = -Laplacian E learns a correlated Gaussian."""
    gaussian = Gaussian([1.0, -1.0], [[1.0, 0.5], [0.5, 2.0]])
    model = EnergyMLP(2, hidden=32, depth=2, embed=0, activation="tanh", key=key)
    objective = ISM(PROCESS, clean=True, divergence="folx")
    result = fit(
        model,
        objective,
        gaussian,
        optimizer=OPTIMIZER,
        steps=1500,
        batch_size=256,
        key=key,
        times=0.0,
        progress=False,
    )
    assert relative_errors(result.model, gaussian, times=(0.0,))[0] < 0.05
