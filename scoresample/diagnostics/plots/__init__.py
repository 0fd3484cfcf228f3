"""Figures a person would rather look at than read, saved as PNG (atomically).

Every function returns a matplotlib ``Figure`` (built on an Agg canvas, no pyplot) and
writes it to ``path`` when one is given.

- Samples: :func:`plot_samples` (over density contours, pairs beyond 2-D),
  :func:`plot_marginals` (histograms against exact marginals).
- Chains: :func:`plot_trace`, :func:`plot_rank`.
- Training: :func:`plot_training`, :func:`plot_score_field`,
  :func:`plot_estimator_variance`.
"""

from .chains import plot_rank as plot_rank
from .chains import plot_trace as plot_trace
from .samples import plot_marginals as plot_marginals
from .samples import plot_samples as plot_samples
from .training import plot_estimator_variance as plot_estimator_variance
from .training import plot_score_field as plot_score_field
from .training import plot_training as plot_training
