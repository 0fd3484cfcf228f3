"""Reading chains from netCDF-4 files: ours (``save_chains``) and ArviZ's, NumPyro's, PyMC's.

All of them are ArviZ's layout: HDF5 groups ``posterior`` and ``sample_stats`` of
variables ``(chain, draw, ...)``. Files written by
:func:`scoresample.diagnostics.save_chains` are recognised by the posterior attribute
``scoresample_sampler`` and come back as :class:`~scoresample.Chains` with their
sampler, particles flag, timing and settings. Groups are read into memory and the file
is closed.
"""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from ..chains import Chains
from ..errors import DataError

#: The groups diagnostics read.
GROUPS = ("posterior", "sample_stats")


def _read_group(path: Path, name: str) -> xr.Dataset | None:
    """One group of a netCDF-4 file, loaded into memory (the file is closed), or None."""
    try:
        with xr.open_dataset(path, group=name, engine="h5netcdf") as ds:
            return ds.load()
    except OSError:
        return None


def read_groups(path: Path) -> dict[str, xr.Dataset]:
    """The ``posterior`` and (where present and not empty) ``sample_stats`` groups.

    Raises:
        DataError: the file does not exist, or is not netCDF-4 with a posterior group.
    """
    if not path.is_file():
        raise DataError(str(path), "does not exist", "give the path of a netCDF file of chains")
    groups = {name: _read_group(path, name) for name in GROUPS}
    if groups["posterior"] is None:
        raise DataError(
            str(path),
            "is not a netCDF-4 file with a posterior group",
            "give a file written by ArviZ (to_netcdf), NumPyro, PyMC or save_chains",
        )
    return {name: ds for name, ds in groups.items() if ds is not None and ds.data_vars}


def is_particles(posterior: xr.Dataset) -> bool:
    """Whether a posterior group says its draws are independent particles."""
    return bool(int(posterior.attrs.get("scoresample_particles", 0)))


def saved_chains(groups: dict[str, xr.Dataset]) -> Chains | None:
    """The Chains a :func:`~scoresample.diagnostics.save_chains` file holds, else None."""
    posterior, stats = groups["posterior"], groups.get("sample_stats")
    attrs = posterior.attrs
    if "scoresample_sampler" not in attrs or "x" not in posterior or posterior["x"].ndim != 3:
        return None
    x = posterior["x"].transpose("chain", "draw", ...)
    names = [str(v) for v in x[x.dims[-1]].values] if x.dims[-1] in x.coords else None
    return Chains(
        positions=x.values,
        stats={k: v.transpose("chain", "draw").values for k, v in (stats or {}).items()},
        sampler=str(attrs["scoresample_sampler"]),
        timing=json.loads(attrs.get("scoresample_timing", "{}")),
        settings=json.loads(attrs.get("scoresample_settings", "{}")),
        coordinate_names=None if names == [str(i) for i in range(x.shape[-1])] else names,
        particles=is_particles(posterior),
    )
