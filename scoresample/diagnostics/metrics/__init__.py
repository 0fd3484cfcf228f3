"""Sample-quality metrics: sample arrays in, floats out.

- Two-sample: :func:`mmd2`, :func:`energy_distance`, :func:`wasserstein2`,
  :func:`sliced_wasserstein2`.
- Against a score, no reference samples: :func:`ksd` (blind to mode weights).
- Target-specific: :func:`mode_weights`, :func:`mode_weight_tv` (mixtures),
  :func:`well_fractions`, :func:`well_fraction_error` (many-well),
  :func:`particle_metrics` (DW-4, LJ-13).
- Cost: :func:`efficiency` (ESS per gradient evaluation and per second).
- :func:`sample_quality`: every metric that applies, beside its floor.
"""

from .efficiency import Efficiency as Efficiency
from .efficiency import efficiency as efficiency
from .floors import QualityReport as QualityReport
from .floors import sample_quality as sample_quality
from .kernel import energy_distance as energy_distance
from .kernel import ksd as ksd
from .kernel import median_bandwidth as median_bandwidth
from .kernel import mmd2 as mmd2
from .modes import mode_weight_tv as mode_weight_tv
from .modes import mode_weights as mode_weights
from .modes import well_fraction_error as well_fraction_error
from .modes import well_fractions as well_fractions
from .particles import energies as energies
from .particles import histogram_tv as histogram_tv
from .particles import interatomic_distances as interatomic_distances
from .particles import particle_metrics as particle_metrics
from .transport import sliced_wasserstein2 as sliced_wasserstein2
from .transport import wasserstein2 as wasserstein2
from .transport import wasserstein_1d as wasserstein_1d
