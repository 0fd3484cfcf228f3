"""Particle systems: the DW-4, LJ-13 and LJ-55 Boltzmann densities ``p(x) ∝ exp(-E(x))``.

Positions stay flat, shape ``(n_particles * space_dim,)``, and are reshaped to
``(n_particles, space_dim)`` only inside this file. Both energies depend on
interparticle distances alone, so they are invariant to translations, rotations and
permutations of the particles. Translation invariance makes the density improper
along the centre of mass: these targets are :class:`~scoresample.targets.MeanFree`
(and :class:`~scoresample.targets.ParticleSystem`), and samples, metrics and chain
diagnostics are compared after :func:`remove_mean`. ``log_prob`` is unnormalised.

References:
    Köhler, Klein, Noé (2020), Equivariant flows, ICML (DW-4 and LJ-13);
    Klein et al. (2023), Equivariant flow matching, NeurIPS (LJ-55);
    Akhound-Sadegh et al. (2024), Iterated Denoising Energy Matching, App. C.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._types import Batch, Position, Scalar
from ..errors import ConfigError
from ._base import AbstractTarget


def remove_mean(x: Position, n_particles: int, space_dim: int) -> Position:
    """Project a flat configuration onto the zero-centre-of-mass subspace."""
    particles = x.reshape(n_particles, space_dim)
    return (particles - particles.mean(axis=0, keepdims=True)).reshape(-1)


def pair_distances(x: Position, n_particles: int, space_dim: int, eps: float = 0.0) -> jax.Array:
    """Distances ``sqrt(|x_i - x_j|^2 + eps)`` over unordered pairs ``i < j``."""
    particles = x.reshape(n_particles, space_dim)
    i, j = np.triu_indices(n_particles, k=1)
    diff = particles[i] - particles[j]
    return jnp.sqrt(jnp.sum(diff**2, axis=-1) + eps)


class _ParticleTarget(AbstractTarget):
    """Shared shape bookkeeping for particle systems; subclasses define ``energy``.

    Every subclass is a :class:`~scoresample.targets.ParticleSystem` and, being
    invariant to translations, :class:`~scoresample.targets.MeanFree`.
    """

    n_particles: eqx.AbstractVar[int]
    space_dim: eqx.AbstractVar[int]

    @property
    def dim(self) -> int:
        return self.n_particles * self.space_dim

    def energy(self, x: Position) -> Scalar:
        raise NotImplementedError

    def log_prob(self, x: Position) -> Scalar:
        return -self.energy(x)

    def remove_mean(self, xs: Batch) -> Batch:
        """Centre every configuration of a batch ``(n, dim)``."""
        return jax.vmap(lambda x: remove_mean(x, self.n_particles, self.space_dim))(xs)

    def distances(self, xs: Batch) -> Batch:
        """Interparticle distances of a batch: ``(n, n_particles (n_particles - 1) / 2)``."""
        return jax.vmap(lambda x: pair_distances(x, self.n_particles, self.space_dim))(xs)


class DoubleWellParticles(_ParticleTarget):
    """Particles interacting through a double-well pair potential (DW-4 by default).

    ``E(x) = sum_{i<j} a (d_ij - d0)^4 + b (d_ij - d0)^2`` with ``a = 0.9``, ``b = -4``,
    ``d0 = 4``: each pair prefers a distance of ``4 ± sqrt(-b / 2a) = 4 ± 1.49``.
    """

    n_particles: int = eqx.field(static=True, default=4)
    space_dim: int = eqx.field(static=True, default=2)
    a: float = eqx.field(static=True, default=0.9)
    b: float = eqx.field(static=True, default=-4.0)
    d0: float = eqx.field(static=True, default=4.0)

    def energy(self, x: Position) -> Scalar:
        r = pair_distances(x, self.n_particles, self.space_dim) - self.d0
        return jnp.sum(self.a * r**4 + self.b * r**2)


class LennardJones(_ParticleTarget):
    """Lennard-Jones cluster in a harmonic trap (LJ-13 by default), ``epsilon = r_m = 1``.

    ``E(x) = c * sum_{i<j} eps [(r_m / r_ij)^12 - 2 (r_m / r_ij)^6]
    + (k / 2) sum_i |x_i - mean(x)|^2`` with ``r_ij = sqrt(|x_i - x_j|^2 + 1e-6)``.

    Two conventions for the pair sum, chosen by ``pair_sum``:

    - ``"ordered"`` (default, as in iDEM and its benchmarks): the sum runs over ordered
      pairs ``i != j``, i.e. ``c = 2``, twice the physical energy.
    - ``"unordered"``: the standard physical sum over ``i < j`` (``c = 1``).
    """

    n_particles: int = eqx.field(static=True, default=13)
    space_dim: int = eqx.field(static=True, default=3)
    pair_sum: Literal["ordered", "unordered"] = eqx.field(static=True, default="ordered")
    oscillator_scale: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if self.pair_sum not in ("ordered", "unordered"):
            raise ConfigError(
                "LennardJones.pair_sum",
                f"unknown convention {self.pair_sum!r}",
                'use "ordered" (iDEM) or "unordered" (standard)',
            )

    def energy(self, x: Position) -> Scalar:
        r = pair_distances(x, self.n_particles, self.space_dim, eps=1e-6)
        inv6 = r**-6
        pair_factor = 2.0 if self.pair_sum == "ordered" else 1.0
        lj = pair_factor * jnp.sum(inv6**2 - 2.0 * inv6)
        centred = remove_mean(x, self.n_particles, self.space_dim)
        return lj + 0.5 * self.oscillator_scale * jnp.sum(centred**2)


def dw4() -> DoubleWellParticles:
    """DW-4: four particles in 2-D with the double-well pair potential (dim 8)."""
    return DoubleWellParticles()


def lj13(pair_sum: Literal["ordered", "unordered"] = "ordered") -> LennardJones:
    """LJ-13: thirteen Lennard-Jones particles in 3-D in a harmonic trap (dim 39)."""
    return LennardJones(pair_sum=pair_sum)


def lj55(pair_sum: Literal["ordered", "unordered"] = "ordered") -> LennardJones:
    """LJ-55: fifty-five Lennard-Jones particles in 3-D in a harmonic trap (dim 165)."""
    return LennardJones(n_particles=55, pair_sum=pair_sum)
