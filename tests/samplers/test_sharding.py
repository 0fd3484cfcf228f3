"""Chains sharded over 4 CPU devices give the draws of 1 device (in a subprocess, since
the device count is fixed when JAX starts).

Every chain has its own key, so only floating-point rounding can differ: XLA may compile
an operation differently for another per-device batch (on CPU, a division by a value
shared by all chains becomes a multiplication by its reciprocal for some batch sizes).
Fixed-parameter kernels agree to rounding over a whole run; adaptation feeds the last
bit back into the step size, so adapted runs agree closely after a short warm-up and may
drift apart over long ones (as on any change of hardware). A key assigned per device
instead of per chain would make every comparison here fail by O(1).
"""

from helpers import run_on_host_devices

SCRIPT = r"""
import jax
import numpy as np
from scoresample import samplers, targets
from scoresample.noise import VP

assert jax.device_count() == 4, jax.devices()
target, key, one = targets.ncsn_toy(), jax.random.PRNGKey(0), jax.devices()[:1]
cases = [  # name, settings, tolerance on the draws and the step sizes
    ("nuts", dict(num_warmup=0, step_size=0.5, num_samples=10, n_chains=5), 1e-5),
    ("reverse_diffusion", dict(n_steps=20, n_chains=7), 1e-5),
    # Dual averaging feeds rounding differences back: log h = mu - sqrt(t) / 0.05 * error.
    ("mala", dict(num_warmup=20, num_samples=5, n_chains=6), 1e-2),
]
for name, settings, tolerance in cases:
    spec = samplers.make_sampler(name, **settings)
    single = samplers.run(spec, key, target, process=VP(), devices=one, progress=False)
    sharded = samplers.run(spec, key, target, process=VP(), progress=False)
    assert (single.settings["n_devices"], sharded.settings["n_devices"]) == (1, 4)
    np.testing.assert_allclose(single.positions, sharded.positions, atol=tolerance, err_msg=name)
    for stat in single.stats:
        np.testing.assert_allclose(single.stats[stat], sharded.stats[stat], atol=tolerance)
    if name != "reverse_diffusion":
        steps = single.settings["step_size"], sharded.settings["step_size"]
        np.testing.assert_allclose(*steps, rtol=tolerance)
print("same draws")
"""


def test_four_devices_give_the_draws_of_one():
    assert "same draws" in run_on_host_devices(SCRIPT, n_devices=4)
