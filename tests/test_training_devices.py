"""fit on 4 CPU devices gives the fit of 1 device up to rounding (in a subprocess, since the
device count is fixed when JAX starts), resumes bit for bit on the same layout, and names
the fix when a batch does not split over the devices.

Each batch is split over the devices and the gradient reduced by XLA (an all-reduce in
the compiled step: the negative control that the batch really is split, since a program
that ran the whole batch on every device would agree with one device trivially). Random
draws do not depend on the layout, so only the order of the reduction differs.
"""

from helpers import run_on_host_devices

SCRIPT = r"""
import tempfile
import warnings

import equinox as eqx
import jax
import numpy as np
import optax

import scoresample.training as training
from scoresample.errors import ConfigError
from scoresample.networks import ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import DSM
from scoresample.targets import ncsn_toy
from scoresample.training import fit

assert jax.device_count() == 4, jax.devices()
jax.config.update("jax_numpy_rank_promotion", "raise")  # as in the suite
warnings.simplefilter("error")
target = ncsn_toy()
data = target.sample(jax.random.PRNGKey(1), 256)
model = ScoreMLP(2, hidden=12, depth=1, embed=4, key=jax.random.PRNGKey(2))
options = dict(
    optimizer=optax.adam(1e-2), batch_size=32, chunk_size=10, key=jax.random.PRNGKey(3),
    progress=False, ema_decay=0.9, checkpoint_every=10,
)


def train(steps, **more):
    return fit(model, DSM(VE()), data, steps=steps, **(options | more))


def arrays(tree):
    return [np.asarray(leaf) for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_array))]


one = train(20, devices=jax.devices()[:1])
programs, run_chunk = [], training._run_chunk


def spy(*args):
    programs.append(run_chunk.lower(*args).compile().compiled.as_text())
    return run_chunk(*args)


training._run_chunk = spy
four = train(20)
training._run_chunk = run_chunk
assert "all-reduce" in programs[0], "the batch is split and the gradient reduced"
pairs = zip(arrays((one.model, one.ema_model)), arrays((four.model, four.ema_model)), strict=True)
for a, b in pairs:
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.max(np.abs(a)))
for name in one.history:
    np.testing.assert_allclose(four.history[name], one.history[name], rtol=1e-4, err_msg=name)

with tempfile.TemporaryDirectory() as directory:
    train(10, checkpoint_dir=directory)
    resumed = train(20, checkpoint_dir=directory, resume=True)
for a, b in zip(arrays((four.model, four.ema_model, four.opt_state)),
                arrays((resumed.model, resumed.ema_model, resumed.opt_state)), strict=True):
    np.testing.assert_array_equal(b, a)
for name in four.history:
    np.testing.assert_array_equal(resumed.history[name], four.history[name])


def refused(data, batch_size):
    try:
        fit(model, DSM(VE()), data, steps=1, **(options | dict(batch_size=batch_size)))
    except ConfigError as error:
        return str(error)
    raise AssertionError(f"a batch of {batch_size} split over 4 devices")


assert refused(data, 30) == (
    "fit.batch_size: is 30, which does not split evenly over 4 devices; use a multiple of 4 "
    "(e.g. batch_size=28), or fewer devices (devices=jax.devices()[:1])"
)
assert "is the full data (30 examples, used every step)" in refused(data[:30], None)
print("same fit")
"""


def test_four_devices_give_the_fit_of_one():
    assert "same fit" in run_on_host_devices(SCRIPT, n_devices=4)
