"""Diagnostics: ArviZ for every chain, sample-quality metrics, and plots.

- :mod:`.arviz` (the only module that imports ArviZ): the one conversion layer,
  :func:`to_inference_data`, :func:`as_chains`, :func:`save_chains`,
  :func:`load_chains`, for any run: our Chains, arrays, dicts of arrays,
  InferenceData / DataTree, NumPyro MCMC, netCDF files (read by :mod:`.netcdf`).
- :mod:`.convergence`: :func:`summary` of any run with plain-language warnings;
  independent particles get the i.i.d. table of :mod:`.independent`; :mod:`.draws`
  flattens a posterior and centres mean-free targets.
- :mod:`.metrics`: MMD, energy distance, W2, sliced W2, KSD, mode weights, well
  fractions, particle metrics, efficiency, and :func:`sample_quality` with floors.
- :mod:`.plots`: PNG figures of samples, marginals, chains, training and score fields.
"""

from . import metrics as metrics
from . import plots as plots
from .arviz import SUMMARY_COLUMNS as SUMMARY_COLUMNS
from .arviz import as_chains as as_chains
from .arviz import load_chains as load_chains
from .arviz import save_chains as save_chains
from .arviz import to_inference_data as to_inference_data
from .convergence import ChainSummary as ChainSummary
from .convergence import summary as summary
from .metrics import QualityReport as QualityReport
from .metrics import sample_quality as sample_quality
