"""Noise processes ``Y_t = alpha(t) X + sigma(t) W``, ``W ~ N(0, I)``, ``t`` in ``[0, 1]``.

- :class:`VE`: variance exploding, ``alpha = 1`` and geometric
  ``sigma(t) = sigma_min (sigma_max / sigma_min)^t`` (Song & Ermon 2019; Song et al. 2021).
- :class:`VP`: variance preserving with the cosine schedule ``alpha = cos(pi t / 2)``,
  ``sigma = sin(pi t / 2)`` (Nichol & Dhariwal 2021; De Bortoli et al. 2024).
- :class:`FixedLevel`: one noise level, ``alpha = 1`` and ``sigma(t) = sigma`` (score
  matching at a fixed noise scale, Vincent 2011).

Both are the marginals of the forward SDE ``dY = f(t) Y dt + g(t) dB`` with
``f = d log alpha / dt`` and ``g^2 = d sigma^2 / dt - 2 f sigma^2`` (Song et al. 2021,
Eq. 5; Kingma et al. 2021, App. A); :meth:`NoiseProcess.drift` and
:meth:`NoiseProcess.diffusion_squared` compute them by autodiff from the schedule, so a
new schedule needs only ``alpha`` and ``sigma``.

Noise levels for annealed Langevin dynamics follow Song & Ermon (2020), "Improved
techniques for training score-based generative models": :func:`max_pairwise_distance`
(Technique 1, ``sigma_1``), :func:`song_ermon_ratio` and :func:`song_ermon_levels`
(Technique 2, the number of levels) and :func:`song_ermon_step_size` (Technique 4).
:func:`time_sampler` chooses the training times (uniform, stratified, antithetic, fixed,
or NCSN levels).
"""

from __future__ import annotations

import abc
from statistics import NormalDist

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._types import Scalar
from ._validate import finite_array, positive, positive_int
from .errors import ConfigError


class NoiseProcess(eqx.Module):
    """A schedule ``(alpha(t), sigma(t))`` on ``t`` in ``[0, 1]``."""

    @abc.abstractmethod
    def alpha(self, t) -> Scalar:
        """Signal scale ``alpha(t)``."""

    @abc.abstractmethod
    def sigma(self, t) -> Scalar:
        """Noise scale ``sigma(t)``."""

    @abc.abstractmethod
    def t_of_sigma(self, sigma) -> Scalar:
        """The time at which the noise scale equals ``sigma`` (inverse of ``sigma(t)``)."""

    def noise_to_signal(self, t) -> Scalar:
        """``sigma(t) / alpha(t)``: the noise scale of ``Y_t / alpha(t) = X + (sigma / alpha) W``,
        the variance-exploding view of any process (Kingma et al. 2021, Sec. 3)."""
        return self.sigma(t) / self.alpha(t)

    @abc.abstractmethod
    def t_of_noise_to_signal(self, ratio) -> Scalar:
        """The time at which ``sigma(t) / alpha(t)`` equals ``ratio``."""

    def drift(self, t) -> Scalar:
        """``f(t) = d log alpha(t) / dt`` of the forward SDE ``dY = f Y dt + g dB``."""
        return jax.grad(lambda s: jnp.log(self.alpha(s)))(jnp.asarray(t, float))

    def diffusion_squared(self, t) -> Scalar:
        """``g(t)^2 = d sigma^2 / dt - 2 f(t) sigma(t)^2``."""
        t = jnp.asarray(t, float)
        d_var = jax.grad(lambda s: self.sigma(s) ** 2)(t)
        return d_var - 2.0 * self.drift(t) * self.sigma(t) ** 2

    def snr(self, t) -> Scalar:
        """Signal-to-noise ratio ``alpha(t)^2 / sigma(t)^2``."""
        return self.alpha(t) ** 2 / self.sigma(t) ** 2

    @property
    def t_range(self) -> tuple[float, float]:
        """Default training interval of ``t``: where ``alpha(t) > 0`` and ``sigma(t) > 0``."""
        return (0.0, 1.0)


class VE(NoiseProcess):
    """Variance exploding: ``alpha = 1``, ``sigma(t) = sigma_min (sigma_max / sigma_min)^t``.

    Example:
        >>> float(VE(0.01, 10.0).sigma(0.5))   # geometric midpoint sqrt(0.01 * 10)
        0.3162...
    """

    sigma_min: float = eqx.field(static=True)
    sigma_max: float = eqx.field(static=True)

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 10.0):
        positive(sigma_min, "noise.sigma_min")
        if not sigma_max > sigma_min:
            raise ConfigError(
                "noise.sigma_max",
                f"must exceed sigma_min = {sigma_min}, got {sigma_max}",
                "choose sigma_max > sigma_min",
            )
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)

    def alpha(self, t) -> Scalar:
        return jnp.ones_like(jnp.asarray(t, float))

    def sigma(self, t) -> Scalar:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** jnp.asarray(t, float)

    def t_of_sigma(self, sigma) -> Scalar:
        return jnp.log(sigma / self.sigma_min) / np.log(self.sigma_max / self.sigma_min)

    def t_of_noise_to_signal(self, ratio) -> Scalar:
        return self.t_of_sigma(ratio)


