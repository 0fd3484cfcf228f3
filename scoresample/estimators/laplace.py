"""The within-mode scale of a density from its energy alone (a Laplace approximation).

Kappa-bar's Gaussian kappa needs the scale ``s`` of one mode (De Bortoli et al. 2024,
Sec. 3.2), which a user of a Boltzmann density rarely knows. The energy ``E = -log p~``
gives it: at a local minimum ``x*`` the mode is ``N(x*, H^-1)`` to second order, with
``H`` the Hessian of ``E``, so ``s^2 = mean(1 / lambda)`` over ``H``'s eigenvalues is the
mode's mean variance per coordinate. The eigenvalues of exact symmetries (a particle
system's translations and rotations: flat directions, ``lambda ~ 0``) are left out.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, Sec. 3.2;
    Laplace approximation: MacKay (2003), Information theory, inference and learning
    algorithms, Ch. 27.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from ..errors import DataError

#: Eigenvalues below this fraction of the largest are flat directions (symmetries). On
#: DW-4 the translations and rotation leave 1e-6 to 2e-4 beside 12 to 67 at the minimum.
FLAT_FRACTION = 1e-3


class LaplaceFit(NamedTuple):
    """The within-mode ``scale``, the local ``minimum`` it was measured at, and the
    ``energy_evals`` it cost: L-BFGS's energy and gradient evaluations, and ``d`` for the
    Hessian (one Hessian-vector product per coordinate, each the cost of a gradient)."""

    scale: float
    minimum: np.ndarray
    energy_evals: int


def laplace_scale(log_prob: Callable, start, *, flat_fraction: float = FLAT_FRACTION) -> float:
    """``sqrt(mean(1 / lambda))`` over the positive eigenvalues of the energy's Hessian at
    the local minimum that L-BFGS reaches from ``start`` (:func:`laplace_fit`'s scale).

    Args:
        log_prob: ``log p~(x)`` of one position (unnormalised).
        start: ``(d,)`` starting point of the descent.
        flat_fraction: eigenvalues at most this fraction of the largest are taken as flat
            directions (exact symmetries) and left out.

    Returns:
        The within-mode scale ``s`` (one number; kappa-bar's ``score.kappa_sigma``).

    Example:
        gmm40's modes are ``N(mu_k, softplus(1)^2 I)``, so the scale is softplus(1) = 1.3133
        up to the pull of the neighbouring modes:

        >>> from scoresample.targets import gmm40
        >>> start = 20.0 * jax.random.normal(jax.random.PRNGKey(0), (2,))
        >>> abs(laplace_scale(gmm40().log_prob, start) - 1.3133) < 0.01
        True
    """
    return laplace_fit(log_prob, start, flat_fraction=flat_fraction).scale


def laplace_fit(log_prob: Callable, start, *, flat_fraction: float = FLAT_FRACTION) -> LaplaceFit:
    """:func:`laplace_scale` with the minimum it was measured at and what it cost."""
    energy = jax.jit(lambda x: -log_prob(x))
    gradient = jax.jit(jax.grad(energy))
    found = scipy.optimize.minimize(
        lambda x: float(energy(jnp.asarray(x))),
        np.asarray(start, np.float64),
        jac=lambda x: np.asarray(gradient(jnp.asarray(x)), np.float64),
        method="L-BFGS-B",
    )
    hessian = np.asarray(jax.hessian(energy)(jnp.asarray(found.x)), np.float64)
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    curved = eigenvalues[eigenvalues > flat_fraction * eigenvalues.max()]
    if curved.size == 0 or not np.all(np.isfinite(curved)):
        raise DataError(
            "start",
            f"leads L-BFGS to {found.x[:4]}..., where the energy has no finite curvature",
            "start nearer a mode of the target",
        )
    evals = int(found.nfev) + int(found.njev) + hessian.shape[0]
    return LaplaceFit(float(np.sqrt(np.mean(1.0 / curved))), found.x, evals)
