"""Sampling particle systems in the zero-centre-of-mass subspace.

A particle energy that depends on interparticle distances alone is invariant to
translations, so its density is improper along the centre of mass: a chain in the full
space spends its moves (and NUTS its trajectory doublings, which never U-turn along a
flat direction) on a free random walk of the centre of mass. The samplers instead run in
orthonormal coordinates ``z`` of the mean-free subspace, of dimension
``(n_particles - 1) * space_dim``:

    x = expand(z) = (H^T Z) flattened,    z = reduce(x) = (H X) flattened,

with ``X`` the ``(n_particles, space_dim)`` positions and ``H`` the ``(n - 1, n)``
Helmert matrix, whose rows ``h_k = (1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1))`` (``k``
ones) are orthonormal and orthogonal to ``(1, ..., 1)``. As ``expand`` is an isometry
onto the subspace, the density of ``z`` is the target's restricted to the subspace,
``log p(expand(z))``, its score is ``reduce(grad log p(expand(z)))``, and isotropic
noise or momentum in ``z`` is the projected noise or momentum of the full space
(Satorras et al. 2021 and Hoogeboom et al. 2022 keep E(n) flows and diffusions in this
subspace the same way). For a noised score of mean-free data under additive isotropic
noise the full-space noised density factorises into the subspace's and a Gaussian along
the centre of mass, so ``reduce`` of the noised score is the subspace's noised score.

References:
    Helmert (1876); Köhler, Klein, Noé (2020), Equivariant flows, ICML;
    Hoogeboom et al. (2022), Equivariant diffusion for molecule generation in 3D, ICML.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..targets import MeanFree, ParticleSystem
from .model import SamplingModel


def helmert(n: int) -> np.ndarray:
    """The ``(n - 1, n)`` Helmert matrix: orthonormal rows, each orthogonal to ones."""
    k = np.arange(1, n)[:, None]
    columns = np.arange(n)[None, :]
    rows = np.where(columns < k, 1.0, np.where(columns == k, -k, 0.0))
    return rows / np.sqrt(k * (k + 1.0))


class MeanFreeCoordinates(eqx.Module):
    """Orthonormal coordinates of the mean-free subspace of ``n_particles`` particles in
    ``space_dim`` dimensions (flat positions, particle ``i`` at ``x[i * space_dim:
    (i + 1) * space_dim]``)."""

    n_particles: int = eqx.field(static=True)
    space_dim: int = eqx.field(static=True)

    @property
    def dim(self) -> int:
        """Dimension of the subspace, ``(n_particles - 1) * space_dim``."""
        return (self.n_particles - 1) * self.space_dim

    def reduce(self, x: jax.Array) -> jax.Array:
        """``(..., n_particles * space_dim) -> (..., dim)``: coordinates of the projection."""
        particles = x.reshape(*x.shape[:-1], self.n_particles, self.space_dim)
        basis = jnp.asarray(helmert(self.n_particles), x.dtype)
        return jnp.einsum("kn,...nd->...kd", basis, particles).reshape(*x.shape[:-1], self.dim)

    def expand(self, z: jax.Array) -> jax.Array:
        """``(..., dim) -> (..., n_particles * space_dim)``: the mean-free positions."""
        coordinates = z.reshape(*z.shape[:-1], self.n_particles - 1, self.space_dim)
        basis = jnp.asarray(helmert(self.n_particles), z.dtype)
        positions = jnp.einsum("kn,...kd->...nd", basis, coordinates)
        return positions.reshape(*z.shape[:-1], self.n_particles * self.space_dim)

    def restrict(self, model: SamplingModel) -> SamplingModel:
        """The model's roles in the subspace's coordinates."""

        def reduced(fn, role):
            return None if fn is None else _Reduced(fn, self, role)

        return SamplingModel(
            reduced(model.log_prob, "log_prob"),
            reduced(model.score, "score"),
            reduced(model.noised_score, "noised_score"),
            model.process,
            self.dim,
            None,
        )


class _Reduced(eqx.Module):
    """A role in the subspace's coordinates: ``log p(expand(z))``, or ``reduce`` of a
    (noised) score at ``expand(z)``."""

    fn: Callable
    coordinates: MeanFreeCoordinates
    role: str = eqx.field(static=True)

    def __call__(self, z, *time):
        out = self.fn(self.coordinates.expand(z), *time)
        return out if self.role == "log_prob" else self.coordinates.reduce(out)


def of(model) -> MeanFreeCoordinates | None:
    """The mean-free coordinates of a translation-invariant particle system, else None."""
    if isinstance(model, MeanFree) and isinstance(model, ParticleSystem):
        return MeanFreeCoordinates(int(model.n_particles), int(model.space_dim))
    return None


def resolve(model, mean_free) -> MeanFreeCoordinates | None:
    """``run``'s ``mean_free`` argument: None (the model's coordinates if it is a
    translation-invariant particle system), True (the same, required), False (the full
    space) or :class:`MeanFreeCoordinates` (for a network, which does not know its
    target)."""
    if isinstance(mean_free, MeanFreeCoordinates) or mean_free is False:
        return mean_free or None
    coordinates = of(model)
    if mean_free is True and coordinates is None:
        raise ConfigError(
            "mean_free",
            f"is True but the model ({type(model).__name__}) is not a translation-invariant "
            "particle system",
            "pass mean_free=MeanFreeCoordinates(n_particles, space_dim), or leave it out",
        )
    return coordinates
