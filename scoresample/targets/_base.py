"""The Target contract and its capabilities.

A target is known through its score. Every target has a dimension ``dim``, a log
density ``log_prob(x)`` (normalised unless its docstring says otherwise) and a score
``score(x) = grad log_prob(x)``, all for a single flat position ``x`` of shape
``(dim,)``; callers vmap. Capabilities are separate protocols, never flags:

- :class:`ExactSampler`: ``sample(key, n) -> (n, dim)`` i.i.d. draws.
- :class:`NoisedMarginal`: ``noised(alpha, sigma)``, the target of ``alpha X + sigma W``
  with ``W ~ N(0, I)``, itself a closed-form target.
- :class:`KnownNormaliser`: ``log_Z``, so that ``log_prob(x) - log_Z`` is normalised.
- :class:`MeanFree`: ``remove_mean(xs)``, for targets invariant to translations (improper
  along the centre of mass): samples are compared, and chains diagnosed, after it.
- :class:`ParticleSystem`: ``n_particles`` particles in ``space_dim`` dimensions, with
  ``energy(x)`` and ``distances(xs)``; positions stay flat, ``(n_particles * space_dim,)``.

Targets are equinox Modules: they pass through ``jit`` and ``vmap`` as data.
"""

from __future__ import annotations

import abc
import functools
from typing import Protocol, runtime_checkable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Batch, Position, PRNGKey, Scalar
from .._validate import check_position


@runtime_checkable
class Target(Protocol):
    """Anything with ``dim``, ``log_prob(x)`` and ``score(x)``."""

    @property
    def dim(self) -> int: ...

    def log_prob(self, x: Position) -> Scalar: ...

    def score(self, x: Position) -> Position: ...


@runtime_checkable
class ExactSampler(Protocol):
    """A target that draws exact i.i.d. samples."""

    def sample(self, key: PRNGKey, n: int) -> Batch: ...


@runtime_checkable
class NoisedMarginal(Protocol):
    """A target whose noised marginal ``alpha X + sigma W`` is closed form."""

    def noised(self, alpha, sigma) -> Target: ...


@runtime_checkable
class KnownNormaliser(Protocol):
    """A target whose log normalising constant is known."""

    @property
    def log_Z(self) -> float: ...


class ExactNoisedScore(eqx.Module):
    """``(y, t) -> grad log p_t(y)`` of a target with a closed-form noised marginal, for the
    noise process ``process`` (``p_t`` is the law of ``alpha(t) X + sigma(t) W``).

    Example:
        >>> exact = ExactNoisedScore(ncsn_toy(), VE(0.01, 10.0))
        >>> exact(jnp.zeros(2), 0.5)
    """

    target: NoisedMarginal
    process: eqx.Module

    def __call__(self, y: Position, t: Scalar) -> Position:
        alpha, sigma = self.process.alpha(t), self.process.sigma(t)
        return self.target.noised(alpha, sigma).score(y)

    def noised_score(self, y: Position, t: Scalar) -> Position:
        """``self(y, t)``: the role :class:`~scoresample.roles.NoisedScoreModel`."""
        return self(y, t)


class AbstractTarget(eqx.Module):
    """Base class for built-in targets: ``score`` defaults to ``jax.grad(log_prob)``.

    Subclasses provide ``dim`` (a static field or a property). Those with a closed-form
    score override :meth:`score`; the test suite checks every override against autodiff.
    Every ``log_prob`` and ``score`` a subclass defines checks that its input is one
    position of shape ``(dim,)`` and raises a :class:`~scoresample.errors.DataError` naming
    both shapes (a wrong dimension would otherwise surface as a broadcasting error deep
    inside the formula), and is compiled on its first call (``eqx.filter_jit``): an eager
    call runs one program rather than dispatching its operations one by one, and inside
    ``jit`` or ``vmap`` it is inlined.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("log_prob", "score"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "checks_position", False):
                setattr(cls, name, _checking_position(method, name))

    @abc.abstractmethod
    def log_prob(self, x: Position) -> Scalar:
        """Log density at one position ``x`` of shape ``(dim,)``."""

    @eqx.filter_jit
    def score(self, x: Position) -> Position:
        """Score ``grad_x log_prob(x)``."""
        return jax.grad(self.log_prob)(x)

    @eqx.filter_jit
    def log_prob_batch(self, xs: Batch) -> jax.Array:
        """``log_prob`` over a batch ``(n, dim)``."""
        return jax.vmap(self.log_prob)(xs)

    @eqx.filter_jit
    def score_batch(self, xs: Batch) -> Batch:
        """``score`` over a batch ``(n, dim)``."""
        return jax.vmap(self.score)(xs)


def _checking_position(method, name: str):
    """``method(self, x)`` preceded by the check that ``x`` has shape ``(self.dim,)``."""

    compiled = eqx.filter_jit(method)

    @functools.wraps(method)
    def checked(self, x):
        check_position(x, self.dim, f"{type(self).__name__}.{name} input")
        return compiled(self, jnp.asarray(x))  # (a list or float would be a static input)

    checked.checks_position = True
    return checked


@runtime_checkable
class MeanFree(Protocol):
    """A target invariant to translations, hence improper along the centre of mass.

    ``remove_mean(xs)`` projects a batch ``(n, dim)`` onto the zero-centre-of-mass
    subspace. The centre of mass of a chain on such a target is a free random walk, so
    samples are compared, and chains diagnosed, after the projection.
    """

    def remove_mean(self, xs: Batch) -> Batch: ...


@runtime_checkable
class ParticleSystem(Protocol):
    """``n_particles`` particles in ``space_dim`` dimensions with a pair energy.

    Flat positions ``x`` of shape ``(n_particles * space_dim,)`` hold particle ``i``'s
    coordinates at ``x[i * space_dim : (i + 1) * space_dim]``. ``energy(x)`` is the
    potential (``log_prob = -energy``), ``distances(xs)`` the interparticle distances of
    a batch, ``(n, n_particles (n_particles - 1) / 2)``.
    """

    @property
    def n_particles(self) -> int: ...

    @property
    def space_dim(self) -> int: ...

    def energy(self, x: Position) -> Scalar: ...

    def distances(self, xs: Batch) -> Batch: ...


def capabilities(target) -> list[str]:
    """Names of the optional capabilities ``target`` offers, e.g. ``["sample", "log_Z"]``
    (``"remove_mean"`` for a :class:`MeanFree` target)."""
    found = []
    if isinstance(target, ExactSampler):
        found.append("sample")
    if isinstance(target, NoisedMarginal):
        found.append("noised")
    if isinstance(target, KnownNormaliser) and getattr(target, "log_Z", None) is not None:
        found.append("log_Z")
    if isinstance(target, MeanFree):
        found.append("remove_mean")
    return found
