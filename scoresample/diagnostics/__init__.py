"""Diagnostics: ArviZ for every chain, sample-quality metrics, and plots.

- :mod:`.arviz` (the only module that imports ArviZ): :func:`to_inference_data`,
  :func:`summary`, :func:`save_chains`, :func:`load_chains`.
- :mod:`.metrics`: MMD, energy distance, W2, sliced W2, KSD, mode weights, well
  fractions, particle metrics, efficiency, and :func:`sample_quality` with floors.
- :mod:`.plots`: PNG figures of samples, marginals, chains, training and score fields.
"""

from . import metrics as metrics
from . import plots as plots
from .arviz import SUMMARY_COLUMNS as SUMMARY_COLUMNS
from .arviz import load_chains as load_chains
from .arviz import save_chains as save_chains
from .arviz import summary as summary
from .arviz import to_inference_data as to_inference_data
from .convergence import ChainSummary as ChainSummary
from .metrics import QualityReport as QualityReport
from .metrics import sample_quality as sample_quality
