"""Samplers: turn a score (exact or learned) or a log density into chains.

BlackJAX's ``SamplingAlgorithm`` is the one sampler contract. HMC and NUTS come from
BlackJAX, MALA with a preconditioner is built from BlackJAX's parts, all three with Stan's
window adaptation; ULA, annealed Langevin and reverse diffusion are written here in
BlackJAX's three-layer shape (``<Algo>State``, ``<Algo>Info``, ``init``,
``build_kernel``, ``as_top_level_api``), one module each. :func:`make_sampler` names one
with its settings (:mod:`.registry`, the one place that knows them); :func:`run` runs
many chains of it, or of any BlackJAX ``SamplingAlgorithm``, sharded over devices, into
:class:`~scoresample.chains.Chains`. The model's role is explicit (:mod:`.model`).
A learned sampler's draws are corrected by the exact target with :func:`refine`
(Metropolis steps) or :func:`reweight` (importance weights by the probability-flow ODE's
density: :mod:`.flow_density`, :mod:`.reweight`).

Example:
    >>> from scoresample import samplers, targets
    >>> spec = samplers.make_sampler("nuts", num_warmup=500, num_samples=1000)
    >>> chains = samplers.run(spec, jax.random.PRNGKey(0), targets.ncsn_toy())
"""

from . import annealed_langevin as annealed_langevin
from . import hmc as hmc
from . import mala as mala
from . import mean_free as mean_free
from . import nuts as nuts
from . import reverse_diffusion as reverse_diffusion
from . import ula as ula
from ._programs import clear_compiled as clear_compiled
from .base import Sampler as Sampler
from .flow_density import FlowDensity as FlowDensity
from .flow_density import flow_log_density as flow_log_density
from .flow_density import flow_sample as flow_sample
from .mean_free import MeanFreeCoordinates as MeanFreeCoordinates
from .model import SamplingModel as SamplingModel
from .model import sampling_model as sampling_model
from .refine import refine as refine
from .registry import SAMPLERS as SAMPLERS
from .registry import SamplerSpec as SamplerSpec
from .registry import make_sampler as make_sampler
from .registry import sampler_settings as sampler_settings
from .relax import Relaxed as Relaxed
from .relax import relax as relax
from .reweight import Reweighted as Reweighted
from .reweight import importance_weights as importance_weights
from .reweight import kish_ess as kish_ess
from .reweight import log_normaliser as log_normaliser
from .reweight import reweight as reweight
from .run import NonFiniteWarning as NonFiniteWarning
from .run import run as run
from .ula import step_size_from_paper as step_size_from_paper
