"""Warm-up gradient evaluations are counted (what an equal-budget comparison needs),
checked against a count of the log density's actual evaluations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import samplers

SCALES = jnp.array([0.3, 1.0, 3.0])


def counting_log_density():
    """A Gaussian log density with scales 0.3-3 that counts its evaluations on the host
    (one per gradient: ``value_and_grad`` evaluates it once). Under ``vmap`` the callback
    runs once for all chains, so the tests run one chain."""
    calls = []

    def log_prob(x):
        jax.debug.callback(lambda: calls.append(1))
        return -0.5 * jnp.sum((x / SCALES) ** 2)

    return log_prob, calls


@pytest.mark.parametrize(
    "name, settings",
    [("mala", {}), ("hmc", {"num_integration_steps": 4}), ("nuts", {}), ("ula", {})],
)
def test_warmup_gradients_match_the_evaluations_made(name, settings, key):
    log_prob, calls = counting_log_density()
    spec = samplers.make_sampler(
        name, num_warmup=40, num_samples=3, n_chains=1, step_size=0.2, **settings
    )
    role = {"score": jax.grad(log_prob)} if name == "ula" else {"log_prob": log_prob}
    chains = samplers.run(spec, key, progress=False, initial_positions=np.ones((1, 3)), **role)
    jax.effects_barrier()
    # Evaluations: one to start, one more where an adaptation starts its own chain
    # (BlackJAX's window adaptation), then the warm-up's and the draws'.
    starts = 1 + (name != "ula")
    warmup = chains.warmup_grad_evals()
    assert len(calls) == starts + warmup + chains.total_grad_evals()
    if name == "nuts":
        assert warmup > 40  # trajectories of several leapfrog steps
    else:
        per_step = {"mala": 1, "hmc": 4, "ula": 1}[name]
        assert warmup == 40 * per_step
