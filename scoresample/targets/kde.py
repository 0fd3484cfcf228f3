"""A Gaussian kernel density estimate of data, as a target with exact noised scores.

``q(x) = (1/m) sum_k N(x; x_k, h^2 I)``: an equal-weight Gaussian mixture with one
component per data point, so its score, and the score of its noised marginal
``q_t = (1/m) sum_k N(alpha x_k, (alpha^2 h^2 + sigma^2) I)`` at every noise level, are
exact and cheap. Explicit score matching against it (``objectives.kde_esm``) is the
lecture's KDE-ESM: the unknown data score replaced by the KDE's.

The bandwidth rules are the ones ``scipy.stats.gaussian_kde`` applies to the data
covariance, here to an isotropic one, ``s^2 I`` with ``s^2`` the mean of the
coordinates' variances (ddof 1):

- Scott (1992): ``h = s m^(-1/(d+4))``;
- Silverman (1986): ``h = s (m (d + 2) / 4)^(-1/(d+4))``.

Both shrink only as ``m^(-1/(d+4))``: in high dimension a KDE of a few thousand points is
a poor density estimate, and its score a poor score (tutorial 5 measures how poor).

References:
    Scott (1992), Multivariate Density Estimation, Eq. 6.42; Silverman (1986), Density
    Estimation for Statistics and Data Analysis, Eq. 4.14; Beigy, lecture on score-based
    models (explicit score matching with a KDE).
"""

from __future__ import annotations

import numpy as np

from .._validate import finite_array
from ..errors import ConfigError
from .mixture import GaussianMixture

#: Bandwidth rules by name: ``m, d -> h / s``.
BANDWIDTH_RULES = {
    "scott": lambda m, d: m ** (-1.0 / (d + 4)),
    "silverman": lambda m, d: (m * (d + 2) / 4.0) ** (-1.0 / (d + 4)),
}


def kde_bandwidth(data, rule: str | float = "scott") -> float:
    """The bandwidth ``h`` of a Gaussian KDE of ``data`` (``(m, d)``) by ``rule``
    (``"scott"``, ``"silverman"``, or a positive number, returned as it is).

    Example:
        >>> kde_bandwidth(x, "silverman")
    """
    if not isinstance(rule, str):
        if not np.isfinite(rule) or rule <= 0:
            raise ConfigError("bandwidth", f"is {rule}", "give a positive number")
        return float(rule)
    if rule not in BANDWIDTH_RULES:
        raise ConfigError(
            "bandwidth", f"unknown rule {rule!r}", f"use {tuple(BANDWIDTH_RULES)} or a number"
        )
    x = _data(data)
    m, d = x.shape
    spread = float(np.sqrt(np.mean(np.var(x, axis=0, ddof=1))))
    return spread * BANDWIDTH_RULES[rule](m, d)


def kde(data, bandwidth: str | float = "scott") -> GaussianMixture:
    """The Gaussian KDE of ``data`` (``(m, d)``) with ``bandwidth`` (a rule of
    :func:`kde_bandwidth` or a number), as a :class:`GaussianMixture` (exact score,
    log density, samples and noised marginals).

    Example:
        >>> q = kde(x, "scott")
        >>> q.noised(alpha=1.0, sigma=0.1).score(y)  # the score KDE-ESM regresses on
    """
    x = _data(data)
    h = kde_bandwidth(x, bandwidth)
    m = x.shape[0]
    return GaussianMixture(np.full(m, 1.0 / m), x, np.full(m, h))


def _data(data) -> np.ndarray:
    x = finite_array(data, "data", ndim=2)
    if x.shape[0] < 2:
        raise ConfigError("data", f"has {x.shape[0]} point", "give at least two points")
    return x
