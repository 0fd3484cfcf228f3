"""Two ``jax.distributed`` processes on this machine, two CPU devices each, give the fit and
the chains of one process on one device, up to rounding.

CPU devices of different processes talk through gloo (``jax_cpu_collectives_implementation``,
the default of jax 0.10 and 0.12, set explicitly below). ``fit`` splits each batch over the
four devices and XLA reduces the gradient across processes; ``samplers.run`` splits the
chains. Both processes get the same results and write the same checkpoint, which a
one-process run resumes from. The suite's default run covers several devices of one
process with forced host devices (test_training_devices.py, samplers/test_sharding.py).
"""

import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from helpers import host_devices_env

WORK = r"""
import jax
import numpy as np
import optax

from scoresample import samplers
from scoresample.networks import ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import DSM
from scoresample.targets import ncsn_toy
from scoresample.training import fit

TARGET = ncsn_toy()
DATA = TARGET.sample(jax.random.PRNGKey(1), 256)
MODEL = ScoreMLP(2, hidden=8, depth=1, embed=4, key=jax.random.PRNGKey(2))
FIT = dict(optimizer=optax.adam(1e-2), steps=20, batch_size=32, chunk_size=20,
           key=jax.random.PRNGKey(3), progress=False)


def work(devices, checkpoint_dir=None):
    result = fit(MODEL, DSM(VE()), DATA, devices=devices, checkpoint_dir=checkpoint_dir, **FIT)
    spec = samplers.make_sampler("mala", num_warmup=0, step_size=0.1, num_samples=20, n_chains=6)
    chains = samplers.run(spec, jax.random.PRNGKey(4), TARGET, progress=False, devices=devices)
    params = [np.asarray(leaf) for leaf in jax.tree.leaves(result.model) if hasattr(leaf, "shape")]
    arrays = {f"param{i}": leaf for i, leaf in enumerate(params)}
    return arrays | {"loss": result.history["loss"], "positions": chains.positions,
                     "n_devices": chains.settings["n_devices"]}
"""

PROCESS = (
    r"""
import sys

import jax

port, process_id, directory = sys.argv[1:]
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(
    f"localhost:{port}", num_processes=2, process_id=int(process_id), initialization_timeout=60
)
assert (jax.process_count(), jax.device_count(), jax.local_device_count()) == (2, 4, 2)
"""
    + WORK
    + r"""
np.savez(f"{directory}/process{process_id}.npz", **work(None, checkpoint_dir=directory))
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_results_of_one(tmp_path):
    env = host_devices_env(2)
    port = str(free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, port, str(i), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        namespace = {}
        exec(WORK, namespace)  # meanwhile, the reference: this process, one device
        one = namespace["work"](jax.devices()[:1])
        for process in processes:
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr[-4000:]
    finally:
        for process in processes:
            process.kill()
    two = [dict(np.load(tmp_path / f"process{i}.npz")) for i in range(2)]
    assert (one.pop("n_devices"), two[0]["n_devices"]) == (1, 4)
    for name, value in one.items():
        np.testing.assert_array_equal(two[1][name], two[0][name], err_msg=name)
        np.testing.assert_allclose(two[0][name], value, rtol=1e-4, atol=1e-6, err_msg=name)
    resumed = namespace["fit"](
        namespace["MODEL"],
        namespace["DSM"](namespace["VE"]()),
        namespace["DATA"],
        checkpoint_dir=tmp_path,
        resume=True,
        devices=jax.devices()[:1],
        **namespace["FIT"],
    )
    assert resumed.steps == 20
    params = [np.asarray(leaf) for leaf in jax.tree.leaves(resumed.model) if hasattr(leaf, "shape")]
    for i, leaf in enumerate(params):
        np.testing.assert_array_equal(leaf, two[0][f"param{i}"])
