"""scoresample: sampling from probability densities through their scores.

- :mod:`scoresample.targets`: exact targets (mixtures with noised marginals, wells,
  DW-4, LJ-13, funnel, NumPyro models, user log densities).
- :mod:`scoresample.noise`, :mod:`scoresample.networks`, :mod:`scoresample.objectives`,
  :func:`scoresample.fit`: learned scores by DSM, TSM, kappa mixtures, ISM and SSM;
  :func:`scoresample.fit_data_free`: from the energy alone (DEM, iDEM's loop), with an
  :class:`scoresample.EnergyLedger` of what it cost.
- :mod:`scoresample.samplers`: ULA, annealed Langevin, reverse diffusion, MALA, HMC and
  NUTS over many chains and devices, into :class:`scoresample.Chains`.
- :mod:`scoresample.diagnostics`: ArviZ summaries, metrics beside their floors, plots.

See ``README.md``, ``models/`` and ``tutorials/``.

Names load on first use (PEP 562), so ``import scoresample`` and the command's
``--help`` do not pay for ArviZ, matplotlib or NumPyro until something needs them.
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Subpackages, and public names with the module that defines them.
_SUBMODULES = (
    "diagnostics",
    "estimators",
    "networks",
    "noise",
    "objectives",
    "samplers",
    "targets",
)
_NAMES = {
    "Chains": "chains",
    "DataFreeResult": "data_free",
    "fit_data_free": "data_free",
    "two_moons": "datasets",
    "load_chains": "diagnostics",
    "sample_quality": "diagnostics",
    "save_chains": "diagnostics",
    "summary": "diagnostics",
    "to_inference_data": "diagnostics",
    "ConfigError": "errors",
    "DataError": "errors",
    "NonFiniteError": "errors",
    "OutputError": "errors",
    "ScoresampleError": "errors",
    "EnergyLedger": "ledger",
    "VE": "noise",
    "VP": "noise",
    "FixedLevel": "noise",
    "make_sampler": "samplers",
    "refine": "samplers",
    "reweight": "samplers",
    "run": "samplers",
    "FitResult": "training",
    "fit": "training",
}
__all__ = [*_SUBMODULES, *_NAMES, "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'scoresample' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and IDEs see
    from . import diagnostics as diagnostics
    from . import estimators as estimators
    from . import networks as networks
    from . import noise as noise
    from . import objectives as objectives
    from . import samplers as samplers
    from . import targets as targets
    from .chains import Chains as Chains
    from .data_free import DataFreeResult as DataFreeResult
    from .data_free import fit_data_free as fit_data_free
    from .datasets import two_moons as two_moons
    from .diagnostics import load_chains as load_chains
    from .diagnostics import sample_quality as sample_quality
    from .diagnostics import save_chains as save_chains
    from .diagnostics import summary as summary
    from .diagnostics import to_inference_data as to_inference_data
    from .errors import ConfigError as ConfigError
    from .errors import DataError as DataError
    from .errors import NonFiniteError as NonFiniteError
    from .errors import OutputError as OutputError
    from .errors import ScoresampleError as ScoresampleError
    from .ledger import EnergyLedger as EnergyLedger
    from .noise import VE as VE
    from .noise import VP as VP
    from .noise import FixedLevel as FixedLevel
    from .samplers import make_sampler as make_sampler
    from .samplers import refine as refine
    from .samplers import reweight as reweight
    from .samplers import run as run
    from .training import FitResult as FitResult
    from .training import fit as fit
