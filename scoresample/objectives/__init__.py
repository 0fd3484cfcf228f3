"""Score-matching objectives: per-example losses ``loss(score_fn, x, t, key) -> (value, aux)``.

See :mod:`scoresample.objectives._base` for the contract and
:mod:`scoresample.objectives.weighting` for ``lambda(t)``.
"""

from ..targets import ExactNoisedScore as ExactNoisedScore
from . import weighting as weighting
from ._base import Objective as Objective
from .bridge import BridgeMatching as BridgeMatching
from .dem import DEM as DEM
from .dsm import DSM as DSM
from .dsm import dsm_s as dsm_s
from .esm import ESM as ESM
from .esm import ScoreError as ScoreError
from .esm import kde_esm as kde_esm
from .esm import score_error as score_error
from .ism import ISM as ISM
from .ism import divergence_folx as divergence_folx
from .ism import divergence_hutchinson as divergence_hutchinson
from .ism import divergence_jvp as divergence_jvp
from .kappa import GaussianKappa as GaussianKappa
from .kappa import KappaMixture as KappaMixture
from .kappa import average_component_variance as average_component_variance
from .kappa import kappa_bar as kappa_bar
from .nonadditive import NonAdditiveDSM as NonAdditiveDSM
from .nonadditive import NonAdditiveTSM as NonAdditiveTSM
from .registry import OBJECTIVES as OBJECTIVES
from .registry import make_objective as make_objective
from .so3 import SO3DSM as SO3DSM
from .so3 import SO3TSM as SO3TSM
from .ssm import SSM as SSM
from .torus import TorusDSM as TorusDSM
from .torus import TorusTSM as TorusTSM
from .tsm import TSM as TSM
from .tsm import Preconditioned as Preconditioned
from .tsm import TargetInformed as TargetInformed
from .tsm import preconditioning as preconditioning
from .weighting import EDM as EDM
from .weighting import Relative as Relative
from .weighting import TSMOptimal as TSMOptimal
from .weighting import make_weighting as make_weighting
from .wrappers import NoiseAveraged as NoiseAveraged
from .wrappers import Recording as Recording
