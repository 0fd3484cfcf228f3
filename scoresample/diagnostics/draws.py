"""The draws that diagnostics look at: a posterior flattened to ``(chain, draw, k)`` with
ArviZ's labels, mean-free targets' draws centred, and the names of our Chains'
coordinates (and a NumPyro target's constrained sites) as posterior variables.

Every input of :func:`scoresample.diagnostics.summary` becomes an ArviZ posterior group
(an ``xarray.Dataset`` of variables ``(chain, draw, *shape)``). Warnings that read the
draws themselves (chains stuck in different modes, non-finite draws) and plots need
one array: every variable, flattened in C order over its own dimensions, side by side.
Its labels are the row labels of ArviZ's summary, the same under ArviZ 0.x and 1.x:
``mu`` for a scalar, ``theta[0]`` and ``theta[0, 1]`` (coordinate values, so
``theta[Choate]`` where a dimension has named coordinates).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import xarray as xr

from ..chains import Chains
from ..errors import DataError
from ..targets import MeanFree, ParticleSystem

SAMPLE_DIMS = ("chain", "draw")
_AXES = "xyz"


def variable_labels(name: str, variable: xr.DataArray) -> list[str]:
    """ArviZ's summary labels of one variable ``(chain, draw, *shape)``, in C order.

    ``name`` for a scalar; ``name[i, j]`` with each dimension's coordinate values
    (positions where a dimension has no coordinate).
    """
    dims = [d for d in variable.dims if d not in SAMPLE_DIMS]
    if not dims:
        return [name]
    values = [
        variable[d].values if d in variable.coords else np.arange(variable.sizes[d]) for d in dims
    ]
    return [f"{name}[{', '.join(str(v) for v in index)}]" for index in itertools.product(*values)]


def _numeric(variable: xr.DataArray) -> bool:
    """A variable ArviZ summarises: sampled (``chain`` and ``draw`` dims) and numeric."""
    sampled = all(d in variable.dims for d in SAMPLE_DIMS)
    return sampled and (variable.dtype.kind in "biuf")


def flatten_posterior(posterior: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every numeric posterior variable as columns of one ``(chain, draw, k)`` float array.

    Returns:
        ``(draws, labels)``: ``labels[j]`` names column ``j`` as ArviZ's summary does.

    Example:
        >>> draws, labels = flatten_posterior(idata["posterior"])
    """
    columns, labels = [], []
    for name, variable in posterior.data_vars.items():
        if not _numeric(variable):
            continue
        variable = variable.transpose(*SAMPLE_DIMS, ...)
        n_chains, n_draws = variable.shape[:2]
        columns.append(np.asarray(variable.values, np.float64).reshape(n_chains, n_draws, -1))
        labels += variable_labels(str(name), variable)
    if not columns:
        return np.zeros((0, 0, 0)), []
    return np.concatenate(columns, axis=2), labels


def centred(chains: Chains, target) -> Chains:
    """For a :class:`~scoresample.targets.MeanFree` target, the draws projected onto the
    zero-centre-of-mass subspace (``target.remove_mean``); otherwise ``chains``.

    Such a density is invariant to translations, so the centre of mass of a chain is a
    random walk that no sampler mixes: R-hat and ESS of the raw coordinates would only
    report that walk, not how well the internal coordinates are explored.
    """
    if not isinstance(target, MeanFree) or chains.dim == 0:
        return chains
    flat = np.asarray(target.remove_mean(chains.flat()))
    return dataclasses.replace(chains, positions=flat.reshape(chains.positions.shape))


def coordinate_names(chains: Chains, target=None) -> list[str]:
    """Readable names for the ``dim`` axis: the chains' own, else the target's.

    NumPyro targets name their unconstrained sites (``"mu"``, ``"theta[0]"``);
    :class:`~scoresample.targets.ParticleSystem` targets name particle and axis
    (``"p0.x"``, ``"p0.y"``, ...); otherwise ``"0"``, ``"1"``, ...
    """
    if chains.coordinate_names is not None:
        names = list(chains.coordinate_names)
    elif target is not None and hasattr(target, "coordinate_names"):
        names = list(target.coordinate_names())
    elif isinstance(target, ParticleSystem):
        axes = _AXES if target.space_dim <= 3 else [str(a) for a in range(target.space_dim)]
        names = [
            f"p{i}.{axes[a]}" for i in range(target.n_particles) for a in range(target.space_dim)
        ]
    else:
        names = [str(i) for i in range(chains.dim)]
    if len(names) != chains.dim:
        raise DataError(
            "chains.coordinate_names",
            f"has {len(names)} names for {chains.dim} dimensions",
            "give one name per dimension or None",
        )
    return names


def constrained_sites(chains: Chains, target) -> dict[str, np.ndarray]:
    """A NumPyro target's constrained sites, each shaped ``(chain, draw, *site_shape)``."""
    if target is None or not hasattr(target, "constrain"):
        return {}
    sites = target.constrain(chains.flat())
    lead = (chains.n_chains, chains.n_draws)
    return {
        (name if name != "x" else "x_site"): np.asarray(v).reshape(lead + np.shape(v)[1:])
        for name, v in sites.items()
    }
