"""Score networks: an MLP on ``[y, embedding(t)]`` that outputs the score ``(d,)``.

Width, depth and activation are configurable, so the small tanh networks of toy score
matching (``hidden=16`` or ``32``, ``activation="tanh"``) and the ``3 x 128`` SiLU MLP of
diffusion samplers (``hidden=128, depth=3, activation="silu"``) are both one line. With
``scale_by_sigma=True`` the output is divided by ``sigma(t)``, the noise-conditioning of
Song & Ermon (2020), Technique 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Position, PRNGKey, Scalar
from .._validate import check_position, positive_int
from ..errors import ConfigError
from ..noise import NoiseProcess
from .base import ScoreNetwork
from .embedding import SinusoidalEmbedding

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "gelu": jax.nn.gelu,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "relu": jax.nn.relu,
}


def activation_of(activation: str | Callable) -> Callable:
    """An activation function from its name (see ``ACTIVATIONS``) or itself."""
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ConfigError(
            "network.activation",
            f"unknown name {activation!r}",
            f"choose one of {sorted(ACTIVATIONS)}",
        )
    return ACTIVATIONS[activation]


def layer_widths(hidden: int | Sequence[int], depth: int) -> tuple[int, ...]:
    """Hidden widths: ``depth`` copies of an int, or the sequence itself."""
    if isinstance(hidden, int):
        return (positive_int(hidden, "network.hidden"),) * positive_int(depth, "network.depth")
    return tuple(positive_int(w, "network.hidden") for w in hidden)


class MLP(eqx.Module):
    """Fully connected network ``R^in -> R^out`` with an activation between layers."""

    layers: tuple[eqx.nn.Linear, ...]
    activation: Callable

    def __init__(self, sizes: Sequence[int], activation: str | Callable, *, key: PRNGKey):
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(
            eqx.nn.Linear(n_in, n_out, key=k)
            for n_in, n_out, k in zip(sizes[:-1], sizes[1:], keys, strict=True)
        )
        self.activation = activation_of(activation)

    def __call__(self, h: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            h = self.activation(layer(h))
        return self.layers[-1](h)


class TimeConditioned(eqx.Module):
    """An :class:`MLP` applied to ``[y, embedding(t)]``, optionally divided by ``sigma(t)``.

    ``embed = 0`` drops the embedding (a network for one fixed noise level).
    """

    mlp: MLP
    embedding: SinusoidalEmbedding | None
    process: NoiseProcess | None
    dim: int = eqx.field(static=True)
    scale_by_sigma: bool = eqx.field(static=True)

    def __init__(
        self, dim, out, hidden, depth, embed, activation, process, embed_of, scale_by_sigma, key
    ):
        dim = positive_int(dim, "network.dim")
        if scale_by_sigma and process is None:
            raise ConfigError(
                "network.process", "is needed for scale_by_sigma", "pass the noise process"
            )
        self.embedding = SinusoidalEmbedding(embed, embed_of, process) if embed else None
        sizes = (dim + embed, *layer_widths(hidden, depth), out)
        self.mlp = MLP(sizes, activation, key=key)
        self.process, self.dim, self.scale_by_sigma = process, dim, scale_by_sigma

    def __call__(self, y: Position, t: Scalar) -> jax.Array:
        features = y if self.embedding is None else jnp.concatenate([y, self.embedding(t)])
        out = self.mlp(features)
        return out / self.process.sigma(t) if self.scale_by_sigma else out


class ScoreMLP(ScoreNetwork):
    """A score network ``s(y, t) = MLP([y, emb(t)])``, itself a ScoreFn.

    Args:
        dim: dimension ``d`` of positions.
        hidden: width of every hidden layer (with ``depth``) or a sequence of widths.
        depth: number of hidden layers when ``hidden`` is an int.
        embed: size of the sinusoidal embedding of ``t`` (even; 0 for none).
        activation: a name in ``ACTIVATIONS`` or a callable.
        process: the noise process (for ``embed_of="log_sigma"`` or ``scale_by_sigma``).
        embed_of: embed ``"t"`` or ``"log_sigma"``.
        scale_by_sigma: divide the output by ``sigma(t)`` (Song & Ermon 2020, Technique 3).
        key: PRNG key for the initial weights.

    Example:
        >>> key = jax.random.PRNGKey(0)
        >>> model = ScoreMLP(2, hidden=128, depth=3, activation="silu", key=key)
        >>> model(jnp.zeros(2), 0.5).shape
        (2,)
    """

    body: TimeConditioned
    #: Features per coordinate of ``y`` that :meth:`features` gives the MLP.
    features_per_coordinate = 1

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
        width = self.features_per_coordinate * dim
        self.body = TimeConditioned(
            width, dim, hidden, depth, embed, activation, process, embed_of, scale_by_sigma, key
        )

    @property
    def dim(self) -> int:
        """Dimension of the positions ``y``."""
        return self.body.dim // self.features_per_coordinate

    def features(self, y: Position) -> jax.Array:
        """What the MLP reads of ``y`` (besides ``t``): ``y`` itself."""
        return y

    @property
    def process(self) -> NoiseProcess | None:
        return self.body.process

    def _replace_process(self, process: NoiseProcess) -> ScoreMLP:
        return with_body_process(self, process)

    def __call__(self, y: Position, t: Scalar) -> Position:
        check_position(y, self.dim, f"{type(self).__name__} input")
        return self.body(self.features(y), t)


def with_body_process(network, process: NoiseProcess):
    """``network`` with ``network.body.process`` set (where it is None)."""
    return eqx.tree_at(lambda n: n.body.process, network, process, is_leaf=lambda x: x is None)
