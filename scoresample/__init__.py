"""scoresample: sampling from probability densities through their scores.

Exact targets (:mod:`scoresample.targets`), learned scores, BlackJAX samplers and
ArviZ diagnostics. See ``README.md`` and ``tutorials/``.
"""

from . import targets as targets
from .datasets import two_moons as two_moons
from .errors import ConfigError as ConfigError
from .errors import DataError as DataError
from .errors import NonFiniteError as NonFiniteError
from .errors import OutputError as OutputError
from .errors import ScoresampleError as ScoresampleError

__version__ = "0.1.0"
