"""Objectives by name, for configuration files and the command line."""

from __future__ import annotations

from ..errors import ConfigError
from ..noise import NoiseProcess
from ._base import Objective
from .dem import DEM
from .dsm import DSM, dsm_s
from .esm import ESM
from .ism import ISM
from .kappa import KappaMixture
from .ssm import SSM
from .tsm import TSM

_FACTORIES = {
    "dsm": DSM,
    "dsm_s": dsm_s,
    "tsm": TSM,
    "kappa": KappaMixture,
    "ism": ISM,
    "ssm": SSM,
    "ssm_vr": lambda process, **options: SSM(process, variance_reduced=True, **options),
    "esm": ESM,
    "dem": DEM,
}

OBJECTIVES = tuple(_FACTORIES)


def make_objective(name: str, process: NoiseProcess, **options) -> Objective:
    """Build an objective by name; ``options`` go to its constructor.

    Names: ``dsm``, ``dsm_s``, ``tsm``, ``kappa`` (needs ``kappa=``), ``ism``, ``ssm``,
    ``ssm_vr``, ``esm`` (needs ``noised_score=``), ``dem`` (needs ``target=``; for
    :func:`scoresample.fit_data_free`).

    Example:
        >>> make_objective("ism", VE(0.01, 10.0), divergence="hutchinson", n_probes=2)
    """
    if name not in _FACTORIES:
        raise ConfigError("objective", f"unknown name {name!r}", f"choose one of {OBJECTIVES}")
    try:
        return _FACTORIES[name](process, **options)
    except TypeError as exc:
        raise ConfigError(
            f"objective.{name}", f"got options it does not take ({exc})", "see its docstring"
        ) from None
