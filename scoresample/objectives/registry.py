"""Objectives by name, for configuration files and the command line."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..noise import NoiseProcess
from ._base import Objective
from .dem import DEM
from .dsm import DSM, dsm_s
from .esm import ESM, kde_esm
from .ism import ISM
from .kappa import KappaMixture
from .so3 import SO3DSM, SO3TSM
from .ssm import SSM
from .torus import TorusDSM, TorusTSM
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
    "kde_esm": kde_esm,
    "dem": DEM,
}

OBJECTIVES = tuple(_FACTORIES)

#: On a Lie group (a target's ``group.name``): what ``tsm`` and ``dsm`` mean there.
_ON_GROUP = {
    "so3": {"tsm": SO3TSM, "dsm": SO3DSM},
    "torus": {"tsm": TorusTSM, "dsm": TorusDSM},
}


def make_objective(name: str, process: NoiseProcess, group=None, **options) -> Objective:
    """Build an objective by name; ``options`` go to its constructor.

    Names: ``dsm``, ``dsm_s``, ``tsm``, ``kappa`` (needs ``kappa=``), ``ism``, ``ssm``,
    ``ssm_vr``, ``esm`` (needs ``noised_score=``), ``kde_esm`` (needs ``data=``; option
    ``bandwidth``), ``dem`` (needs ``target=``; for
    :func:`scoresample.fit_data_free`). On a Lie ``group`` (a target's ``group``), ``tsm``
    and ``dsm`` are the group's (Prop. 3.3 and the heat kernel's score), with VE noise.

    Example:
        >>> from scoresample.noise import VE
        >>> loss = make_objective("dsm", VE(0.01, 10.0))
        >>> value, aux = loss(lambda y, t: -y, jnp.ones(2), 0.5, jax.random.PRNGKey(0))
        >>> value.shape, sorted(aux)
        ((), ['fitting', 'norm'])
    """
    factories = _FACTORIES if group is None else _ON_GROUP[group.name]
    if name not in factories:
        where = "" if group is None else f" on {group.name}"
        raise ConfigError(
            "objective", f"unknown name {name!r}{where}", f"choose one of {tuple(factories)}"
        )
    if group is not None and not np.allclose(process.alpha(np.float32(0.5)), 1.0):
        raise ConfigError(
            "process", f"contracts (alpha < 1) on {group.name}", 'use VE noise (process = "ve")'
        )
    try:
        return factories[name](process, **options)
    except TypeError as exc:
        raise ConfigError(
            f"objective.{name}", f"got options it does not take ({exc})", "see its docstring"
        ) from None
