"""ArviZ for every run: chains as InferenceData / DataTree, a summary, and netCDF files.

The only module of the package that imports ArviZ. It works with ArviZ 0.2x (an
``InferenceData``) and ArviZ 1.x (an ``xarray.DataTree``); both hold a ``posterior``
group with the variable ``x`` of dims ``(chain, draw, dim)`` and a ``sample_stats``
group with the names ArviZ expects (``diverging``, ``energy``, ``acceptance_rate``,
``step_size``, ``tree_depth``, ``n_steps``, ``lp``, plus ``n_grad_evals``).

References:
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding,
    and localization: an improved R-hat, Bayesian Analysis 16(2) (R-hat, bulk/tail ESS).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .._io import atomic_path
from ..chains import Chains
from ..errors import DataError, OutputError
from .convergence import ChainSummary, convergence_warnings, energy_bfmi

with warnings.catch_warnings():
    # ArviZ 0.2x announces its refactor with a FutureWarning once a day on import.
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

ARVIZ_MAJOR = int(az.__version__.split(".")[0])

#: Columns of :attr:`ChainSummary.table`, in this order, under both ArviZ versions.
SUMMARY_COLUMNS = ("mean", "sd", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")

_AXES = "xyz"


def coordinate_names(chains: Chains, target=None) -> list[str]:
    """Readable names for the ``dim`` axis: the chains' own, else the target's.

    NumPyro targets name their unconstrained sites (``"mu"``, ``"theta[0]"``); particle
    targets name particle and axis (``"p0.x"``, ``"p0.y"``, ...); otherwise ``"0"``,
    ``"1"``, ...
    """
    if chains.coordinate_names is not None:
        names = list(chains.coordinate_names)
    elif target is not None and hasattr(target, "coordinate_names"):
        names = list(target.coordinate_names())
    elif target is not None and hasattr(target, "n_particles") and hasattr(target, "space_dim"):
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


def _constrained_sites(chains: Chains, target) -> dict[str, np.ndarray]:
    """A NumPyro target's constrained sites, each shaped ``(chain, draw, *site_shape)``."""
    if target is None or not hasattr(target, "constrain"):
        return {}
    sites = target.constrain(chains.flat())
    lead = (chains.n_chains, chains.n_draws)
    return {
        (name if name != "x" else "x_site"): np.asarray(v).reshape(lead + np.shape(v)[1:])
        for name, v in sites.items()
    }


def _json_default(value):
    """JSON for arrays and NumPy / JAX scalars in settings; ``repr`` for anything else."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def to_inference_data(chains: Chains, target=None):
    """ArviZ's container for ``chains``: ``InferenceData`` (ArviZ 0.x) or ``DataTree`` (1.x).

    ``posterior.x`` has dims ``(chain, draw, dim)`` with readable ``dim`` coordinates
    (see :func:`coordinate_names`); a NumPyro target adds its constrained sites as
    further posterior variables. ``sample_stats`` holds ``chains.stats``. The sampler
    name, timing and settings are kept as JSON attributes of the posterior group.

    Args:
        chains: the run.
        target: optional target, for coordinate names and constrained NumPyro sites.

    Returns:
        ``arviz.InferenceData`` under ArviZ 0.x, ``xarray.DataTree`` under ArviZ 1.x.

    Example:
        >>> idata = to_inference_data(chains, target)
        >>> idata["posterior"]["x"].dims
        ('chain', 'draw', 'dim')
    """
    posterior = {"x": chains.positions, **_constrained_sites(chains, target)}
    coords = {"dim": coordinate_names(chains, target)}
    dims = {"x": ["dim"]}
    stats = dict(chains.stats)
    if ARVIZ_MAJOR == 0:
        # 0.x: groups are keyword arguments; a positional dict would become one variable.
        # Many one-draw chains (independent particles) are a deliberate layout here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="More chains", category=UserWarning)
            idata = az.from_dict(posterior=posterior, sample_stats=stats, coords=coords, dims=dims)
    else:
        # 1.x: one dict of groups; the 0.x keywords raise.
        groups = {"posterior": posterior, **({"sample_stats": stats} if stats else {})}
        idata = az.from_dict(groups, coords=coords, dims=dims)
    idata["posterior"].attrs.update(
        scoresample_sampler=chains.sampler,
        scoresample_timing=json.dumps(chains.timing, default=_json_default),
        scoresample_settings=json.dumps(chains.settings, default=_json_default),
    )
    return idata


def _summary_table(idata):
    """ArviZ's summary, raw numbers, restricted to :data:`SUMMARY_COLUMNS`."""
    # Constant draws give 0 / 0 inside R-hat and ESS; ArviZ returns NaN, which we report.
    with np.errstate(invalid="ignore", divide="ignore"):
        table = az.summary(idata, round_to="none")
    return table.loc[:, list(SUMMARY_COLUMNS)].astype(float)


