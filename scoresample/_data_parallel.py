"""Data-parallel training: each batch is split over a one-axis mesh of devices.

The mesh holds every device of every process (once :func:`jax.distributed.initialize`
has run). Parameters, optimiser state, data and keys are replicated on every device; a
step's batch (examples, times, per-example keys) is constrained to be split along the
mesh inside the compiled step, so XLA runs each device's share of the per-example
losses and reduces the gradient across devices itself (no hand-written collective).
Random draws do not depend on the layout (JAX's partitionable threefry, the default),
so only the order of the reduction differs from one device: results agree up to
floating-point rounding, and bit for bit on the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .errors import ConfigError

AXIS = "batch"


def batch_mesh(devices: Sequence | None = None) -> Mesh:
    """A one-axis mesh over ``devices`` (default: all devices of all processes)."""
    return Mesh(np.asarray(jax.devices() if devices is None else list(devices)), (AXIS,))


def check_split(size: int, mesh: Mesh, full_data: bool) -> None:
    """Raise unless a batch of ``size`` examples splits evenly over the mesh."""
    n = mesh.size
    if size % n == 0:
        return
    what = f"the full data ({size} examples, used every step)" if full_data else f"{size}"
    below = max(n, size // n * n)
    raise ConfigError(
        "fit.batch_size",
        f"is {what}, which does not split evenly over {n} devices",
        f"use a multiple of {n} (e.g. batch_size={below}), or fewer devices "
        f"(devices=jax.devices()[:1])",
    )


def replicate(tree, mesh: Mesh):
    """Every array leaf -> a global array with a copy on every device of ``mesh``.

    Each process passes the same values (as every process of a multi-process run computes
    the same model, data and key); it copies them to its own devices.
    """
    sharding = NamedSharding(mesh, P())

    def leaf_fn(leaf):
        if jax.process_count() == 1:
            return jax.device_put(leaf, sharding)
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = leaf_fn(jax.random.key_data(leaf))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        host = np.asarray(leaf.addressable_data(0) if isinstance(leaf, jax.Array) else leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(lambda leaf: leaf_fn(leaf) if eqx.is_array(leaf) else leaf, tree)


def local(tree):
    """Replicated global arrays -> this process's copy on its first device."""
    return jax.tree.map(
        lambda leaf: leaf.addressable_data(0) if isinstance(leaf, jax.Array) else leaf, tree
    )


def split_batch(tree, mesh: Mesh):
    """Inside a trace: split every array along its first (batch) axis over the mesh."""
    sharding = NamedSharding(mesh, P(AXIS))
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)


def keep_replicated(tree, mesh: Mesh):
    """Inside a trace: every array stays whole on every device (parameters, records)."""
    sharding = NamedSharding(mesh, P())
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)
