"""Optimisers keyed by their program, so that ``fit`` compiles once per trace shape."""

from __future__ import annotations

import hashlib

import jax
import optax


class SameProgram:
    """An optax transformation compared by the program of its ``update``, not by identity.

    ``jit`` caches a compiled chunk under its static parts; an optax transformation is a
    pair of fresh closures, so ``adam(1e-3)`` built twice would compile twice. Two
    transformations are equal here when ``update`` lowers to the same StableHLO with the
    same state structure: same constants, so the same arithmetic (a learning rate kept
    by ``optax.inject_hyperparams`` is state, an argument; a plain ``adam(2e-3)`` is
    another constant and compiles anew).
    """

    def __init__(self, transformation: optax.GradientTransformation, params, opt_state):
        self.transformation = transformation
        lowered = jax.jit(transformation.update).lower(params, opt_state, params)
        text = hashlib.sha256(lowered.as_text().encode()).hexdigest()
        self.program = (text, lowered.in_tree, lowered.out_tree)

    def __eq__(self, other) -> bool:
        return isinstance(other, SameProgram) and self.program == other.program

    def __hash__(self) -> int:
        return hash(self.program)
