"""Targets from a user log density or a NumPyro model.

:func:`from_log_prob` wraps any ``log_prob(x)`` of a flat ``(dim,)`` position and
differentiates it for the score. :func:`from_numpyro` builds a target on a NumPyro
model's *unconstrained* space: ``log_prob(z) = -U(z)`` where ``U`` is NumPyro's
potential energy (which includes the log-Jacobians of the constraining transforms),
and maps draws back to the named, constrained sites with :meth:`NumPyroTarget.constrain`.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._types import Batch, LogDensityFn, Position, Scalar
from .._validate import positive_int
from ..errors import ConfigError
from ._base import AbstractTarget


class LogDensityTarget(AbstractTarget):
    """A target from a user log density; the score is ``jax.grad(log_prob)``.

    Whether ``log_prob`` is normalised is up to the user.
    """

    fn: LogDensityFn = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def log_prob(self, x: Position) -> Scalar:
        return self.fn(x)


def from_log_prob(fn: LogDensityFn, dim: int) -> LogDensityTarget:
    """Wrap ``fn(x) -> scalar`` on flat ``(dim,)`` positions as a Target.

    Example:
        >>> t = from_log_prob(lambda x: -0.5 * jnp.sum(x**2), dim=3)
        >>> t.score(jnp.ones(3)).tolist()
        [-1.0, -1.0, -1.0]
    """
    if not callable(fn):
        raise ConfigError("log_prob", f"{fn!r} is not callable", "pass a function x -> scalar")
    dim = positive_int(dim, "dim")
    shape = jax.eval_shape(fn, jax.ShapeDtypeStruct((dim,), jnp.result_type(float))).shape
    if shape != ():
        raise ConfigError(
            "log_prob",
            f"returns shape {shape} for one position of shape ({dim},)",
            "return a scalar per position (callers vmap)",
        )
    return LogDensityTarget(fn, dim)


class NumPyroTarget(AbstractTarget):
    """A NumPyro model as a target on its flat unconstrained space; unnormalised.

    ``log_prob(z) = -potential_energy(unravel(z))``.
    """

    potential_fn: Callable = eqx.field(static=True)
    postprocess_fn: Callable = eqx.field(static=True)
    unravel: Callable = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    site_shapes: tuple[tuple[str, tuple[int, ...]], ...] = eqx.field(static=True)

    def log_prob(self, x: Position) -> Scalar:
        return -self.potential_fn(self.unravel(x))

    def unconstrained(self, x: Position) -> dict[str, jax.Array]:
        """The unconstrained sites of one flat position, by name."""
        return self.unravel(x)

    def constrain(self, xs: Batch) -> dict[str, jax.Array]:
        """Map a batch ``(n, dim)`` to the model's constrained sites (and deterministics),
        each with a leading axis of size ``n``."""
        return jax.vmap(lambda x: self.postprocess_fn(self.unravel(x)))(xs)

    def coordinate_names(self) -> list[str]:
        """One name per flat coordinate, e.g. ``["mu", "tau", "theta[0]", ...]``
        (unconstrained values: a positive site is its log)."""
        names = []
        for name, shape in self.site_shapes:
            if shape == ():
                names.append(name)
            else:
                names.extend(f"{name}[{','.join(map(str, i))}]" for i in np.ndindex(*shape))
        return names


def from_numpyro(model: Callable, *args, seed: int = 0, **kwargs) -> NumPyroTarget:
    """A Target on the unconstrained space of ``model(*args, **kwargs)``.

    Discrete latent sites are not supported (marginalise them out first).

    Example:
        >>> import numpyro
        >>> import numpyro.distributions as dist
        >>> def model(y):
        ...     mu = numpyro.sample("mu", dist.Normal(0, 5))
        ...     numpyro.sample("y", dist.Normal(mu, 1), obs=y)
        >>> target = from_numpyro(model, jnp.array([0.3, -0.1]))
        >>> target.dim
        1
    """
    from numpyro.infer.util import initialize_model

    if not callable(model):
        raise ConfigError("model", f"{model!r} is not callable", "pass a NumPyro model function")
    info = initialize_model(jax.random.PRNGKey(seed), model, model_args=args, model_kwargs=kwargs)
    params = info.param_info.z
    flat, unravel = ravel_pytree(params)
    if flat.size == 0:
        raise ConfigError(
            "model", "has no latent sample sites", "add at least one numpyro.sample site"
        )
    shapes = tuple((name, tuple(jnp.shape(params[name]))) for name in sorted(params))
    return NumPyroTarget(info.potential_fn, info.postprocess_fn, unravel, int(flat.size), shapes)