class VP(NoiseProcess):
    """Variance preserving, cosine schedule: ``alpha = cos(pi t / 2)``, ``sigma = sin(pi t / 2)``.

    ``alpha^2 + sigma^2 = 1``; ``t = 1`` is pure noise. The SDE coefficients
    ``f = -(pi / 2) tan(pi t / 2)`` and ``g^2 = pi tan(pi t / 2)`` blow up at ``t = 1``, so
    reverse-time samplers start slightly below it.
    """

    def alpha(self, t) -> Scalar:
        return jnp.cos(0.5 * jnp.pi * jnp.asarray(t, float))

    def sigma(self, t) -> Scalar:
        return jnp.sin(0.5 * jnp.pi * jnp.asarray(t, float))

    def t_of_sigma(self, sigma) -> Scalar:
        return 2.0 / jnp.pi * jnp.arcsin(sigma)

    def t_of_noise_to_signal(self, ratio) -> Scalar:
        return 2.0 / jnp.pi * jnp.arctan(ratio)

    @property
    def t_range(self) -> tuple[float, float]:
        """``[1e-3, 1 - 1e-3]``: ``sigma(0) = 0`` and ``alpha(1) = 0`` are excluded."""
        return (1e-3, 1.0 - 1e-3)


class FixedLevel(NoiseProcess):
    """One noise level: ``alpha = 1`` and ``sigma(t) = sigma`` at every ``t``; ``Y = X + sigma W``.

    Training at a fixed noise scale (denoising score matching as in Vincent 2011; the
    ISM-against-DSM study of Artemev et al. 2024) is training on this process: every
    training time is ``t = 0`` (``t_range = (0, 0)``), objectives weight uniformly (see
    :func:`~scoresample.objectives.weighting.default_weighting`) and the forward SDE has
    zero drift and diffusion (nothing moves in time). The trained network is the score of
    the data convolved with ``N(0, sigma^2 I)``, evaluated at any ``t`` (its time input is
    a constant; ``embed=0`` drops it). ``sigma = 0`` is clean data, for ISM, SSM and TSM;
    DSM's target ``-eps / sigma`` needs ``sigma > 0``.

    References:
        Vincent (2011), A connection between score matching and denoising autoencoders,
        Neural Computation, Sec. 4.2; Artemev et al. (2024), Sec. 4.

    Example:
        >>> result = fit(ScoreMLP(2, key=k1), DSM(FixedLevel(0.1)), samples, key=k2)
        >>> result.model(samples[0], 0.0)   # grad log (p * N(0, 0.1^2 I)) at samples[0]
    """

    level: float = eqx.field(static=True)

    def __init__(self, level: float):
        if not (np.isfinite(level) and level >= 0.0):
            raise ConfigError(
                "noise.level", f"must be finite and >= 0, got {level}", "use e.g. 0.1"
            )
        self.level = float(level)

    def alpha(self, t) -> Scalar:
        return jnp.ones_like(jnp.asarray(t, float))

    def sigma(self, t) -> Scalar:
        return jnp.full_like(jnp.asarray(t, float), self.level)

    def t_of_sigma(self, sigma) -> Scalar:
        """``0`` where ``sigma`` is the level (to float32 precision), NaN elsewhere."""
        sigma = jnp.asarray(sigma, float)
        return jnp.where(jnp.isclose(sigma, self.level, rtol=1e-6, atol=0.0), 0.0, jnp.nan)

    def t_of_noise_to_signal(self, ratio) -> Scalar:
        return self.t_of_sigma(ratio)

    @property
    def t_range(self) -> tuple[float, float]:
        """``(0, 0)``: the one level."""
        return (0.0, 0.0)


