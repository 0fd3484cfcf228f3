"""Chains sharded over devices: a per-chain function runs as ``shard_map(vmap(fn))``.

Chains are independent, so the chain axis is split over a one-axis mesh of all devices
(every host's, once :func:`jax.distributed.initialize` has run) with no communication.
Every chain carries its own key, so a chain's draws do not depend on which device, or
how many, ran it, up to floating-point rounding: XLA may compile an operation differently
for another per-device batch size (on CPU, a division by a value shared by all chains can
become a multiplication by its reciprocal). When the number of chains is not a multiple
of the number of devices, copies of chain 0 pad the batch and are dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "chain"


class ChainLayout(NamedTuple):
    """A mesh over devices and how many chains (real and padded) it carries."""

    mesh: Mesh
    n_chains: int
    n_padded: int

    @property
    def n_devices(self) -> int:
        return self.mesh.size

    @property
    def key(self) -> tuple:
        """What a compiled program depends on: the devices, in order, and the padding."""
        return tuple(d.id for d in self.mesh.devices.flat), self.n_padded


def chain_layout(n_chains: int, devices: Sequence | None = None) -> ChainLayout:
    """The layout of ``n_chains`` over ``devices`` (default: all devices of all hosts)."""
    devices = np.asarray(jax.devices() if devices is None else list(devices))
    n_padded = -(-n_chains // devices.size) * devices.size
    return ChainLayout(Mesh(devices, (AXIS,)), n_chains, n_padded)


def put(layout: ChainLayout, tree):
    """Host arrays with a leading chain axis -> global arrays sharded over the mesh."""
    sharding = NamedSharding(layout.mesh, P(AXIS))

    def put_leaf(leaf):
        leaf = np.asarray(leaf)
        pad = np.repeat(leaf[:1], layout.n_padded - layout.n_chains, axis=0)
        full = np.concatenate([leaf, pad]) if pad.size else leaf
        return jax.make_array_from_callback(full.shape, sharding, lambda index: full[index])

    return jax.tree.map(put_leaf, tree)


def replicate(layout: ChainLayout, tree):
    """Arrays shared by every chain (a model's weights) -> copies on every device."""
    sharding = NamedSharding(layout.mesh, P())

    def replicate_leaf(leaf):
        leaf = np.asarray(leaf)
        return jax.make_array_from_callback(leaf.shape, sharding, lambda index: leaf[index])

    return jax.tree.map(replicate_leaf, tree)


def per_chain(
    fn: Callable, layout: ChainLayout, n_shared: int = 0, sequential: bool = False
) -> Callable:
    """``fn`` mapped over the leading axis of its arguments, sharded and jitted.

    The last ``n_shared`` arguments are the same for every chain (replicated). Within a
    device the chains run vectorised (``vmap``: in lockstep, best for many cheap chains
    and accelerators) or, with ``sequential``, one after another (``lax.map``: a chain
    whose step takes longer does not hold the others back).
    """

    def batched(*args):
        n_batched = len(args) - n_shared
        chains, shared = args[:n_batched], args[n_batched:]
        if sequential:
            return jax.lax.map(lambda one: fn(*one, *shared), chains)
        return jax.vmap(fn, in_axes=(0,) * n_batched + (None,) * n_shared)(*args)

    def sharded(*args):
        specs = (P(AXIS),) * (len(args) - n_shared) + (P(),) * n_shared
        mapped = jax.shard_map(
            batched, mesh=layout.mesh, in_specs=specs, out_specs=P(AXIS), check_vma=False
        )
        return mapped(*args)

    return jax.jit(sharded)


def fetch(layout: ChainLayout, tree):
    """Global arrays -> NumPy arrays on every host, padding chains removed."""

    def fetch_leaf(leaf):
        if leaf.is_fully_addressable:
            full = np.asarray(leaf)
        else:
            full = np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return full[: layout.n_chains]

    return jax.tree.map(fetch_leaf, tree)
