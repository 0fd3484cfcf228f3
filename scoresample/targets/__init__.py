"""Targets with exact log densities and scores, and the registry of built-ins.

See :mod:`scoresample.targets._base` for the Target contract and its capabilities.
"""

from ._base import AbstractTarget as AbstractTarget
from ._base import ExactNoisedScore as ExactNoisedScore
from ._base import ExactSampler as ExactSampler
from ._base import KnownNormaliser as KnownNormaliser
from ._base import MeanFree as MeanFree
from ._base import NoisedMarginal as NoisedMarginal
from ._base import ParticleSystem as ParticleSystem
from ._base import Target as Target
from ._base import capabilities as capabilities
from .banana import Banana as Banana
from .banana import banana as banana
from .custom import LogDensityTarget as LogDensityTarget
from .custom import NumPyroTarget as NumPyroTarget
from .custom import from_log_prob as from_log_prob
from .custom import from_numpyro as from_numpyro
from .funnel import Funnel as Funnel
from .funnel import funnel as funnel
from .gaussian import Gaussian as Gaussian
from .kde import kde as kde
from .kde import kde_bandwidth as kde_bandwidth
from .mixture import GaussianMixture as GaussianMixture
from .mixture import gmm40 as gmm40
from .mixture import mixture_1d as mixture_1d
from .mixture import ncsn_toy as ncsn_toy
from .moons import two_moons_target as two_moons_target
from .particles import DoubleWellParticles as DoubleWellParticles
from .particles import LennardJones as LennardJones
from .particles import dw4 as dw4
from .particles import lj13 as lj13
from .particles import lj55 as lj55
from .registry import TargetInfo as TargetInfo
from .registry import builtin_targets as builtin_targets
from .registry import make_target as make_target
from .registry import so3_mixture as so3_mixture
from .registry import torus_mixture as torus_mixture
from .transformed import TransformedMixture as TransformedMixture
from .transformed import lognormal_mixture as lognormal_mixture
from .wells import ManyWell as ManyWell
from .wells import double_well as double_well
from .wells import many_well as many_well