def summary(chains: Chains, target=None) -> ChainSummary:
    """Per-coordinate mean, sd, MCSE, bulk/tail ESS and R-hat, divergences, E-BFMI and
    plain-language warnings.

    Rows are ArviZ's labels: ``x[<coordinate name>]`` for the sampled coordinates and,
    for NumPyro targets, ``<site>`` / ``<site>[i]`` for the constrained sites. Columns
    are :data:`SUMMARY_COLUMNS`.

    Warnings: R-hat > 1.01; bulk ESS below 100 per chain; any divergence; E-BFMI below
    0.3 (where ``energy`` was recorded); chains whose central 98% ranges do not overlap
    in some coordinate (stuck in different modes).

    Args:
        chains: the run.
        target: optional target, for readable names (see :func:`to_inference_data`).

    Returns:
        A :class:`ChainSummary`; ``print`` it for a readable report.

    Example:
        >>> report = summary(chains)
        >>> report.table.loc["x[0]", "r_hat"], report.warnings
    """
    table = _summary_table(to_inference_data(chains, target))
    diverging = chains.stats.get("diverging")
    n_divergent = int(np.sum(diverging)) if diverging is not None else 0
    energy = chains.stats.get("energy")
    bfmi = energy_bfmi(energy) if energy is not None else None
    messages = convergence_warnings(table, chains, n_divergent, bfmi)
    return ChainSummary(table=table, n_divergent=n_divergent, bfmi=bfmi, warnings=messages)


def ess_bulk(positions: np.ndarray) -> np.ndarray:
    """Bulk effective sample size of each coordinate of ``(chain, draw, dim)`` draws."""
    chains = Chains(np.asarray(positions))
    return _summary_table(to_inference_data(chains))["ess_bulk"].to_numpy()


def save_chains(chains: Chains, path: str | os.PathLike, target=None) -> Path:
    """Write ``chains`` as ArviZ netCDF (groups ``posterior``, ``sample_stats``), atomically.

    Readable with ``arviz.from_netcdf`` and with :func:`load_chains`.

    Example:
        >>> save_chains(chains, "run/chains.nc")
    """
    idata = to_inference_data(chains, target)
    try:
        with atomic_path(path) as tmp:
            idata.to_netcdf(tmp, engine="h5netcdf")
    except ImportError as exc:
        raise OutputError(
            str(path), f"cannot write netCDF ({exc})", "pip install 'h5netcdf[h5py]'"
        ) from None
    return Path(path)


def _read_group(path: Path, group: str) -> xr.Dataset | None:
    """One group of a netCDF file, loaded into memory (the file is closed), or None."""
    try:
        with xr.open_dataset(path, group=group, engine="h5netcdf") as ds:
            return ds.load()
    except OSError:
        return None


def load_chains(path: str | os.PathLike) -> Chains:
    """Read chains written by :func:`save_chains` (or any ArviZ netCDF with ``posterior.x``).

    Settings come back as JSON values (arrays as lists).

    Example:
        >>> chains = load_chains("run/chains.nc")
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), "does not exist", "give the path of a saved chains file")
    posterior = _read_group(path, "posterior")
    if posterior is None or "x" not in posterior:
        raise DataError(
            str(path),
            "has no posterior variable 'x'",
            "load a file written by scoresample.diagnostics.save_chains",
        )
    x = posterior["x"].transpose("chain", "draw", ...)
    names = [str(v) for v in x[x.dims[-1]].values] if x.dims[-1] in x.coords else None
    stats_ds = _read_group(path, "sample_stats")
    stats = {k: v.transpose("chain", "draw").values for k, v in (stats_ds or {}).items()}
    attrs = posterior.attrs
    return Chains(
        positions=x.values,
        stats=stats,
        sampler=str(attrs.get("scoresample_sampler", "unknown")),
        timing=json.loads(attrs.get("scoresample_timing", "{}")),
        settings=json.loads(attrs.get("scoresample_settings", "{}")),
        coordinate_names=None if names == [str(i) for i in range(x.shape[-1])] else names,
    )