def geometric_levels(sigma_first: float, sigma_last: float, n_levels: int) -> jax.Array:
    """Noise levels from ``sigma_1 = sigma_first`` down to ``sigma_L = sigma_last`` in geometric
    progression (NCSN).

    ``sigma_i = sigma_1 (sigma_L / sigma_1)^((i - 1) / (L - 1))``; Song & Ermon (2019), Sec. 4.2.
    """
    positive(sigma_first, "levels.sigma_first")
    positive(sigma_last, "levels.sigma_last")
    n_levels = positive_int(n_levels, "levels.n_levels")
    if n_levels > 1 and not sigma_first > sigma_last:
        raise ConfigError(
            "levels.sigma_first",
            f"must exceed sigma_last ({sigma_first} <= {sigma_last})",
            "levels run from the largest noise down to the smallest",
        )
    return jnp.asarray(np.geomspace(sigma_first, sigma_last, n_levels), dtype=float)


TIME_SCHEMES = ("uniform", "stratified", "antithetic")
#: The default training times of ``fit`` and of ``[score.training] t_sampling``.
DEFAULT_TIMES = "stratified"


class TimeSampler(eqx.Module):
    """Draws one training time per example: uniform, stratified or antithetic on
    ``[low, high]``, or uniformly from fixed ``levels``. Build it with :func:`time_sampler`.

    Stratified: ``t_i = low + (high - low) (i + u_i) / n``; antithetic: ``u`` and ``1 - u``
    in pairs. Both keep every batch's times spread over the interval (low-discrepancy).
    """

    levels: jax.Array | None
    scheme: str = eqx.field(static=True)
    low: float = eqx.field(static=True)
    high: float = eqx.field(static=True)

    def __call__(self, key, n: int) -> jax.Array:
        if self.levels is not None:
            return self.levels[jax.random.randint(key, (n,), 0, self.levels.shape[0])]
        u = jax.random.uniform(key, (n,))
        if self.scheme == "stratified":
            u = (jnp.arange(n) + u) / n
        elif self.scheme == "antithetic":
            u = jnp.concatenate([u[: (n + 1) // 2], 1.0 - u[: n // 2]])
        return self.low + (self.high - self.low) * u


def time_sampler(
    process: NoiseProcess, times=DEFAULT_TIMES, sigmas=None, t_range=None
) -> TimeSampler:
    """Validated training times: a scheme in ``TIME_SCHEMES`` on ``t_range`` (default
    ``process.t_range``; ``t_min = t_max`` is one time, as for :class:`FixedLevel`); or
    fixed times (a float or array); or noise levels ``sigmas`` (one level, or NCSN's
    list) turned into times with ``t_of_sigma``, given instead of ``times`` (which then
    keeps its default).

    Example:
        >>> time_sampler(VE(0.01, 10.0), sigmas=geometric_levels(10.0, 0.01, 10))
    """
    low, high = process.t_range if t_range is None else map(float, t_range)
    if not 0.0 <= low <= high <= 1.0:
        raise ConfigError("fit.t_range", f"is ({low}, {high})", "use 0 <= t_min <= t_max <= 1")
    if sigmas is not None:
        if not isinstance(times, str) or times != DEFAULT_TIMES:
            raise ConfigError("fit.sigmas", "was given with times", "give only one of them")
        times = np.asarray(process.t_of_sigma(np.atleast_1d(np.asarray(sigmas, float))))
    if isinstance(times, str):
        if times not in TIME_SCHEMES:
            raise ConfigError("fit.times", f"is {times!r}", f"choose one of {TIME_SCHEMES}")
        return TimeSampler(None, times, low, high)
    levels = np.atleast_1d(np.asarray(times, dtype=float))
    if levels.ndim != 1 or not np.all((levels >= 0.0) & (levels <= 1.0)):  # NaN fails too
        raise ConfigError(
            "fit.times" if sigmas is None else "fit.sigmas",
            f"is {times if sigmas is None else sigmas}, outside the process's range",
            "choose times in [0, 1], or noise levels the process reaches",
        )
    return TimeSampler(jnp.asarray(levels, dtype=float), "levels", low, high)


def max_pairwise_distance(data, chunk_size: int = 2048) -> float:
    """Largest Euclidean distance between two rows of ``data``: ``sigma_1`` of Technique 1.

    ``sigma_1 = max_{i, j} |x_i - x_j|``, so that the largest noise level lets Langevin
    dynamics move between any two training points. Exact, in float64, ``O(n^2 d)``.

    Args:
        data: samples of shape ``(n, d)``.
        chunk_size: rows compared at once (bounds memory at ``chunk_size * n`` floats).

    Returns:
        The largest pairwise distance.

    References:
        Song & Ermon (2020), Improved techniques for training score-based generative
        models, NeurIPS, Technique 1.

    Example:
        >>> max_pairwise_distance([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
        5.0
    """
    x = finite_array(data, "data", ndim=2)
    squared_norms = np.sum(x**2, axis=1)
    largest = 0.0
    for start in range(0, x.shape[0], positive_int(chunk_size, "chunk_size")):
        block = x[start : start + chunk_size]
        squared = squared_norms[start : start + chunk_size, None] + squared_norms[None, :]
        largest = max(largest, float(np.max(squared - 2.0 * block @ x.T)))
    return float(np.sqrt(max(largest, 0.0)))


def _level_overlap(ratio: float, dim: int) -> float:
    """``Phi(sqrt(2D)(g - 1) + 3g) - Phi(sqrt(2D)(g - 1) - 3g)`` of Technique 2."""
    shift = np.sqrt(2.0 * dim) * (ratio - 1.0)
    return NormalDist().cdf(shift + 3.0 * ratio) - NormalDist().cdf(shift - 3.0 * ratio)


def song_ermon_ratio(dim: int, overlap: float = 0.5) -> float:
    """Common ratio ``gamma = sigma_{i-1} / sigma_i`` of Technique 2.

    Solves ``Phi(sqrt(2D)(gamma - 1) + 3 gamma) - Phi(sqrt(2D)(gamma - 1) - 3 gamma) = overlap``
    by bisection: adjacent noise shells of radius ``sqrt(D) sigma`` overlap enough for
    annealing to pass from one level to the next. Needs ``dim >= 5`` (the left side
    never falls to 0.5 when ``sqrt(2D) <= 3``).

    References:
        Song & Ermon (2020), Technique 2.
    """
    dim = positive_int(dim, "dim")
    if np.sqrt(2.0 * dim) <= 3.0:
        raise ConfigError(
            "dim",
            f"is {dim}; Technique 2 assumes high dimension (dim >= 5)",
            "choose the number of levels directly with geometric_levels",
        )
    lower, upper = 1.0, 2.0
    while _level_overlap(upper, dim) > overlap:
        upper *= 2.0
    for _ in range(100):
        middle = 0.5 * (lower + upper)
        lower, upper = (middle, upper) if _level_overlap(middle, dim) > overlap else (lower, middle)
    return 0.5 * (lower + upper)


def song_ermon_levels(data, sigma_last: float = 0.01) -> jax.Array:
    """Noise levels from the data: ``sigma_1`` by Technique 1, their number by Technique 2.

    ``L = 1 + ceil(log(sigma_1 / sigma_L) / log(gamma))`` geometric levels from the largest
    pairwise distance down to ``sigma_last``.

    References:
        Song & Ermon (2020), Techniques 1 and 2.

    Example:
        >>> levels = song_ermon_levels(samples, sigma_last=0.01)   # samples (n, d), d >= 5
    """
    sigma_first = max_pairwise_distance(data)
    ratio = song_ermon_ratio(np.shape(data)[1])
    n_levels = 1 + int(np.ceil(np.log(sigma_first / sigma_last) / np.log(ratio)))
    return geometric_levels(sigma_first, sigma_last, n_levels)


def song_ermon_step_size(levels, steps_per_level: int) -> float:
    """Base Langevin step ``epsilon`` of Technique 4 for annealed Langevin dynamics.

    With ``u = epsilon / sigma_L^2`` and ``gamma = sigma_1 / sigma_2``, choose ``u`` in
    ``(0, 1)`` that brings ``(1 - u)^(2T) (gamma^2 - 2u / (1 - (1 - u)^2)) + 2u / (1 - (1 - u)^2)``
    closest to 1 (the variance ratio of the chain after ``T`` steps at one level). Level
    ``i`` then uses step ``epsilon sigma_i^2 / sigma_L^2`` in the update
    ``x + step * score + sqrt(2 step) z``, which is BlackJAX's convention (``step_size``).

    Args:
        levels: geometric noise levels ``sigma_1 > ... > sigma_L``.
        steps_per_level: ``T``, Langevin steps at each level (as many as the budget allows).

    Returns:
        ``epsilon``.

    References:
        Song & Ermon (2020), Technique 4 and Proposition 3.
    """
    sigmas = finite_array(levels, "levels", ndim=1)
    steps = positive_int(steps_per_level, "steps_per_level")
    if sigmas.size < 2 or not np.all(np.diff(sigmas) < 0):
        raise ConfigError(
            "levels", "must hold at least two decreasing noise levels", "use geometric_levels"
        )
    ratio = sigmas[0] / sigmas[1]
    u = np.geomspace(1e-12, 1.0 - 1e-9, 400_001)
    stationary = 2.0 / (2.0 - u)  # = 2u / (1 - (1 - u)^2)
    variance_ratio = (1.0 - u) ** (2 * steps) * (ratio**2 - stationary) + stationary
    return float(u[np.argmin(np.abs(variance_ratio - 1.0))] * sigmas[-1] ** 2)
