"""How samples share their mass among the modes of a multimodal target.

Score-based discrepancies cannot see mode weights; these metrics can:

- Gaussian mixtures: :func:`mode_weights` (mean responsibility of each component) and
  :func:`mode_weight_tv`, their total-variation error against the true weights.
- Many-well targets: :func:`well_fractions`, the fraction of samples in the right-hand
  well (``x1 > 0``) of each double well, and :func:`well_fraction_error`.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike

from ...targets.wells import P_RIGHT_WELL
from ._arrays import as_target_samples, to_jax


def mode_weights(samples: ArrayLike, mixture) -> np.ndarray:
    """Estimated component weights ``w_k = mean_i r_k(x_i)`` under ``mixture``.

    Args:
        samples: ``(n, d)`` samples.
        mixture: a :class:`~scoresample.targets.GaussianMixture`.

    Returns:
        ``(K,)`` float64 weights summing to 1.

    Example:
        >>> mode_weights(ncsn_toy().sample(key, 10_000), ncsn_toy())  # about [0.8, 0.2]
    """
    x = as_target_samples(samples, mixture)
    return np.asarray(mixture.mode_weights(to_jax(x)), dtype=np.float64)


def mode_weight_tv(samples: ArrayLike, mixture) -> float:
    """Total-variation error of the mode weights, ``0.5 sum_k |w_hat_k - w_k|``.

    For exact samples it is of order ``sqrt(K / n)``; all mass in one of two equal
    modes gives 0.5.

    Example:
        >>> mode_weight_tv(samples, ncsn_toy())
    """
    true = np.asarray(mixture.weights, dtype=np.float64)
    return float(0.5 * np.sum(np.abs(mode_weights(samples, mixture) - true)))


def well_fractions(samples: ArrayLike, many_well) -> np.ndarray:
    """Fraction of samples in the right-hand well (``x1 > 0``) of each double well.

    Args:
        samples: ``(n, 2 * n_wells)`` samples.
        many_well: a :class:`~scoresample.targets.ManyWell`.

    Returns:
        ``(n_wells,)`` fractions; the exact value is 0.844307 for every well.
    """
    x = as_target_samples(samples, many_well)
    return np.asarray(many_well.well_signs(x), dtype=np.float64).mean(axis=0)


def well_fraction_error(samples: ArrayLike, many_well) -> float:
    """Mean over wells of ``|fraction in the right well - 0.844307|`` (a per-well TV)."""
    return float(np.mean(np.abs(well_fractions(samples, many_well) - P_RIGHT_WELL)))
