"""What a sampler drives on: a log density, a clean score or a noised score, each given
explicitly (see :mod:`scoresample.roles`).

:func:`sampling_model` gathers them from an object (a target, a score or energy network)
and from keywords (``log_prob=``, ``score=``, ``noised_score=``) into a
:class:`SamplingModel`. An object gives every role it has a method for; a bare function
has none, so it must be passed by keyword: its role is never guessed from its signature.
The noise process of a noised score comes from the network that carries it or from
``process=``; two different processes are an error that names both.

The functions are kept as pytrees (bound methods of equinox Modules, or the small
adapters below), so :func:`scoresample.samplers.run` can pass a network's weights to the
compiled sampler as arguments rather than constants.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Position, Scalar
from ..errors import ConfigError, DataError
from ..groups.base import Group
from ..roles import CleanScoreModel, EnergyModel, LogDensityModel, NoisedScoreModel
from ..targets import ExactNoisedScore, NoisedMarginal

#: The roles a sampler may drive on, and what each is.
ROLES = {
    "log_prob": "a log density x -> scalar",
    "score": "a score x -> grad log p(x)",
    "noised_score": "a noised score (y, t) -> grad log p_t(y), with its process",
}


class NegativeEnergy(eqx.Module):
    """``x -> -E(x, t)``: the log density of an energy model at the fixed time ``t``."""

    model: EnergyModel
    t: float

    def __call__(self, x: Position) -> Scalar:
        return -self.model.energy(x, self.t)


class AtTime(eqx.Module):
    """``x -> s(x, t)``: a noised score read as a clean score at the fixed time ``t``."""

    noised_score: Callable
    t: float

    def __call__(self, x: Position) -> Position:
        return self.noised_score(x, self.t)


class SamplingModel(eqx.Module):
    """The functions a sampler may use, by role, and the noise process of the noised score.

    Attributes:
        log_prob: ``x -> log p(x)`` (possibly unnormalised), or None.
        score: ``x -> grad log p(x)``, or None.
        noised_score: ``(y, t) -> grad log p_t(y)``, or None.
        process: the noise process of ``noised_score`` (None if unknown).
        dim: dimension of positions, where the model knows it.
        coordinate_names: readable names of the coordinates (NumPyro targets), or None.
        group: the Lie group the positions live on (a target's or network's ``group``,
            :class:`~scoresample.groups.base.Group`), or None for ``R^d``.
    """

    log_prob: Callable | None
    score: Callable | None
    noised_score: Callable | None
    process: eqx.Module | None
    dim: int | None = eqx.field(static=True)
    coordinate_names: tuple[str, ...] | None = eqx.field(static=True)
    group: Group | None = eqx.field(static=True, default=None)

    def require(self, role: str, sampler: str) -> Callable:
        """The function of ``role``, or a ConfigError saying how to give it."""
        if role == "noised_score" and self.process is None:
            raise ConfigError(
                "process",
                f"{sampler} needs the noise process of the noised score",
                "pass process=VE(...) or VP(), or a network trained by fit (it carries one)",
            )
        fn = getattr(self, role)
        if fn is None:
            raise ConfigError(
                "model",
                f"{sampler} needs {ROLES[role]}, and the model gives none",
                f"pass an object with {role} (or energy), or the function as {role}=...",
            )
        return fn


def sampling_model(
    model=None,
    *,
    log_prob: Callable | None = None,
    score: Callable | None = None,
    noised_score: Callable | None = None,
    process=None,
    t_min: float = 0.0,
) -> SamplingModel:
    """The roles of ``model`` and of the keyword functions, as a :class:`SamplingModel`.

    From an object (a :class:`SamplingModel` gives the roles it holds): ``log_prob`` from
    its ``log_prob`` or, for an energy model, ``-energy(x, t_min)``; ``score`` from its
    ``score`` or, for a score network, ``model(x, t_min)``; ``noised_score`` from a score
    network (with its process) or, for a target with a closed-form noised marginal, the
    exact noised score under ``process``.

    Raises:
        ConfigError: a bare function passed positionally, a role given twice, or two
            different noise processes.

    Example:
        >>> sampling_model(log_prob=lambda x: -0.5 * x @ x).log_prob is not None
        True
    """
    process = _one_process(getattr(model, "process", None), process)
    roles = _from_object(model, process, t_min) if model is not None else {}
    for role, fn in (("log_prob", log_prob), ("score", score), ("noised_score", noised_score)):
        if fn is not None:
            if roles.get(role) is not None:
                raise ConfigError(
                    role, "is given twice, by the model and by keyword", "give it once"
                )
            roles[role] = fn
    return SamplingModel(
        roles.get("log_prob"),
        roles.get("score"),
        roles.get("noised_score"),
        process,
        _dim(model),
        _coordinate_names(model),
        getattr(model, "group", None),
    )


def _from_object(model, process, t_min: float) -> dict:
    """The roles an object has methods for; a ConfigError for an object with none."""
    if isinstance(model, SamplingModel):
        return {role: getattr(model, role) for role in ROLES if getattr(model, role) is not None}
    roles = {}
    if isinstance(model, LogDensityModel):
        roles["log_prob"] = model.log_prob
    elif isinstance(model, EnergyModel):
        roles["log_prob"] = NegativeEnergy(model, t_min)
    if isinstance(model, CleanScoreModel):
        roles["score"] = model.score
    elif isinstance(model, NoisedScoreModel):
        roles["score"] = AtTime(model.noised_score, t_min)
    if isinstance(model, NoisedScoreModel):
        roles["noised_score"] = model.noised_score
    elif isinstance(model, NoisedMarginal):
        roles["noised_score"] = ExactNoisedScore(model, process) if process is not None else None
    if not roles:
        kind = "a bare function" if callable(model) else f"a {type(model).__name__}"
        raise ConfigError(
            "model",
            f"is {kind}, which has no role (no log_prob, score, noised_score or energy)",
            "pass it by keyword: log_prob=f for x -> log p(x), score=f for x -> grad log p(x),"
            " or noised_score=f for (y, t) -> grad log p_t(y) with process=...",
        )
    return roles


def _one_process(carried, given):
    """The process carried by the model or given; a ConfigError naming both if they differ."""
    if carried is not None and given is not None and not eqx.tree_equal(carried, given):
        raise ConfigError(
            "process",
            f"is {given} but the model carries {carried}",
            "leave process out (the model's is used) or pass the same one",
        )
    return carried if carried is not None else given


def _dim(model) -> int | None:
    dim = getattr(model, "dim", None)
    return int(dim) if dim is not None else None


def _coordinate_names(model) -> tuple[str, ...] | None:
    names = getattr(model, "coordinate_names", None)
    return tuple(names()) if callable(names) else None


def check_output(fn: Callable, role: str, dim: int, sampler: str) -> None:
    """Evaluate ``fn``'s output shape on one position ``(dim,)``; a DataError if it is not
    what ``role`` returns (a scalar log density, a ``(dim,)`` score)."""
    position = jax.ShapeDtypeStruct((dim,), jnp.zeros(()).dtype)
    args = (position, jax.ShapeDtypeStruct((), position.dtype))[
        : 2 if role == "noised_score" else 1
    ]
    shape = jax.eval_shape(fn, *args).shape
    expected = () if role == "log_prob" else (dim,)
    if shape != expected:
        raise DataError(
            role,
            f"returns shape {tuple(shape)} for a position of shape ({dim},); {sampler} needs "
            f"{ROLES[role]} of shape {expected}",
            "return one value per position (vmap over batches), with the model's dimension",
        )
