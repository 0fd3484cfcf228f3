"""Monte Carlo score identities: the noised score ``grad log p_t(y)`` as an average.

- :mod:`.posterior`: DSI, TSI and kappa from exact posterior draws ``x ~ p(x | y)``
  (Gaussian and mixture targets), to study the identities themselves;
- :mod:`.importance`: the same identities from importance-weighted proposals, which need
  only the energy: the estimators that data-free training (iDEM) regresses on;
- :mod:`.laplace`: the within-mode scale that kappa-bar needs, from the energy alone.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3.
"""

from .importance import ImportanceEstimate as ImportanceEstimate
from .importance import clip_norm as clip_norm
from .importance import importance_score as importance_score
from .importance import importance_score_identities as importance_score_identities
from .importance import importance_terms as importance_terms
from .laplace import LaplaceFit as LaplaceFit
from .laplace import laplace_fit as laplace_fit
from .laplace import laplace_scale as laplace_scale
from .posterior import ScoreEstimate as ScoreEstimate
from .posterior import estimate_score as estimate_score
from .posterior import identity_terms as identity_terms
from .posterior import score_identities as score_identities
