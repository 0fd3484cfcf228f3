"""Energy networks: a scalar ``E(y, t)`` whose negative gradient is the score.

``s(y, t) = -grad_y E(y, t)``, so ``p_t(y) ∝ exp(-E(y, t))`` and Metropolis-corrected
samplers (MALA, HMC) can use ``-E`` as a log density. Divergences are
``div s = -Laplacian E``, which the forward Laplacian (folx) computes in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._types import Position, PRNGKey, Scalar
from .._validate import check_position
from ..noise import NoiseProcess
from .base import EnergyNetwork
from .mlp import TimeConditioned, with_body_process


class EnergyMLP(EnergyNetwork):
    """An energy network ``E(y, t) = MLP([y, emb(t)])``; calling it gives ``-grad_y E``.

    Arguments as for :class:`~scoresample.networks.ScoreMLP`; with ``scale_by_sigma`` the
    energy (hence the score) is divided by ``sigma(t)``. Use a smooth activation (tanh,
    SiLU, softplus): the score is a gradient and ISM needs its divergence.

    References:
        Salimans & Ho (2021), Should EBMs model the energy or the score?; Du et al.
        (2023), Reduce, reuse, recycle, Sec. 3 (energy parameterisation, MH correction).

    Example:
        >>> model = EnergyMLP(2, hidden=32, depth=2, activation="tanh", key=key)
        >>> model.energy(jnp.zeros(2), 0.5).shape, model(jnp.zeros(2), 0.5).shape
        ((), (2,))
    """

    body: TimeConditioned

    def __init__(
        self,
        dim: int,
        hidden: int | Sequence[int] = 128,
        depth: int = 3,
        embed: int = 16,
        activation: str | Callable = "silu",
        *,
        process: NoiseProcess | None = None,
        embed_of: str = "t",
        scale_by_sigma: bool = False,
        key: PRNGKey,
    ):
        self.body = TimeConditioned(
            dim, 1, hidden, depth, embed, activation, process, embed_of, scale_by_sigma, key
        )

    @property
    def dim(self) -> int:
        """Dimension of the positions ``y``."""
        return self.body.dim

    @property
    def process(self) -> NoiseProcess | None:
        return self.body.process

    def _replace_process(self, process: NoiseProcess) -> EnergyMLP:
        return with_body_process(self, process)

    def energy(self, y: Position, t: Scalar) -> Scalar:
        """The energy ``E(y, t)``, a scalar."""
        check_position(y, self.dim, "EnergyMLP input")
        return self.body(y, t)[0]
