"""Sinusoidal embeddings of the time ``t`` or of ``log sigma(t)``.

``emb(u) = [sin(w_1 u), ..., sin(w_K u), cos(w_1 u), ..., cos(w_K u)]`` with frequencies
``w_k`` geometric from ``min_frequency`` to ``max_frequency`` (Fourier features of a
scalar; Vaswani et al. 2017, Sec. 3.5; Tancik et al. 2020). Embedding ``log sigma``
rather than ``t`` makes the network's input independent of the schedule (Karras et al.
2022 feed ``log(sigma) / 4``).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._types import Scalar
from .._validate import positive, positive_int
from ..errors import ConfigError
from ..noise import NoiseProcess


class SinusoidalEmbedding(eqx.Module):
    """Sinusoidal features of ``t`` or of ``log sigma(t)``; output shape ``(size,)``.

    Args:
        size: number of features (even).
        of: ``"t"`` or ``"log_sigma"`` (needs ``process``).
        process: the noise process, to compute ``sigma(t)``.
        min_frequency, max_frequency: range of the angular frequencies ``w_k``.

    Example:
        >>> SinusoidalEmbedding(16)(0.5).shape
        (16,)
    """

    frequencies: Float[Array, " k"]
    of: str = eqx.field(static=True)
    process: NoiseProcess | None

    def __init__(
        self,
        size: int = 16,
        of: Literal["t", "log_sigma"] = "t",
        process: NoiseProcess | None = None,
        min_frequency: float = 1.0,
        max_frequency: float = 32.0,
    ):
        size = positive_int(size, "embedding.size")
        if size % 2:
            raise ConfigError("embedding.size", f"is {size}", "use an even number of features")
        if of not in ("t", "log_sigma"):
            raise ConfigError("embedding.of", f"is {of!r}", "choose 't' or 'log_sigma'")
        if of == "log_sigma" and process is None:
            raise ConfigError(
                "embedding.process", "is needed to embed log sigma", "pass the noise process"
            )
        positive(min_frequency, "embedding.min_frequency")
        positive(max_frequency, "embedding.max_frequency")
        self.frequencies = jnp.asarray(np.geomspace(min_frequency, max_frequency, size // 2))
        self.of, self.process = of, process

    def __call__(self, t: Scalar) -> Float[Array, " size"]:
        u = jnp.log(self.process.sigma(t)) if self.of == "log_sigma" else jnp.asarray(t, float)
        phases = self.frequencies * u
        return jnp.concatenate([jnp.sin(phases), jnp.cos(phases)])
