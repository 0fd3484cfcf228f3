"""Double-well and many-well targets with exact samplers.

The double well in 2-D has energy ``E(x) = -0.5 x1 - 6 x1^2 + x1^4 + 0.5 x2^2`` and
``log p(x) = -E(x) - log Z`` with ``Z = 11784.50927 * sqrt(2 pi)``: two modes in ``x1``
near -1.71 and 1.75 with masses 0.156 / 0.844, a standard normal in ``x2``. The
many-well of dimension ``2m`` is ``m`` independent copies on consecutive coordinate
pairs ``(x_{2i}, x_{2i+1})``, with ``2^m`` modes.

References:
    Noé, Olsson, Köhler, Wu (2019), Boltzmann generators, Science 365 (double well);
    Midgley et al. (2023), Flow Annealed Importance Sampling Bootstrap, Sec. 4.2 (many-well).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import positive_int
from ._base import AbstractTarget

#: ``int exp(0.5 x + 6 x^2 - x^4) dx`` over the real line (checked by quadrature in tests).
X1_NORMALISER = 11784.50927
#: ``P(x1 > 0)`` for one well.
P_RIGHT_WELL = 0.844307

_MODES = np.array([1.75252, -1.71083])
_PROPOSAL_WEIGHTS = np.array([0.84, 0.16])
_PROPOSAL_SCALE = 0.4


def x1_log_density(x1):
    """Unnormalised log density of the first coordinate, ``0.5 x - 6 ... = -E_1(x)``."""
    return 0.5 * x1 + 6.0 * x1**2 - x1**4


def _proposal_log_density(x, xp=jnp):
    """Log density of the proposal ``0.84 N(1.75, 0.4^2) + 0.16 N(-1.71, 0.4^2)``."""
    shape = (1,) * x.ndim + (2,)
    z = (x[..., None] - _MODES.reshape(shape)) / _PROPOSAL_SCALE
    log_terms = np.log(_PROPOSAL_WEIGHTS).reshape(shape) - 0.5 * z**2
    return xp.logaddexp(log_terms[..., 0], log_terms[..., 1]) - np.log(
        _PROPOSAL_SCALE * np.sqrt(2 * np.pi)
    )


@functools.cache
def _log_envelope() -> float:
    """``log M >= sup_x log f(x) - log q(x)`` for the two-Gaussian proposal ``q``.

    The ratio is smooth and peaks near the right mode (the proposal has heavier tails
    than ``exp(-x^4)``), so a fine grid plus a margin bounds it.
    """
    grid = np.linspace(-6.0, 6.0, 240_001)
    return float(np.max(x1_log_density(grid) - _proposal_log_density(grid, np))) + 1e-3


def sample_x1(key: PRNGKey, n: int) -> jax.Array:
    """``n`` exact draws of the double-well first coordinate by rejection sampling.

    Proposal: ``0.84 N(1.75, 0.4^2) + 0.16 N(-1.71, 0.4^2)``, acceptance about 0.5.
    Rounds of ``n`` proposals run in a ``lax.while_loop`` until ``n`` are accepted.
    """

    def one_round(state):
        key, out, count = state
        key, k_comp, k_norm, k_unif = jax.random.split(key, 4)
        comp = jax.random.choice(k_comp, 2, shape=(n,), p=jnp.asarray(_PROPOSAL_WEIGHTS))
        cand = jnp.asarray(_MODES)[comp] + _PROPOSAL_SCALE * jax.random.normal(k_norm, (n,))
        log_ratio = x1_log_density(cand) - _proposal_log_density(cand) - _log_envelope()
        accept = jnp.log(jax.random.uniform(k_unif, (n,))) < log_ratio
        slot = jnp.where(accept, count + jnp.cumsum(accept) - 1, n)
        return key, out.at[slot].set(cand, mode="drop"), count + jnp.sum(accept)

    # the count has the default integer type (int64 under ``jax_enable_x64``), as sums do
    state = (key, jnp.zeros(n), jnp.zeros((), dtype=int))
    _, out, _ = jax.lax.while_loop(lambda s: s[2] < n, one_round, state)
    return out


class ManyWell(AbstractTarget):
    """``n_wells`` independent 2-D double wells; ``dim = 2 n_wells``; unnormalised.

    ``log_prob(x) = sum_i [0.5 a_i + 6 a_i^2 - a_i^4 - 0.5 b_i^2]`` with
    ``(a_i, b_i) = (x_{2i}, x_{2i+1})``; ``log_Z = n_wells (log 11784.50927 + 0.5 log 2 pi)``.
    """

    n_wells: int = eqx.field(static=True)

    def __init__(self, n_wells: int = 16):
        self.n_wells = positive_int(n_wells, "ManyWell.n_wells")

    @property
    def dim(self) -> int:
        return 2 * self.n_wells

    @property
    def log_Z(self) -> float:
        return self.n_wells * (float(np.log(X1_NORMALISER)) + 0.5 * float(np.log(2 * np.pi)))

    def log_prob(self, x: Position) -> Scalar:
        pairs = x.reshape(self.n_wells, 2)
        return jnp.sum(x1_log_density(pairs[:, 0]) - 0.5 * pairs[:, 1] ** 2)

    def score(self, x: Position) -> Position:
        pairs = x.reshape(self.n_wells, 2)
        a, b = pairs[:, 0], pairs[:, 1]
        return jnp.stack([0.5 + 12.0 * a - 4.0 * a**3, -b], axis=1).reshape(-1)

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        key_a, key_b = jax.random.split(key)
        a = sample_x1(key_a, n * self.n_wells).reshape(n, self.n_wells)
        b = jax.random.normal(key_b, (n, self.n_wells))
        return jnp.stack([a, b], axis=2).reshape(n, self.dim)

    def well_signs(self, xs: Batch) -> jax.Array:
        """``(n, n_wells)`` booleans: which draws sit in the right (``x1 > 0``) well."""
        return xs.reshape(xs.shape[0], self.n_wells, 2)[:, :, 0] > 0

    def noised(self, alpha, sigma) -> NoisedManyWell:
        """The law of ``alpha X + sigma W``, by quadrature (see :class:`NoisedManyWell`)."""
        return NoisedManyWell(self.n_wells, jnp.asarray(alpha), jnp.asarray(sigma))


#: Quadrature nodes: ``u`` in [-9, 9] by 0.01 for the Gaussian kernel's variable, ``a`` in
#: [-4.5, 4.5] by 0.005 for the well's (``exp(-a^4)`` is below 1e-130 beyond).
_KERNEL_NODES = np.linspace(-9.0, 9.0, 1801)
_WELL_NODES = np.linspace(-4.5, 4.5, 1801)


def noised_x1_log_density(y, alpha, sigma):
    """``log int f(a) N(y; alpha a, sigma^2) da`` of one well's coordinate, normalised
    (``f = exp(x1_log_density) / X1_NORMALISER``), by the rectangle rule on whichever
    variable is narrower: over ``u = (alpha a - y) / sigma`` when ``sigma < alpha`` (the
    kernel is the narrow factor; ``a = (y + sigma u) / alpha``), else over ``a``. Both
    node sets resolve the well's width (about 0.2) and the kernel's."""
    log_norm = np.log(X1_NORMALISER) + 0.5 * np.log(2 * np.pi)
    u = jnp.asarray(_KERNEL_NODES, jnp.result_type(y))
    a_of_u = (y + sigma * u) / alpha
    by_kernel = (
        jax.nn.logsumexp(x1_log_density(a_of_u) - 0.5 * u**2)
        + np.log(_KERNEL_NODES[1] - _KERNEL_NODES[0])
        - jnp.log(alpha)
    )
    a = jnp.asarray(_WELL_NODES, jnp.result_type(y))
    z = (y - alpha * a) / sigma
    by_well = (
        jax.nn.logsumexp(x1_log_density(a) - 0.5 * z**2)
        + np.log(_WELL_NODES[1] - _WELL_NODES[0])
        - jnp.log(sigma)
    )
    return jnp.where(sigma < alpha, by_kernel, by_well) - log_norm


class NoisedManyWell(AbstractTarget):
    """Exact (to quadrature) law of ``alpha X + sigma W`` for ``X`` many-well: per well,
    the first coordinate's density is :func:`noised_x1_log_density` (a one-dimensional
    convolution), the second's ``N(0, alpha^2 + sigma^2)``; normalised. Its score is the
    noised score, by autodiff through the quadrature; the tests check it against Monte
    Carlo over exact draws and the density's normalisation on both sides of the switch."""

    n_wells: int = eqx.field(static=True)
    alpha: jax.Array
    sigma: jax.Array

    @property
    def dim(self) -> int:
        return 2 * self.n_wells

    def log_prob(self, y: Position) -> Scalar:
        pairs = y.reshape(self.n_wells, 2)
        first = jax.vmap(lambda v: noised_x1_log_density(v, self.alpha, self.sigma))(pairs[:, 0])
        variance = self.alpha**2 + self.sigma**2
        second = -0.5 * pairs[:, 1] ** 2 / variance - 0.5 * jnp.log(2 * np.pi * variance)
        return jnp.sum(first + second)


def double_well() -> ManyWell:
    """The 2-D double well ``E = -0.5 x1 - 6 x1^2 + x1^4 + 0.5 x2^2`` (one well)."""
    return ManyWell(1)


def many_well(dim: int = 32) -> ManyWell:
    """The many-well target of dimension ``dim`` (even): ``dim / 2`` double wells."""
    from ..errors import ConfigError

    if positive_int(dim, "many_well.dim") % 2:
        raise ConfigError(
            "many_well.dim", f"must be even, got {dim}", "use an even dimension such as 32"
        )
    return ManyWell(dim // 2)
