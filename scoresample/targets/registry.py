"""Built-in targets by name, with their dimension and capabilities."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from ._base import capabilities
from .banana import banana
from .funnel import funnel
from .gaussian import Gaussian
from .mixture import gmm40, mixture_1d, ncsn_toy
from .moons import two_moons_target
from .particles import dw4, lj13, lj55
from .wells import double_well, many_well


def _gaussian(dim: int = 2, scale: float = 1.0) -> Gaussian:
    """Isotropic Gaussian ``N(0, scale^2 I)``."""
    return Gaussian.standard(dim, scale)


def _mixture_1d(weights=(0.6, 0.4), means=(2.0, -2.0), scales=(0.5, 0.2)):
    """1-D Gaussian mixture (default ``0.6 N(2, 0.5^2) + 0.4 N(-2, 0.2^2)``)."""
    return mixture_1d(weights, means, scales)


def so3_mixture(scales=(0.3, 0.5, 0.25)):
    """Three IGSO(3) components on SO(3) (rotation vectors; weights 0.5, 0.3, 0.2)."""
    from ..groups.so3 import IGSO3Mixture  # the groups build on the targets

    means = [[0.3, -1.0, 0.5], [2.0, 0.4, -0.2], [-0.5, 0.6, -2.2]]
    return IGSO3Mixture([0.5, 0.3, 0.2], means, scales)


def torus_mixture():
    """Three wrapped Gaussians on the torus T^2 (weights 0.5, 0.3, 0.2)."""
    from ..groups.torus import WrappedGaussianMixture

    means = [[0.4, 2.8], [-2.5, -1.0], [3.0, 0.5]]
    return WrappedGaussianMixture([0.5, 0.3, 0.2], means, [[0.3, 0.5], [0.6, 0.25], [0.4, 0.4]])


BUILTIN: dict[str, Callable] = {
    "gaussian": _gaussian,
    "ncsn_toy": ncsn_toy,
    "mixture_1d": _mixture_1d,
    "gmm40": gmm40,
    "double_well": double_well,
    "many_well": many_well,
    "dw4": dw4,
    "lj13": lj13,
    "lj55": lj55,
    "funnel": funnel,
    "banana": banana,
    "two_moons": two_moons_target,
    "so3_mixture": so3_mixture,
    "torus_mixture": torus_mixture,
}


@dataclass(frozen=True)
class TargetInfo:
    """What ``scoresample targets`` lists for one built-in."""

    name: str
    dim: int
    capabilities: tuple[str, ...]
    parameters: tuple[str, ...]
    summary: str


def make_target(name: str, **params):
    """Build the built-in target ``name`` with keyword ``params``.

    Raises:
        ConfigError: unknown name (with a did-you-mean) or unknown parameter.
    """
    if name not in BUILTIN:
        close = difflib.get_close_matches(name, BUILTIN, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(BUILTIN)}"
        raise ConfigError("target.name", f"unknown target {name!r}", hint)
    factory = BUILTIN[name]
    accepted = inspect.signature(factory).parameters
    for key in params:
        if key not in accepted:
            allowed = ", ".join(accepted) or "none"
            raise ConfigError(
                f"target.{key}",
                f"{name} has no parameter {key!r}",
                f"its parameters are: {allowed}",
            )
    return factory(**params)


def builtin_targets() -> list[TargetInfo]:
    """Every built-in target with its default dimension and capabilities."""
    infos = []
    for name, factory in BUILTIN.items():
        target = factory()
        summary = (inspect.getdoc(factory) or "").splitlines()[0]
        infos.append(
            TargetInfo(
                name,
                target.dim,
                tuple(capabilities(target)),
                tuple(inspect.signature(factory).parameters),
                summary,
            )
        )
    return infos
