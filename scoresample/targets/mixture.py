"""Gaussian mixtures with diagonal covariances: exact density, score, samples,
noised marginals and posteriors.

``p(x) = sum_k w_k N(x; mu_k, diag(s_k^2))``. The noised marginal of
``Y = alpha X + sigma W`` is again a mixture, with means ``alpha mu_k`` and variances
``alpha^2 s_k^2 + sigma^2``; the posterior ``p(x | y)`` is a mixture too. These closed
forms are the ground truth every score-learning test in the package compares against.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import finite_array, is_traced
from ..errors import ConfigError
from ._base import AbstractTarget

_LOG_2PI = float(np.log(2 * np.pi))


def _checked_parameters(weights, means, scales):
    """Validate concrete mixture parameters and return them as float arrays."""
    w = finite_array(weights, "GaussianMixture.weights", ndim=1)
    mu = finite_array(means, "GaussianMixture.means", ndim=2)
    s = finite_array(scales, "GaussianMixture.scales")
    k, d = mu.shape
    if w.shape[0] != k:
        raise ConfigError(
            "GaussianMixture.weights",
            f"has {w.shape[0]} entries for {k} components",
            "give one weight per row of means",
        )
    if np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(
            "GaussianMixture.weights",
            "must be >= 0 with a positive sum",
            "use non-negative weights",
        )
    if s.shape not in {(), (k,), (k, d)}:
        raise ConfigError(
            "GaussianMixture.scales",
            f"has shape {s.shape}",
            f"give a scalar, one scale per component ({k},) or per coordinate ({k}, {d})",
        )
    if np.any(s <= 0):
        raise ConfigError(
            "GaussianMixture.scales", "must be > 0", "use positive standard deviations"
        )
    return w / w.sum(), mu, np.broadcast_to(s.reshape(s.shape + (1,) * (2 - s.ndim)), (k, d))


class GaussianMixture(AbstractTarget):
    """Mixture of Gaussians with diagonal (or isotropic) covariances; normalised.

    ``log p(x) = logsumexp_k [log w_k + sum_i log N(x_i; mu_ki, s_ki^2)]`` and
    ``score(x) = sum_k r_k(x) (mu_k - x) / s_k^2`` with responsibilities ``r_k(x)``.

    Args:
        weights: ``(K,)`` non-negative mixture weights (normalised here).
        means: ``(K, d)`` component means.
        scales: standard deviations: a scalar, ``(K,)`` (isotropic per component) or
            ``(K, d)`` (diagonal).

    Example:
        >>> gm = GaussianMixture([0.8, 0.2], [[5.0, 5.0], [-5.0, -5.0]], 1.0)
        >>> gm.noised(alpha=1.0, sigma=2.0).scales[0]  # sqrt(1 + 4)
        Array([2.236068, 2.236068], dtype=float32)
    """

    weights: Float[Array, " k"]
    means: Float[Array, "k d"]
    scales: Float[Array, "k d"]

    def __init__(self, weights, means, scales):
        if not any(is_traced(v) for v in (weights, means, scales)):
            weights, means, scales = _checked_parameters(weights, means, scales)
        self.weights = jnp.asarray(weights, dtype=float)
        self.means = jnp.asarray(means, dtype=float)
        self.scales = jnp.broadcast_to(jnp.asarray(scales, dtype=float), self.means.shape)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def log_Z(self) -> float:
        return 0.0

    @eqx.filter_jit
    def component_log_probs(self, x: Position) -> Float[Array, " k"]:
        """``log w_k + log N(x; mu_k, diag(s_k^2))`` for every component ``k``."""
        z = (x[None, :] - self.means) / self.scales
        log_normal = -0.5 * jnp.sum(z**2, axis=1) - jnp.sum(jnp.log(self.scales), axis=1)
        return jnp.log(self.weights) + log_normal - 0.5 * self.dim * _LOG_2PI

    @eqx.filter_jit
    def responsibilities(self, x: Position) -> Float[Array, " k"]:
        """Posterior component probabilities ``r_k(x) = p(k | x)``."""
        return jax.nn.softmax(self.component_log_probs(x))

    def log_prob(self, x: Position) -> Scalar:
        return logsumexp(self.component_log_probs(x))

    def score(self, x: Position) -> Position:
        r = self.responsibilities(x)
        return jnp.sum(r[:, None] * (self.means - x[None, :]) / self.scales**2, axis=0)

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        """``n`` exact draws: a component ``k ~ w``, then ``mu_k + s_k * z``."""
        key_k, key_z = jax.random.split(key)
        k = jax.random.choice(key_k, self.n_components, shape=(n,), p=self.weights)
        z = jax.random.normal(key_z, (n, self.dim))
        return self.means[k] + self.scales[k] * z

    def noised(self, alpha, sigma) -> GaussianMixture:
        """Exact marginal of ``alpha X + sigma W``: means ``alpha mu_k``, variances
        ``alpha^2 s_k^2 + sigma^2``."""
        scales = jnp.sqrt(alpha**2 * self.scales**2 + sigma**2)
        return GaussianMixture(self.weights, alpha * self.means, scales)

    def posterior(self, y: Position, alpha, sigma) -> GaussianMixture:
        """Exact ``p(x | alpha x + sigma w = y)``, a mixture again.

        Per component, precision ``1/s_k^2 + alpha^2/sigma^2`` and mean
        ``v_k (mu_k / s_k^2 + alpha y / sigma^2)``; weights ``p(k | y)`` under the noised
        mixture. Requires ``sigma > 0``.
        """
        variance = 1.0 / (1.0 / self.scales**2 + alpha**2 / sigma**2)
        mean = variance * (self.means / self.scales**2 + alpha * y[None, :] / sigma**2)
        weights = self.noised(alpha, sigma).responsibilities(y)
        return GaussianMixture(weights, mean, jnp.sqrt(variance))

    def mode_weights(self, xs: Batch) -> Float[Array, " k"]:
        """Fraction of ``xs`` assigned to each component by responsibility."""
        return jnp.mean(jax.vmap(self.responsibilities)(xs), axis=0)

    def with_weights(self, weights) -> GaussianMixture:
        """The same components with other weights (a common negative control)."""
        return eqx.tree_at(
            lambda m: m.weights,
            self,
            jnp.asarray(weights, float) / jnp.sum(jnp.asarray(weights, float)),
        )


def ncsn_toy() -> GaussianMixture:
    """The two-Gaussian toy ``0.8 N((5, 5), I) + 0.2 N((-5, -5), I)``.

    References:
        Song & Ermon (2019), Generative modeling by estimating gradients of the data
        distribution, NeurIPS, Sec. 3.2.
    """
    return GaussianMixture([0.8, 0.2], [[5.0, 5.0], [-5.0, -5.0]], 1.0)


def mixture_1d(weights, means, scales) -> GaussianMixture:
    """A one-dimensional mixture from flat lists, e.g.
    ``mixture_1d([0.6, 0.4], [2.0, -2.0], [0.5, 0.2])``."""
    means = np.asarray(means, dtype=float).reshape(-1, 1)
    return GaussianMixture(weights, means, np.asarray(scales, dtype=float).reshape(-1, 1))


def _torch_rand_seed0(n: int) -> np.ndarray:
    """The first ``n`` floats of ``torch.manual_seed(0); torch.rand(n)`` without torch.

    PyTorch's CPU generator is MT19937 seeded like NumPy's ``RandomState(0)``; a float
    is the low 24 bits of a raw 32-bit draw times ``2^-24``.
    """
    raw = np.random.RandomState(0).randint(0, 2**32, size=n, dtype=np.uint32)
    return (raw & np.uint32(2**24 - 1)).astype(np.float64) * 2.0**-24


def gmm40(loc_scaling: float = 40.0) -> GaussianMixture:
    """The 2-D, 40-component mixture of the Boltzmann-sampler literature.

    Equal weights, standard deviation ``softplus(1) = 1.3132616`` per coordinate, means
    ``(torch.rand(40, 2) - 0.5) * 2 * 40`` after ``torch.manual_seed(0)``, uniform in
    ``[-40, 40]^2``.

    References:
        Midgley et al. (2023), Flow Annealed Importance Sampling Bootstrap (FAB), Sec. 4.1;
        Akhound-Sadegh et al. (2024), Iterated Denoising Energy Matching (iDEM), Sec. 5.
    """
    means = (_torch_rand_seed0(80).reshape(40, 2) - 0.5) * 2 * loc_scaling
    scale = float(np.log1p(np.exp(1.0)))
    return GaussianMixture(np.full(40, 1 / 40), means, scale)
