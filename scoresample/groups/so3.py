"""The rotation group SO(3): group operations, isotropic Gaussian noise IGSO(3), and
mixtures of IGSO(3) components with exact log density, score and noised marginals.

**Points and tangents.** A rotation is its principal rotation vector ``r`` (``|r| <= pi``,
the rotation by the angle ``|r|`` about ``r / |r|``), so draws are ordinary 3-vectors
that chains, ArviZ and the samplers handle as they are. A tangent vector at ``r`` is a
body-frame angular velocity ``v`` in ``R^3`` (the Lie algebra by the hat map), and the
metric is the bi-invariant one in which ``|v|`` is a rotation angle: the distance of
``R1`` and ``R2`` is the angle of ``R1^T R2``. Then ``exp_r(v) = Log(Exp(r) Exp(v))`` and
``log_r(s) = Log(Exp(r)^T Exp(s))``, computed through unit quaternions. The normalised
Haar measure is ``(1 - cos|r|) / (4 pi^2 |r|^2) d^3 r`` in these coordinates
(:func:`haar_log_density`).

**IGSO(3).** The isotropic Gaussian ``IGSO(mu, sigma^2)`` is Brownian motion (generator
``Delta / 2``) from ``mu`` run for time ``sigma^2``: near ``mu`` it is ``N(0, sigma^2 I)``
in the tangent space. Its density against the Haar measure depends on the angle ``w`` of
``mu^T R`` alone, by the character series (Nikolayev & Savyolova 1997; Leach et al. 2022)

    f_sigma(w) = sum_l (2l + 1) exp(-l (l + 1) sigma^2 / 2) sin((l + 1/2) w) / sin(w / 2),

or, by Poisson summation, the image sum (``eps = sigma^2 / 2``, ``x = w / 2``)

    f_sigma(w) = sqrt(pi) eps^(-3/2) exp(eps / 4)
                 * sum_m (-1)^m (x + pi m) exp(-(x + pi m)^2 / eps) / sin x.

The series converges fast for large ``sigma``, the image sum for small: :func:`igso3_log_prob`
uses the image sum with ``|m| <= 2`` below ``sigma^2 / 2 = 1`` and the series with
``l <= 8`` above, each exact there to below ``1e-25`` relative. IGSO(3) laws compose like
heat kernels, ``IGSO(s1^2) * IGSO(s2^2) = IGSO(s1^2 + s2^2)``, and are invariant under
conjugation, so ``Y = X W`` with ``W ~ IGSO(I, sigma^2)`` of a mixture of IGSO(3)
components is again one: the exact noised marginal at every noise level.

**Scores.** The Riemannian gradient of ``log f(angle(mu^T R))`` in the body frame is
``f'(w) / f(w)`` times the axis of ``mu^T R``, i.e. ``c(w) log_mu(r)`` with
``c = f' / (w f)``, a smooth function of ``w``. Prop. 3.3 (De Bortoli et al. 2024) for
``Y = X W``: the clean score transported to ``Y`` is ``W^T grad log p(X)`` in body
coordinates (``grad log p(x) x^{-1} y`` for matrices), the denoising target is the score
of ``IGSO(X, sigma^2)`` at ``Y``, ``c(|w|) w`` with ``w = log(W)``.

Written here rather than taken from e3nn-jax (0.21): its ``quaternion_to_matrix`` goes
through Euler angles and returns the identity for a 1e-4 rad rotation in float32, its
quaternion log is not principal (angles up to ``2 pi``), and it takes 5 s to import.

The public functions and the mixture's per-point methods are compiled (``jax.jit``; its
``log_prob`` and ``score`` through :class:`~scoresample.targets.AbstractTarget`): an
eager call, as in a notebook, runs one program rather than each operation in turn; inside
``jit`` or ``vmap`` they are inlined.

References:
    De Bortoli, Hutchinson, Wirnsberger & Doucet (2024), Target score matching,
    Sec. 3.2, Props. 3.2 and 3.3; Leach, Schmon, Degiacomi & Willcocks (2022),
    Denoising diffusion probabilistic models on SO(3) for rotational alignment;
    Nikolayev & Savyolova (1997), Normal distribution on the rotation group SO(3).
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
from .base import Group

#: Images ``|m| <= IMAGES`` in the image sum, used for ``sigma^2 / 2 <= SWITCH``.
IMAGES = 2
#: Terms ``l <= SERIES_TERMS`` of the character series, used for ``sigma^2 / 2 > SWITCH``.
SERIES_TERMS = 8
#: ``sigma^2 / 2`` at which the density changes from the image sum to the series. The
#: first omitted image is ``exp(-pi^2 IMAGES (IMAGES + 1) / eps) < e^-59`` of the sum below
#: it, the first omitted term ``exp(-SERIES_TERMS (SERIES_TERMS + 1) eps) < e^-72`` above.
SWITCH = 1.0
#: Angles below ``OMEGA_FLOOR * sigma`` are evaluated at that angle: ``log f`` and
#: ``c = f' / (w f)`` are even and smooth in ``w``, so this changes them by ``~1e-6``
#: relative, and it keeps ``0 / 0`` out of ``sum / sin x`` at the centre.
OMEGA_FLOOR = 1e-3
#: Largest scale accepted: beyond, IGSO(3) is the Haar measure to ``1e-15``.
MAX_SCALE = 6.0
#: Grid points of the angle's inverse CDF in :func:`igso3_sample`.
CDF_POINTS = 256


# --- the group --------------------------------------------------------------------------


def _safe_norm(v) -> jax.Array:
    """``|v|`` over the last axis with a finite gradient at 0."""
    squared = jnp.sum(v**2, axis=-1)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


@jax.jit
def angle(r: Position) -> jax.Array:
    """The rotation angle ``|r|`` (with a finite gradient at the identity)."""
    return _safe_norm(r)


@jax.jit
def quaternion(r: Position) -> jax.Array:
    """``Exp(r)`` as a unit quaternion ``(cos(|r|/2), sin(|r|/2) r / |r|)``."""
    angle = _safe_norm(r)
    half_sinc = 0.5 * jnp.sinc(angle / (2 * np.pi))  # sin(angle / 2) / angle, finite at 0
    return jnp.concatenate([jnp.cos(angle / 2)[..., None], half_sinc[..., None] * r], axis=-1)


@jax.jit
def rotation_vector(q) -> jax.Array:
    """The principal ``Log`` of the unit quaternion ``q`` (``|r| <= pi``; ``q ~ -q``)."""
    q = jnp.where(q[..., :1] < 0, -q, q)
    w, xyz = q[..., 0], q[..., 1:]
    n = _safe_norm(xyz)
    small = n < 1e-12
    ratio = jnp.where(small, 2.0 / w, 2.0 * jnp.arctan2(n, w) / jnp.where(small, 1.0, n))
    return ratio[..., None] * xyz


@jax.jit
def hamilton(p, q) -> jax.Array:
    """The quaternion product ``p q`` (the rotation ``R(p) R(q)``), batch shapes broadcast."""
    p, q = jnp.broadcast_arrays(p, q)
    pw, pv, qw, qv = p[..., 0], p[..., 1:], q[..., 0], q[..., 1:]
    w = pw * qw - jnp.sum(pv * qv, axis=-1)
    v = pw[..., None] * qv + qw[..., None] * pv + jnp.cross(pv, qv)
    return jnp.concatenate([w[..., None], v], axis=-1)


@jax.jit
def compose(r: Position, s: Position) -> Position:
    """``Log(Exp(r) Exp(s))``: the group product of two rotation vectors."""
    return rotation_vector(hamilton(quaternion(r), quaternion(s)))


@jax.jit
def exp_map(r: Position, v: Position) -> Position:
    """``exp_r(v) = Log(Exp(r) Exp(v))``: from ``r`` along the body-frame tangent ``v``."""
    return compose(r, v)


@jax.jit
def log_map(r: Position, s: Position) -> Position:
    """``log_r(s) = Log(Exp(r)^T Exp(s))``: the shortest body-frame tangent from ``r`` to ``s``."""
    return compose(-r, s)


@jax.jit
def matrix(r: Position) -> jax.Array:
    """The rotation matrix ``Exp([r]_x)`` (from the quaternion: exact at small angles)."""
    q = quaternion(r)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return jnp.stack([jnp.stack(row, axis=-1) for row in rows], axis=-2)


@jax.jit
def rotate(r: Position, u) -> jax.Array:
    """``R(r) u``: the vector ``u`` rotated by ``r`` (batch shapes broadcast)."""
    r, u = jnp.broadcast_arrays(r, u)
    return jnp.einsum("...ij,...j->...i", matrix(r), u)


@jax.jit
def embed(rs) -> jax.Array:
    """The rotation matrices flattened, ``(..., 9)``. A kernel of Euclidean distance on the
    embedding (e.g. :func:`~scoresample.diagnostics.metrics.mmd2`'s RBF) is a kernel on
    SO(3), invariant under both translations: ``|R1 - R2|_F^2 = 4 (1 - cos angle(R1^T R2))``.
    """
    return matrix(rs).reshape(*jnp.shape(rs)[:-1], 9)


@jax.jit
def haar_log_density(r: Position) -> Scalar:
    """``log((1 - cos|r|) / (4 pi^2 |r|^2))``: the normalised Haar measure against
    Lebesgue measure on rotation vectors (``1 / (8 pi^2)`` at the identity). Add it to a
    Haar density's log to sample rotation vectors with a Euclidean sampler."""
    angle = _safe_norm(r)
    half_sinc = 0.5 * jnp.sinc(angle / (2 * np.pi))
    return jnp.log(2 * half_sinc**2) - 2 * np.log(2 * np.pi)


# --- IGSO(3) ----------------------------------------------------------------------------


def _images_log_f(omega, eps):
    """``log f`` by the image sum (accurate for ``eps <= SWITCH``)."""
    x = omega / 2
    u = x + np.pi * jnp.arange(-IMAGES, IMAGES + 1)
    signs = (-1.0) ** jnp.arange(-IMAGES, IMAGES + 1)
    total = jnp.sum(signs * u * jnp.exp(-(u**2 - x**2) / eps))
    log_prefactor = eps / 4 + 0.5 * np.log(np.pi) - 1.5 * jnp.log(eps)
    return log_prefactor - x**2 / eps + jnp.log(total / jnp.sin(x))


def _series_log_f(omega, eps):
    """``log f`` by the character series (accurate for ``eps >= SWITCH``)."""
    ell = jnp.arange(SERIES_TERMS + 1)
    terms = (2 * ell + 1) * jnp.exp(-ell * (ell + 1) * eps) * jnp.sin((ell + 0.5) * omega)
    return jnp.log(jnp.sum(terms) / jnp.sin(omega / 2))


def _log_f(omega, sigma):
    """``log f_sigma(omega)`` for ``omega`` in ``[OMEGA_FLOOR sigma, pi]`` (scalars)."""
    eps = sigma**2 / 2
    images = _images_log_f(omega, jnp.minimum(eps, SWITCH))
    series = _series_log_f(omega, jnp.maximum(eps, SWITCH))
    return jnp.where(eps <= SWITCH, images, series)


def _floored(omega, sigma):
    return jnp.clip(omega, OMEGA_FLOOR * sigma, np.pi)


@jax.jit
@jnp.vectorize
def igso3_log_prob(omega, sigma) -> jax.Array:
    """``log f_sigma(omega)``: the log density of ``IGSO(mu, sigma^2)`` against the
    normalised Haar measure at a rotation whose angle from ``mu`` is ``omega``."""
    return _log_f(_floored(omega, sigma), sigma)


@jax.jit
@jnp.vectorize
def igso3_score_factor(omega, sigma) -> jax.Array:
    """``c = f'(omega) / (omega f(omega))``: the score of ``IGSO(mu, sigma^2)`` at ``r`` is
    ``c log_mu(r)`` (body frame); about ``-1 / sigma^2`` near ``mu``."""
    omega = _floored(omega, sigma)
    return jax.grad(_log_f)(omega, sigma) / omega


@jax.jit
def igso3_score(r: Position, mu: Position, sigma) -> Position:
    """The body-frame score at ``r`` of ``IGSO(mu, sigma^2)``: the heat kernel's score."""
    v = log_map(mu, r)
    return igso3_score_factor(_safe_norm(v), sigma) * v


def _angle_inverse_cdf(key: PRNGKey, sigma) -> Scalar:
    """One angle of ``IGSO(sigma^2)``: its density ``(1 - cos w) / pi f_sigma(w)`` on
    ``[0, min(pi, 12 sigma)]`` (beyond, the mass is below ``e^-70``), inverted by linear
    interpolation of the trapezoidal CDF on :data:`CDF_POINTS` points."""
    grid = jnp.linspace(0.0, jnp.minimum(np.pi, 12 * sigma), CDF_POINTS)
    log_density = jnp.log1p(-jnp.cos(grid)) + igso3_log_prob(grid, sigma)
    density = jnp.exp(log_density - jnp.max(log_density))
    steps = 0.5 * (density[1:] + density[:-1]) * jnp.diff(grid)
    cdf = jnp.concatenate([jnp.zeros(1, grid.dtype), jnp.cumsum(steps)])
    return jnp.interp(jax.random.uniform(key, (), grid.dtype) * cdf[-1], cdf, grid)


@jax.jit
def igso3_sample(key: PRNGKey, sigma) -> Position:
    """One draw of ``IGSO(I, sigma^2)`` as a rotation vector: a uniform axis times an angle
    from :func:`_angle_inverse_cdf`. ``sigma`` is a scalar; ``jax.vmap`` for many."""
    key_angle, key_axis = jax.random.split(key)
    sigma = jnp.asarray(sigma, float)
    axis = jax.random.normal(key_axis, (3,), sigma.dtype)
    return _angle_inverse_cdf(key_angle, sigma) * axis / _safe_norm(axis)


@partial(jax.jit, static_argnames=("n", "dim"))
def uniform(key: PRNGKey, n: int, dim: int = 3) -> Batch:
    """``n`` draws of the normalised Haar measure (unit quaternions uniform on ``S^3``)."""
    if dim != 3:
        raise ConfigError("dim", f"is {dim} for a point of SO(3)", "rotation vectors have 3")
    q = jax.random.normal(key, (n, 4))
    return rotation_vector(q / jnp.linalg.norm(q, axis=-1, keepdims=True))


#: SO(3) for the samplers, metrics and the command (:class:`~scoresample.groups.base.Group`).
SO3 = Group("so3", exp_map, embed, uniform)


# --- mixtures ---------------------------------------------------------------------------


class IGSO3Mixture(AbstractTarget):
    """A mixture of isotropic Gaussians on SO(3), normalised against the Haar measure.

    ``p(r) = sum_k w_k f_{s_k}(angle(mu_k^T r))``; ``score`` is its body-frame Riemannian
    gradient, ``sum_k p(k | r) c_k log_{mu_k}(r)``.

    Args:
        weights: ``(K,)`` non-negative weights.
        means: ``(K, 3)`` rotation vectors (made principal).
        scales: scalar or ``(K,)`` scales ``s_k``, in ``(0, MAX_SCALE]``.

    Example:
        >>> target = IGSO3Mixture([0.6, 0.4], [[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]], 0.3)
        >>> target.noised(1.0, 0.5).score(r)   # the exact score of X W, W ~ IGSO(0.5^2)
    """

    weights: Float[Array, " k"]
    means: Float[Array, "k 3"]
    scales: Float[Array, " k"]
    group = SO3

    def __init__(self, weights, means, scales):
        weights = jnp.asarray(weights, float)
        self.weights = weights / jnp.sum(weights)
        self.means = compose(jnp.zeros(3), jnp.asarray(means, float))
        self.scales = jnp.broadcast_to(jnp.asarray(scales, float), weights.shape)
        if self.means.shape != (*weights.shape, 3):
            raise ConfigError("IGSO3Mixture.means", f"has shape {self.means.shape}", "give (K, 3)")
        if not is_traced(self.scales):
            top, bottom = float(jnp.max(self.scales)), float(jnp.min(self.scales))
            if top > MAX_SCALE or bottom <= 0:
                raise ConfigError(
                    "IGSO3Mixture.scales",
                    f"span [{bottom:.3g}, {top:.3g}]",
                    f"keep scales in (0, {MAX_SCALE}] (beyond, the law is Haar's)",
                )

    @property
    def dim(self) -> int:
        return 3

    @property
    def log_Z(self) -> float:
        return 0.0

    @property
    def n_components(self) -> int:
        return self.weights.shape[0]

    @eqx.filter_jit
    def component_log_probs(self, r: Position) -> Float[Array, " k"]:
        """``log w_k + log f_{s_k}(angle(mu_k^T r))`` per component."""
        angles = _safe_norm(log_map(self.means, r[None, :]))
        return jnp.log(self.weights) + igso3_log_prob(angles, self.scales)

    def log_prob(self, r: Position) -> Scalar:
        """``log p(r)`` against the normalised Haar measure."""
        return logsumexp(self.component_log_probs(r))

    def score(self, r: Position) -> Position:
        """The body-frame Riemannian gradient of ``log p`` at ``r``."""
        tangents = log_map(self.means, r[None, :])
        factors = igso3_score_factor(_safe_norm(tangents), self.scales)
        return self.responsibilities(r) @ (factors[:, None] * tangents)

    @eqx.filter_jit
    def responsibilities(self, r: Position) -> Float[Array, " k"]:
        """Posterior component probabilities ``p(k | r)``."""
        return jax.nn.softmax(self.component_log_probs(r))

    @eqx.filter_jit
    def sample(self, key: PRNGKey, n: int) -> Batch:
        """``n`` exact draws ``mu_k V``, ``k ~ w``, ``V ~ IGSO(I, s_k^2)``."""
        key_k, key_v = jax.random.split(key)
        k = jax.random.choice(key_k, self.n_components, (n,), p=self.weights)
        v = jax.vmap(igso3_sample)(jax.random.split(key_v, n), self.scales[k])
        return compose(self.means[k], v)

    def noised(self, alpha, sigma) -> IGSO3Mixture:
        """The exact law of ``X W``, ``W ~ IGSO(I, sigma^2)`` (``alpha`` must be 1: SO(3)
        has no contraction): scales ``sqrt(s^2 + sigma^2)``."""
        if not is_traced(alpha) and not np.allclose(alpha, 1.0):
            raise ConfigError("noise", f"has alpha = {alpha}", "use VE noise on SO(3)")
        return IGSO3Mixture(self.weights, self.means, jnp.sqrt(self.scales**2 + sigma**2))
