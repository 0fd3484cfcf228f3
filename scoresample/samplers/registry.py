"""Samplers by name: ``make_sampler("nuts", num_warmup=500)`` from Python or a TOML table.

A :class:`SamplerSpec` is a sampler name with its validated settings (defaults filled
in); :func:`scoresample.samplers.run` turns it into chains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..errors import ConfigError
from . import annealed_langevin, hmc, mala, nuts, reverse_diffusion, ula
from ._settings import did_you_mean, validate

#: Name -> module with ``SETTINGS`` and ``plan``.
SAMPLERS: dict[str, ModuleType] = {
    "mala": mala,
    "hmc": hmc,
    "nuts": nuts,
    "ula": ula,
    "annealed_langevin": annealed_langevin,
    "reverse_diffusion": reverse_diffusion,
}


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler ``name`` and its complete, validated ``settings``.

    Build with :func:`make_sampler`; change settings with :meth:`replace`.
    """

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> ModuleType:
        """The algorithm module (``SETTINGS``, ``plan`` and the BlackJAX-shaped API)."""
        return SAMPLERS[self.name]

    def replace(self, **changes: Any) -> SamplerSpec:
        """A copy with some settings changed (and checked again)."""
        return make_sampler(self.name, **{**self.settings, **changes})


def make_sampler(name: str, **settings: Any) -> SamplerSpec:
    """A validated sampler by ``name`` (``mala``, ``hmc``, ``nuts``, ``ula``,
    ``annealed_langevin``, ``reverse_diffusion``) with keyword ``settings``.

    Raises:
        ConfigError: an unknown name or setting (with a did-you-mean), or a bad value
            (e.g. a non-positive step size or step count).

    Example:
        >>> spec = make_sampler("nuts", num_warmup=500, num_samples=1000, n_chains=4)
        >>> spec.settings["target_acceptance_rate"]
        0.8
    """
    return SamplerSpec(name, validate(name, _module(name).SETTINGS, settings))


def sampler_settings(name: str) -> dict[str, tuple[Any, str]]:
    """``{setting: (default, help)}`` of the sampler ``name``, for documentation and CLIs."""
    return {key: (s.default, s.doc) for key, s in _module(name).SETTINGS.items()}


def _module(name: str) -> ModuleType:
    if name not in SAMPLERS:
        raise ConfigError("sampler.name", f"unknown sampler {name!r}", did_you_mean(name, SAMPLERS))
    return SAMPLERS[name]
