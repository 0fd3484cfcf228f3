"""MALA, HMC and NUTS leave the target invariant: many short chains started at exact
samples end at exact samples, tested as i.i.d. draws; a wrong target must fail.

The final states of ``N`` independent chains are i.i.d.; under invariance they are
distributed as the target, so their moments and mean responsibilities
(``E_p[p(k | x)] = w_k``) are z-tested against the exact values. The negative control
runs the same chains on the mixture with other weights, which moves the draws away from
the true target within the same number of steps.
"""

import jax
import numpy as np
import pytest
from helpers import mean_zscores, moment_zscores

from scoresample import samplers, targets
from scoresample.diagnostics.stein import family_threshold

N_CHAINS = 10_000

#: sampler -> settings: fixed parameters (no adaptation) and kernel steps per chain.
CASES = {
    "mala": dict(step_size=0.3, thinning=20),
    "hmc": dict(step_size=0.3, num_integration_steps=5, thinning=4),
    "nuts": dict(step_size=0.4, thinning=4),
}


def _mixture(weights=(0.3, 0.7)):
    """Two overlapping, anisotropic components, so short chains cross between them."""
    return targets.GaussianMixture(weights, [[-1.5, 0.5], [1.0, -0.5]], [[0.6, 1.0], [1.0, 0.5]])


def _exact_moments(mixture):
    w, mu, s = (np.asarray(a, np.float64) for a in (mixture.weights, mixture.means, mixture.scales))
    mean = w @ mu
    second = np.einsum("k,ki,kj->ij", w, mu, mu) + np.diag(w @ s**2)
    return mean, second - np.outer(mean, mean)


def _invariance_zscores(name, key, run_on):
    truth = _mixture()
    spec = samplers.make_sampler(
        name, num_warmup=0, num_samples=1, n_chains=N_CHAINS, **CASES[name]
    )
    chains = samplers.run(spec, key, run_on, initial_positions=truth.sample, progress=False)
    final = chains.positions[:, -1]
    mean, cov = _exact_moments(truth)
    first_component = np.asarray(jax.vmap(truth.responsibilities)(final))[:, :1]
    z_weight = mean_zscores(first_component, float(truth.weights[0]))
    return np.concatenate([moment_zscores(final, mean, cov), z_weight])


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_target_is_left_invariant(name, key):
    z = _invariance_zscores(name, key, _mixture())
    assert np.max(np.abs(z)) < family_threshold(z.size), z


@pytest.mark.parametrize(
    "name",
    [
        "mala",
        pytest.param("hmc", marks=pytest.mark.slow),
        pytest.param("nuts", marks=pytest.mark.slow),
    ],
)
def test_wrong_target_is_detected(name, key):
    z = _invariance_zscores(name, key, _mixture((0.6, 0.4)))
    assert np.max(np.abs(z)) > family_threshold(z.size), z
