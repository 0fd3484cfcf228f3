"""Weightings ``lambda(t)`` of a score-matching loss over noise levels.

A training run minimises ``E_t [lambda(t) E || s(Y_t, t) - target ||^2]``; the per-example
objectives return the unweighted term and the training step multiplies by
``weighting(process, t)``. Every weighting is a callable ``(process, t) -> lambda``.

For Gaussian data of per-coordinate variance ``sigma_data^2`` the noised marginal has
variance ``v(t) = alpha^2 sigma_data^2 + sigma^2``. The EDM recipe (Karras et al. 2022,
Sec. 5 and App. B.6) picks the weighting that gives every noise level the same effective
weight once the network output is rescaled to unit-variance targets:
``lambda = 1 / c_out^2`` with ``c_out^2`` the least variance of the regression target
left after subtracting the best linear skip ``-y / v``. For the DSM target ``-eps / sigma``
this is ``c_out^2 = alpha^2 sigma_data^2 / (sigma^2 v)``; for the TSM target
``grad log p(x) / alpha`` it is ``c_out^2 = sigma^2 / (alpha^2 sigma_data^2 v)`` (the
"TSM-optimal" weighting of De Bortoli et al. 2024, App. D, derived here the same way).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._types import Scalar
from .._validate import finite_array, positive
from ..errors import ConfigError
from ..noise import FixedLevel, NoiseProcess

#: ``weighting(process, t) -> lambda(t)``.
Weighting = Callable[[NoiseProcess, Scalar], Scalar]


def sigma_squared(process: NoiseProcess, t) -> Scalar:
    """``lambda = sigma(t)^2``: every level's DSM loss is O(1) (Song & Ermon 2019, Eq. 6)."""
    return process.sigma(t) ** 2


def uniform(process: NoiseProcess, t) -> Scalar:
    """``lambda = 1``."""
    return jnp.ones_like(jnp.asarray(t, float))


def default_weighting(process: NoiseProcess) -> Weighting:
    """The weighting of an objective built without one: :func:`sigma_squared` across noise
    levels; :func:`uniform` at a :class:`~scoresample.noise.FixedLevel`.

    At one level any constant weight gives the same minimiser, and Adam is invariant to
    it except through its epsilon (a gradient scaled by ``c`` sees ``epsilon / c``):
    ``sigma^2 = 10^-8`` at ``sigma = 10^-4`` would make ISM's gradients as small as
    ``epsilon``. The weight 1 keeps the loss the objective itself.
    """
    return uniform if isinstance(process, FixedLevel) else sigma_squared


def inverse_sigma_squared(process: NoiseProcess, t) -> Scalar:
    """``lambda = 1 / sigma(t)^2``, the weighting the issue attributes to Song et al. (2021)."""
    return 1.0 / process.sigma(t) ** 2


def likelihood(process: NoiseProcess, t) -> Scalar:
    """``lambda = g(t)^2``: the weighted loss bounds the KL divergence of the model.

    References:
        Song, Durkan, Murray & Ermon (2021), Maximum likelihood training of score-based
        diffusion models, NeurIPS, Theorem 1.
    """
    return process.diffusion_squared(t)


def gaussian_variance(process: NoiseProcess, t, sigma_data: float) -> Scalar:
    """``v(t) = alpha(t)^2 sigma_data^2 + sigma(t)^2``, variance of noised Gaussian data."""
    return process.alpha(t) ** 2 * sigma_data**2 + process.sigma(t) ** 2


class EDM(eqx.Module):
    """DSM-optimal weighting ``lambda = sigma^2 v / (alpha^2 sigma_data^2)``.

    In the denoiser form of EDM (``alpha = 1``) this is Karras et al.'s
    ``(sigma^2 + sigma_data^2) / (sigma sigma_data)^2`` times the ``sigma^4`` that turns a
    denoiser error into a score error.

    References:
        Karras, Aittala, Aila & Laine (2022), Elucidating the design space of
        diffusion-based generative models, NeurIPS, Table 1 and App. B.6.
    """

    sigma_data: float = eqx.field(static=True)

    def __init__(self, sigma_data: float):
        positive(sigma_data, "weighting.sigma_data")
        self.sigma_data = float(sigma_data)

    def __call__(self, process: NoiseProcess, t) -> Scalar:
        variance = gaussian_variance(process, t, self.sigma_data)
        return process.sigma(t) ** 2 * variance / (process.alpha(t) * self.sigma_data) ** 2


class TSMOptimal(eqx.Module):
    """TSM-optimal weighting ``lambda = alpha^2 sigma_data^2 v / sigma^2``.

    Grows like ``1 / sigma^2`` at low noise, where the TSM target is nearly exact.

    References:
        De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching, App. D.
    """

    sigma_data: float = eqx.field(static=True)

    def __init__(self, sigma_data: float):
        positive(sigma_data, "weighting.sigma_data")
        self.sigma_data = float(sigma_data)

    def __call__(self, process: NoiseProcess, t) -> Scalar:
        variance = gaussian_variance(process, t, self.sigma_data)
        return (process.alpha(t) * self.sigma_data) ** 2 * variance / process.sigma(t) ** 2


class Relative(eqx.Module):
    """Relative-error weighting ``lambda = v(t) = alpha^2 sigma_data^2 + sigma^2``.

    For Gaussian data ``E|grad log p_t|^2 = d / v``, so every level's loss counts as a
    relative score error; it is the geometric mean of :class:`EDM` and :class:`TSMOptimal`,
    and suits objectives whose targets stay O(score) at every level (kappa mixtures).
    """

    sigma_data: float = eqx.field(static=True)

    def __init__(self, sigma_data: float):
        positive(sigma_data, "weighting.sigma_data")
        self.sigma_data = float(sigma_data)

    def __call__(self, process: NoiseProcess, t) -> Scalar:
        return gaussian_variance(process, t, self.sigma_data)


def sigma_data_of(samples) -> float:
    """``sigma_data``: root mean per-coordinate variance of ``samples`` ``(n, d)``."""
    return float(np.sqrt(np.mean(np.var(finite_array(samples, "samples", ndim=2), axis=0))))


_NAMED = {
    "sigma2": sigma_squared,
    "uniform": uniform,
    "inverse_sigma2": inverse_sigma_squared,
    "likelihood": likelihood,
}
_WITH_SIGMA_DATA = {"edm": EDM, "tsm": TSMOptimal, "relative": Relative}


def make_weighting(name: str, sigma_data: float | None = None) -> Weighting:
    """A weighting by name: ``sigma2``, ``uniform``, ``inverse_sigma2``, ``likelihood``,
    ``edm``, ``tsm`` or ``relative`` (the last three need ``sigma_data``).

    Example:
        >>> make_weighting("edm", sigma_data=1.0)(VE(0.01, 10.0), 0.5)
    """
    if name in _NAMED:
        return _NAMED[name]
    if name in _WITH_SIGMA_DATA:
        if sigma_data is None:
            raise ConfigError(
                "weighting.sigma_data",
                f"is required by the {name!r} weighting",
                "give the data's standard deviation (see sigma_data_of)",
            )
        return _WITH_SIGMA_DATA[name](sigma_data)
    raise ConfigError(
        "weighting",
        f"unknown name {name!r}",
        f"choose one of {sorted(_NAMED) + sorted(_WITH_SIGMA_DATA)}",
    )
