"""The flat torus ``T^d = R^d / (2 pi Z)^d``: group operations, wrapped Gaussian noise,
and mixtures of wrapped Gaussians with exact noised marginals and posteriors.

Points are angles in ``[-pi, pi)^d``; tangent vectors are vectors of ``R^d`` (the Lie
algebra, with the flat bi-invariant metric). The group is abelian:
``x +_G w = wrap(x + w)``, ``exp_x(v) = wrap(x + v)``, ``log_x(y) = wrap(y - x)``, and
the Haar measure is Lebesgue measure on ``[-pi, pi)^d`` (volume ``(2 pi)^d``).

The wrapped Gaussian ``WN(mu, s^2)`` is the law of ``wrap(mu + s Z)``, with density
``sum_m N(x + 2 pi m; mu, s^2)`` per coordinate: the torus's heat kernel at time
``s^2 / 2``. Wrapped Gaussians compose like heat kernels,
``WN(s1^2) * WN(s2^2) = WN(s1^2 + s2^2)``, so ``Y = X +_G sigma W`` of a mixture of wrapped
Gaussians is again one: the exact noised marginal. The image sum is cut at
``|m| <= N_IMAGES``, exact to 1e-13 relative for scales up to :data:`MAX_SCALE`.

On an abelian group the transport of Prop. 3.3 is the identity, so the target score
identity reads ``grad log p_sigma(y) = E[grad log p(X) | Y = y]`` (TSM's target is the
clean score) and the denoising identity ``E[grad_y log WN(y; X, sigma^2) | Y = y]``
(DSM's target is the heat kernel's score).

The public functions and the mixture's per-point methods are compiled (``jax.jit``; its
``log_prob`` and ``score`` through :class:`~scoresample.targets.AbstractTarget`): an
eager call, as in a notebook, runs one program rather than each operation in turn; inside
``jit`` or ``vmap`` they are inlined.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.2, Props. 3.2 and 3.3; De Bortoli et al. (2022), Riemannian score-based
    generative modelling (heat kernel on the torus).
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import is_traced
from ..errors import ConfigError
from ..targets._base import AbstractTarget
from ..targets.mixture import GaussianMixture
from .base import Group

TWO_PI = 2 * np.pi
#: Images ``m = -N_IMAGES .. N_IMAGES`` per coordinate in a wrapped Gaussian's density.
N_IMAGES = 10
#: Largest wrapped-Gaussian scale the image sum holds to 1e-13: the first omitted image
#: is ``2 pi (N_IMAGES - 1) / MAX_SCALE = 7.5`` standard deviations away.
MAX_SCALE = TWO_PI * (N_IMAGES - 1) / 7.5


@jax.jit
def wrap(x):
    """The representative of ``x`` in ``[-pi, pi)``."""
    return jnp.mod(x + np.pi, TWO_PI) - np.pi


@jax.jit
def exp_map(x: Position, v: Position) -> Position:
    """``exp_x(v) = wrap(x + v)``: the point reached from ``x`` along the tangent ``v``."""
    return wrap(x + v)


@jax.jit
def log_map(x: Position, y: Position) -> Position:
    """``log_x(y) = wrap(y - x)``: the shortest tangent vector from ``x`` to ``y``."""
    return wrap(y - x)


@jax.jit
def embed(xs) -> jax.Array:
    """``(cos x, sin x)``: the torus in ``R^{2d}``. A kernel of Euclidean distance on the
    embedding (e.g. :func:`~scoresample.diagnostics.metrics.mmd2`'s RBF) is a kernel on the
    torus, invariant under its translations: ``|e(x) - e(y)|^2 = 2 sum_i (1 - cos(x_i - y_i))``.
    """
    return jnp.concatenate([jnp.cos(xs), jnp.sin(xs)], axis=-1)


@jax.jit
def wrapped_normal_log_prob(d, scale) -> jax.Array:
    """``log sum_m N(d + 2 pi m; 0, scale^2)`` elementwise: the log density of
    ``WN(0, scale^2)`` at the (wrapped) displacement ``d``."""
    d = wrap(jnp.asarray(d))
    m = (jnp.arange(-N_IMAGES, N_IMAGES + 1) * TWO_PI).reshape((1,) * d.ndim + (-1,))
    shifted = (d[..., None] + m) / scale[..., None]
    log_normal = -0.5 * shifted**2 - jnp.log(scale[..., None]) - 0.5 * np.log(TWO_PI)
    return logsumexp(log_normal, axis=-1)


@partial(jax.jit, static_argnames=("n", "dim"))
def uniform(key: PRNGKey, n: int, dim: int) -> Batch:
    """``n`` draws of the Haar (uniform) law on ``[-pi, pi)^dim``."""
    return jax.random.uniform(key, (n, dim), minval=-np.pi, maxval=np.pi)


#: The torus for the samplers, metrics and the command (:class:`~scoresample.groups.base.Group`).
TORUS = Group("torus", exp_map, embed, uniform)


@jax.jit
def heat_kernel_score(y: Position, x: Position, sigma) -> Position:
    """``grad_y log WN(y; x, sigma^2)``: the denoising target on the torus."""
    return jax.grad(lambda v: jnp.sum(wrapped_normal_log_prob(v - x, sigma * jnp.ones_like(v))))(y)


class WrappedGaussianMixture(AbstractTarget):
    """A mixture of wrapped Gaussians with diagonal scales on ``T^d``; normalised.

    ``p(x) = sum_k w_k prod_i WN(x_i; mu_ki, s_ki^2)``; ``score`` is its gradient by
    autodiff, a tangent vector.

    Args:
        weights: ``(K,)`` non-negative weights.
        means: ``(K, d)`` angles (wrapped into ``[-pi, pi)``).
        scales: scalar, ``(K,)`` or ``(K, d)`` standard deviations, up to :data:`MAX_SCALE`.

    Example:
        >>> target = WrappedGaussianMixture([0.5, 0.5], [[0.0, 2.0], [2.5, -1.0]], 0.4)
        >>> target.noised(1.0, 0.8).score(y)   # exact score of X +_G 0.8 W
    """

    mixture: GaussianMixture  # the unwrapped law: X = wrap(Z), Z ~ mixture
    group = TORUS

    def __init__(self, weights, means, scales):
        mixture = GaussianMixture(weights, wrap(jnp.asarray(means, float)), scales)
        if not is_traced(mixture.scales) and float(jnp.max(mixture.scales)) > MAX_SCALE:
            raise ConfigError(
                "WrappedGaussianMixture.scales",
                f"reach {float(jnp.max(mixture.scales)):.3g}",
                f"keep scales <= {MAX_SCALE:.2f} (beyond, the law is uniform to 1e-10)",
            )
        self.mixture = mixture

    @property
    def dim(self) -> int:
        return self.mixture.dim

    @property
    def log_Z(self) -> float:
        return 0.0

    @eqx.filter_jit
    def component_log_probs(self, x: Position) -> Float[Array, " k"]:
        """``log w_k + sum_i log WN(x_i; mu_ki, s_ki^2)`` per component."""
        per_coordinate = wrapped_normal_log_prob(
            x[None, :] - self.mixture.means, self.mixture.scales
        )
        return jnp.log(self.mixture.weights) + jnp.sum(per_coordinate, axis=1)

    def log_prob(self, x: Position) -> Scalar:
        return logsumexp(self.component_log_probs(x))

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        """``n`` exact draws ``wrap(z)``, ``z ~`` the unwrapped mixture."""
        return wrap(self.mixture.sample(key, n))

    def noised(self, alpha, sigma) -> WrappedGaussianMixture:
        """The exact law of ``X +_G sigma W`` (``alpha`` must be 1: the torus has no
        contraction): scales ``sqrt(s^2 + sigma^2)``."""
        if not is_traced(alpha) and not np.allclose(alpha, 1.0):
            raise ConfigError("noise", f"has alpha = {alpha}", "use VE noise on the torus")
        m = self.mixture
        return WrappedGaussianMixture(m.weights, m.means, jnp.sqrt(m.scales**2 + sigma**2))

    def posterior_sample(self, key: PRNGKey, y: Position, sigma, n: int) -> Batch:
        """``n`` exact draws of ``X | X +_G sigma W = y``.

        A component ``k ~ p(k | y)``; per coordinate, the winding ``m`` of the unwrapped
        ``u = y + 2 pi m`` with ``p(m | k, y)`` proportional to ``N(y + 2 pi m; mu_k, v_k)``,
        ``v_k = s_k^2 + sigma^2``; then ``z ~ N(mu + s^2 / v (u - mu), s^2 sigma^2 / v)`` and
        ``x = wrap(z)``.
        """
        key_k, key_m, key_z = jax.random.split(key, 3)
        k = jax.random.choice(
            key_k, self.mixture.n_components, (n,), p=self.noised(1.0, sigma).responsibilities(y)
        )
        mu, s2 = self.mixture.means[k], self.mixture.scales[k] ** 2
        v = s2 + sigma**2
        windings = jnp.arange(-N_IMAGES, N_IMAGES + 1)
        unwrapped = y[None, :, None] + TWO_PI * windings[None, None, :]  # (1, d, images)
        logits = -0.5 * (unwrapped - mu[..., None]) ** 2 / v[..., None]
        u = y[None, :] + TWO_PI * windings[jax.random.categorical(key_m, logits)]
        mean = mu + s2 / v * (u - mu)
        return wrap(mean + jnp.sqrt(s2 * sigma**2 / v) * jax.random.normal(key_z, mu.shape))

    @eqx.filter_jit
    def responsibilities(self, x: Position) -> Float[Array, " k"]:
        """Posterior component probabilities ``p(k | x)``."""
        return jax.nn.softmax(self.component_log_probs(x))
