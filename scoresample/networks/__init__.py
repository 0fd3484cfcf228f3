"""Score and energy networks (equinox Modules); each is a ScoreFn ``model(y, t) -> (d,)``."""

from .base import EnergyNetwork as EnergyNetwork
from .base import ScoreNetwork as ScoreNetwork
from .egnn import EGNNEnergy as EGNNEnergy
from .egnn import EGNNScore as EGNNScore
from .embedding import SinusoidalEmbedding as SinusoidalEmbedding
from .energy import EnergyMLP as EnergyMLP
from .mlp import ACTIVATIONS as ACTIVATIONS
from .mlp import MLP as MLP
from .mlp import ScoreMLP as ScoreMLP
from .so3 import SO3ScoreMLP as SO3ScoreMLP
from .torus import TorusScoreMLP as TorusScoreMLP
