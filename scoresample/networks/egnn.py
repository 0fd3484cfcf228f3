"""E(n)-equivariant graph networks (EGNN) for particle systems, time-conditioned.

Positions are flat, ``(n_particles * space_dim,)``, and reshaped to ``(M, n)`` particles
inside. Node features ``h_i`` start from the embedding of ``t``, the same for every
particle, and each layer ``l`` (Satorras et al. 2021, eqs. 3-6) computes

    m_ij = phi_e(h_i, h_j, |x_i - x_j|^2, |x0_i - x0_j|^2)                      (3)
    x_i <- x_i + C sum_{j != i} (x_i - x_j) / (|x_i - x_j| + 1) * w(m_ij)         (4)
    m_i = C sum_{j != i} m_ij                                                    (5)
    h_i <- h_i + phi_h(h_i, m_i)                                                 (6)

with ``C = 1 / (M - 1)`` (eq. 4's constant; eq. 5's plain sum is averaged here too, so
that the scale of ``m_i`` does not grow with ``M``), ``x0`` the input positions (their
distances are an edge attribute, as in Köhler et al. 2020 and DEM), the difference
normalised as in DEM's ``norm_diff``, and the coordinate weight bounded,
``w = R tanh(phi_x(m_ij))`` with ``R = COORDS_RANGE``. ``phi_x``'s last layer starts at
1e-3 of its usual scale, so the coordinates move little at initialisation. Distances,
hence ``h``, are invariant to rotations, reflections, translations and permutations,
and ``x`` is equivariant.

References:
    Satorras, Hoogeboom, Welling (2021), E(n) Equivariant Graph Neural Networks, ICML,
    eqs. 3-6; Akhound-Sadegh et al. (2024), Iterated Denoising Energy Matching for
    Sampling from Boltzmann Densities (iDEM), App. C (EGNN for DW-4, LJ-13, LJ-55).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._types import Position, PRNGKey, Scalar
from .._validate import check_position, non_negative_int, positive_int
from ..errors import ConfigError
from ..noise import NoiseProcess
from .base import EnergyNetwork, ScoreNetwork
from .embedding import SinusoidalEmbedding
from .mlp import MLP, activation_of, with_body_process

#: Bound ``R`` of the coordinate weights ``R tanh(phi_x(m_ij))`` (DEM's ``coords_range``).
COORDS_RANGE = 15.0
#: Scale of ``phi_x``'s last layer at initialisation (DEM: Xavier gain 0.001).
COORD_INIT_SCALE = 1e-3
#: Added to squared distances under the square root, so gradients stay finite.
_EPS = 1e-8


def neighbours(n_particles: int) -> np.ndarray:
    """Indices ``(M, M - 1)``: row ``i`` lists every ``j != i`` in increasing order."""
    index = np.arange(n_particles)
    return np.stack([np.delete(index, i) for i in index])


class EGNNLayer(eqx.Module):
    """One E(n)-equivariant layer, eqs. 3-6, on node features ``(M, H)`` and coordinates
    ``(M, n)``."""

    edge: MLP
    node: MLP
    coord: MLP
    activation: Callable

    def __init__(self, hidden: int, activation: str | Callable, *, key: PRNGKey):
        k_edge, k_node, k_coord = jax.random.split(key, 3)
        self.edge = MLP((2 * hidden + 2, hidden, hidden), activation, key=k_edge)
        self.node = MLP((2 * hidden, hidden, hidden), activation, key=k_node)
        coord = MLP((hidden, hidden, 1), activation, key=k_coord)
        last = coord.layers[-1]
        self.coord = eqx.tree_at(
            lambda m: (m.layers[-1].weight, m.layers[-1].bias),
            coord,
            (COORD_INIT_SCALE * last.weight, jnp.zeros_like(last.bias)),
        )
        self.activation = activation_of(activation)

    def __call__(self, h: Array, shift: Array, diff0: Array, nbrs: np.ndarray):
        """``(h, shift) -> (h', shift')`` with ``x = x0 + shift`` and ``diff0`` the input
        differences ``x0_i - x0_j``, ``(M, M - 1, n)``; the shift is kept apart so that
        small moves of large coordinates keep their precision."""
        n_particles, n_others = nbrs.shape
        diff = diff0 + (shift[:, None, :] - shift[nbrs])  # x_i - x_j
        radial = jnp.sum(diff**2, axis=-1, keepdims=True)  # (M, M - 1, 1)
        h_i = jnp.broadcast_to(h[:, None, :], (n_particles, n_others, h.shape[-1]))
        r0 = jnp.sum(diff0**2, axis=-1, keepdims=True)
        edges = jnp.concatenate([h_i, h[nbrs], radial, r0], axis=-1)
        m = self.activation(jax.vmap(jax.vmap(self.edge))(edges))  # eq. 3
        weight = COORDS_RANGE * jnp.tanh(jax.vmap(jax.vmap(self.coord))(m))
        unit = diff / (jnp.sqrt(radial + _EPS) + 1.0)
        shift = shift + jnp.mean(unit * weight, axis=1)  # eq. 4, C = 1 / (M - 1)
        h = h + jax.vmap(self.node)(jnp.concatenate([h, jnp.mean(m, axis=1)], axis=-1))
        return h, shift  # eqs. 5-6


class EGNN(eqx.Module):
    """The shared body: embedding of ``t`` -> ``h``, then ``n_layers`` EGNN layers.

    ``body(y, t)`` returns the final node features ``(M, H)`` (invariant) and the
    coordinate displacement ``x_L - x_0``, ``(M, n)`` (equivariant).
    """

    embedding: SinusoidalEmbedding | None
    encoder: eqx.nn.Linear
    layers: tuple[EGNNLayer, ...]
    process: NoiseProcess | None
    n_particles: int = eqx.field(static=True)
    space_dim: int = eqx.field(static=True)
    scale_by_sigma: bool = eqx.field(static=True)

    def __init__(
        self,
        n_particles,
        space_dim,
        hidden,
        n_layers,
        embed,
        activation,
        process,
        embed_of,
        scale_by_sigma,
        key,
    ):
        self.n_particles = positive_int(n_particles, "network.n_particles")
        if self.n_particles < 2:
            raise ConfigError(
                "network.n_particles", f"is {n_particles}", "an EGNN needs at least 2 particles"
            )
        self.space_dim = positive_int(space_dim, "network.space_dim")
        hidden = positive_int(hidden, "network.hidden")
        embed = non_negative_int(embed, "network.embed")
        if scale_by_sigma and process is None:
            raise ConfigError(
                "network.process", "is needed for scale_by_sigma", "pass the noise process"
            )
        k_encoder, *k_layers = jax.random.split(key, 1 + positive_int(n_layers, "network.n_layers"))
        self.embedding = SinusoidalEmbedding(embed, embed_of, process) if embed else None
        self.encoder = eqx.nn.Linear(max(embed, 1), hidden, key=k_encoder)
        self.layers = tuple(EGNNLayer(hidden, activation, key=k) for k in k_layers)
        self.process, self.scale_by_sigma = process, scale_by_sigma

    @property
    def dim(self) -> int:
        return self.n_particles * self.space_dim

    def __call__(self, y: Position, t: Scalar) -> tuple[Array, Array]:
        x0 = y.reshape(self.n_particles, self.space_dim)
        nbrs = neighbours(self.n_particles)
        diff0 = x0[:, None, :] - x0[nbrs]
        features = jnp.ones(1, y.dtype) if self.embedding is None else self.embedding(t)
        h = jnp.broadcast_to(self.encoder(features), (self.n_particles, self.encoder.out_features))
        shift = jnp.zeros_like(x0)
        for layer in self.layers:
            h, shift = layer(h, shift, diff0, nbrs)
        return h, shift

    def scale(self, value: Array, t: Scalar) -> Array:
        """``value / sigma(t)`` with ``scale_by_sigma``, else ``value``."""
        return value / self.process.sigma(t) if self.scale_by_sigma else value


class EGNNScore(ScoreNetwork):
    """An equivariant score ``s(y, t) = remove_mean(x_L - x_0)``, flattened to ``(M n,)``.

    ``x_L`` are the coordinates after the last EGNN layer (see the module); the score is
    equivariant to rotations and reflections (``s(Qx) = Q s(x)`` particle by particle)
    and to permutations of the particles, invariant to translations, and mean-free.

    Args:
        n_particles: number of particles ``M`` (at least 2).
        space_dim: dimension ``n`` of the space each particle lives in.
        hidden: width ``H`` of the node features and of every MLP (phi_e, phi_x, phi_h).
        n_layers: number of EGNN layers.
        embed: size of the sinusoidal embedding of ``t`` (even; 0 for none).
        activation: a name in ``ACTIVATIONS`` or a callable (smooth for energies).
        process: the noise process (for ``embed_of="log_sigma"`` or ``scale_by_sigma``).
        embed_of: embed ``"t"`` or ``"log_sigma"``.
        scale_by_sigma: divide the output by ``sigma(t)`` (Song & Ermon 2020).
        key: PRNG key for the initial weights.

    Example:
        >>> key = jax.random.PRNGKey(0)
        >>> model = EGNNScore(4, 2, hidden=64, n_layers=4, key=key)   # DW-4
        >>> model(jnp.zeros(8), 0.5).shape
        (8,)
    """

    body: EGNN

    def __init__(
        self,
        n_particles: int,
        space_dim: int,
        hidden: int = 64,
        n_layers: int = 4,
        embed: int = 32,
        activation: str | Callable = "silu",
        *,
        process: NoiseProcess | None = None,
        embed_of: str = "t",
        scale_by_sigma: bool = False,
        key: PRNGKey,
    ):
        self.body = EGNN(
            n_particles,
            space_dim,
            hidden,
            n_layers,
            embed,
            activation,
            process,
            embed_of,
            scale_by_sigma,
            key,
        )

    @property
    def dim(self) -> int:
        """Dimension of the positions ``y``, ``n_particles * space_dim``."""
        return self.body.dim

    @property
    def process(self) -> NoiseProcess | None:
        return self.body.process

    def _replace_process(self, process: NoiseProcess) -> EGNNScore:
        return with_body_process(self, process)

    def __call__(self, y: Position, t: Scalar) -> Float[Array, " d"]:
        check_position(y, self.dim, "EGNNScore input")
        _, shift = self.body(y, t)
        shift = shift - jnp.mean(shift, axis=0, keepdims=True)
        return self.body.scale(shift.reshape(-1), t)


class EGNNEnergy(EnergyNetwork):
    """An invariant energy ``E(y, t) = sum_i phi_E(h_i)``; calling it gives ``-grad_y E``.

    ``h_i`` are the node features after the last EGNN layer, invariant to rotations,
    reflections, translations and permutations, so ``E`` is too and its negative
    gradient is an equivariant, mean-free score. ``phi_E`` is an MLP ``H -> H -> 1``.

    Arguments as for :class:`EGNNScore`; with ``scale_by_sigma`` the energy (hence the
    score) is divided by ``sigma(t)``.

    Example:
        >>> key = jax.random.PRNGKey(0)
        >>> model = EGNNEnergy(4, 2, hidden=64, n_layers=4, key=key)   # DW-4
        >>> model.energy(jnp.ones(8), 0.5).shape, model(jnp.ones(8), 0.5).shape
        ((), (8,))
    """

    body: EGNN
    readout: MLP

    def __init__(
        self,
        n_particles: int,
        space_dim: int,
        hidden: int = 64,
        n_layers: int = 4,
        embed: int = 32,
        activation: str | Callable = "silu",
        *,
        process: NoiseProcess | None = None,
        embed_of: str = "t",
        scale_by_sigma: bool = False,
        key: PRNGKey,
    ):
        k_body, k_readout = jax.random.split(key)
        self.body = EGNN(
            n_particles,
            space_dim,
            hidden,
            n_layers,
            embed,
            activation,
            process,
            embed_of,
            scale_by_sigma,
            k_body,
        )
        self.readout = MLP((hidden, hidden, 1), activation, key=k_readout)

    @property
    def dim(self) -> int:
        """Dimension of the positions ``y``, ``n_particles * space_dim``."""
        return self.body.dim

    @property
    def process(self) -> NoiseProcess | None:
        return self.body.process

    def _replace_process(self, process: NoiseProcess) -> EGNNEnergy:
        return with_body_process(self, process)

    def energy(self, y: Position, t: Scalar) -> Scalar:
        """The energy ``E(y, t)``, a scalar."""
        check_position(y, self.dim, "EGNNEnergy input")
        h, _ = self.body(y, t)
        return self.body.scale(jnp.sum(jax.vmap(self.readout)(h)), t)
