"""ArviZ for every chain: the one conversion layer from any run to ArviZ's container, ArviZ's
summary table, and netCDF files.

The only module of the package that imports ArviZ. It works with ArviZ 0.2x (an
``InferenceData``) and ArviZ 1.x (an ``xarray.DataTree``). Its entry points, and through
them :func:`scoresample.diagnostics.summary`, metrics and plots, take one family of
inputs (see :func:`to_inference_data`): our :class:`~scoresample.Chains`;
arrays ``(chain, draw)`` or ``(chain, draw, dim)``; dicts of such arrays; ArviZ's own
containers; NumPyro ``MCMC`` objects; and paths of netCDF files written by ArviZ,
NumPyro, PyMC or :func:`save_chains`. Our Chains become a ``posterior`` group with the
variable ``x`` of dims ``(chain, draw, dim)`` and a ``sample_stats`` group with the
names ArviZ expects (``diverging``, ``energy``, ``acceptance_rate``, ``step_size``,
``tree_depth``, ``n_steps``, ``lp``, plus ``n_grad_evals``).

References:
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding,
    and localization: an improved R-hat, Bayesian Analysis 16(2) (R-hat, bulk/tail ESS).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from .._io import atomic_path
from ..chains import Chains
from ..errors import DataError, OutputError
from .draws import centred, constrained_sites, coordinate_names, flatten_posterior
from .netcdf import is_particles, read_groups, saved_chains

with warnings.catch_warnings():
    # ArviZ 0.2x announces its refactor with a FutureWarning once a day on import, and
    # records the day in a file of the user's cache by writing ``daily_warning.tmp`` and
    # renaming it. Two processes importing it at once on a new day (test workers, a pool)
    # race on that rename, and the loser's import fails with FileNotFoundError; by then
    # the winner has recorded the day, so a second import does not write it.
    warnings.simplefilter("ignore", FutureWarning)
    try:
        import arviz as az
    except FileNotFoundError:
        import arviz as az

ARVIZ_MAJOR = int(az.__version__.split(".")[0])

#: Columns of :attr:`~.convergence.ChainSummary.table`, in this order, under both ArviZ versions.
SUMMARY_COLUMNS = ("mean", "sd", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")
#: What every entry point accepts, for error messages.
ACCEPTED = (
    "pass Chains, an array (chain, draw) or (chain, draw, dim), a dict of such arrays, "
    "an ArviZ InferenceData or DataTree, a NumPyro MCMC, or the path of a netCDF file"
)


def _json_default(value):
    """JSON for arrays and NumPy / JAX scalars in settings; ``repr`` for anything else."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


# -- ArviZ 0.x / 1.x: the only places that differ ---------------------------------------


def _from_dict(posterior: dict, stats: dict | None = None, coords=None, dims=None):
    """ArviZ's container of ``posterior`` (and ``sample_stats``) arrays ``(chain, draw, ...)``."""
    if ARVIZ_MAJOR == 0:
        # 0.x: groups are keyword arguments; a positional dict would become one variable.
        # Many one-draw chains (independent particles) are a deliberate layout here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="More chains", category=UserWarning)
            return az.from_dict(posterior=posterior, sample_stats=stats, coords=coords, dims=dims)
    # 1.x: one dict of groups; the 0.x keywords raise.
    groups = {"posterior": posterior, **({"sample_stats": stats} if stats else {})}
    return az.from_dict(groups, coords=coords, dims=dims)


def _container(groups: dict[str, xr.Dataset]):
    """ArviZ's container of ready ``xarray.Dataset`` groups."""
    if ARVIZ_MAJOR == 0:
        return az.InferenceData(**groups)
    return xr.DataTree.from_dict(groups)


def _is_container(data) -> bool:
    if isinstance(data, xr.DataTree):
        return True
    return ARVIZ_MAJOR == 0 and isinstance(data, az.InferenceData)


def group(container, name: str) -> xr.Dataset | None:
    """Group ``name`` (``"posterior"``, ``"sample_stats"``) of an ArviZ container, or None."""
    names = container.groups() if ARVIZ_MAJOR == 0 else list(container.children)
    if name not in [n.strip("/") for n in names]:
        return None
    found = container[name]
    return found if isinstance(found, xr.Dataset) else found.to_dataset()


# -- Any input -> our Chains or an ArviZ container ---------------------------------------


def is_array_like(data) -> bool:
    """A NumPy / JAX array, a list or a tuple (not a Chains or an xarray container)."""
    if isinstance(data, Chains | xr.Dataset | xr.DataTree) or _is_container(data):
        return False
    return isinstance(data, np.ndarray | list | tuple) or (
        hasattr(data, "__array__") and hasattr(data, "shape")
    )


def _is_numpyro_mcmc(data) -> bool:
    if not type(data).__module__.startswith("numpyro."):
        return False
    from numpyro.infer import MCMC

    return isinstance(data, MCMC)


def _from_array(data):
    """``(chain, draw, dim)`` as Chains; ``(chain, draw)`` as the scalar variable ``x``."""
    array = np.asarray(data)
    if array.dtype.kind not in "biuf" or array.ndim not in (2, 3) or 0 in array.shape:
        raise DataError(
            "data",
            f"is an array of shape {array.shape} and dtype {array.dtype}",
            "pass numeric draws of shape (chain, draw) or (chain, draw, dim)",
        )
    return Chains(array) if array.ndim == 3 else _from_dict({"x": array})


def _from_mapping(data: Mapping):
    """A dict ``name -> (chain, draw, *shape)`` as ArviZ's container."""
    arrays = {str(name): np.asarray(value) for name, value in data.items()}
    for name, array in arrays.items():
        if array.ndim < 2 or array.dtype.kind not in "biuf":
            raise DataError(
                f"data[{name!r}]",
                f"has shape {array.shape} and dtype {array.dtype}",
                "give every variable as numeric draws (chain, draw, ...)",
            )
    leads = sorted({a.shape[:2] for a in arrays.values()})
    if len(leads) != 1:
        raise DataError(
            "data",
            "is empty" if not leads else f"mixes (chain, draw) shapes {leads}",
            "give every variable the same chains and draws",
        )
    return _from_dict(arrays)


def _checked(container):
    if group(container, "posterior") is None:
        raise DataError("data", "has no posterior group", "pass the result of a sampling run")
    return container


def _source(data):
    """Our :class:`Chains` (Chains, ``(chain, draw, dim)`` arrays, files we wrote) or an
    ArviZ container with a posterior group (everything else); DataError otherwise."""
    if isinstance(data, Chains):
        return data
    if isinstance(data, str | os.PathLike):
        groups = read_groups(Path(data))
        ours = saved_chains(groups)
        return ours if ours is not None else _container(groups)
    if isinstance(data, xr.DataTree) and ARVIZ_MAJOR == 0:
        return _checked(az.from_datatree(data))
    if _is_container(data):
        return _checked(data)
    if isinstance(data, xr.Dataset):
        return _checked(_container({"posterior": data}))
    if _is_numpyro_mcmc(data):
        # Without the log likelihood (ArviZ 1.x's default): no model re-evaluation.
        return az.from_numpyro(data, log_likelihood=False)
    if isinstance(data, Mapping):
        return _from_mapping(data)
    if is_array_like(data):
        return _from_array(data)
    raise DataError("data", f"is a {type(data).__name__}", ACCEPTED)


def _from_chains(chains: Chains, target=None):
    """Our Chains as ArviZ's container (see :func:`to_inference_data`)."""
    posterior = {"x": chains.positions, **constrained_sites(chains, target)}
    coords = {"dim": coordinate_names(chains, target)}
    idata = _from_dict(posterior, dict(chains.stats), coords=coords, dims={"x": ["dim"]})
    idata["posterior"].attrs.update(
        scoresample_sampler=chains.sampler,
        scoresample_particles=int(chains.particles),
        scoresample_timing=json.dumps(chains.timing, default=_json_default),
        scoresample_settings=json.dumps(chains.settings, default=_json_default),
    )
    return idata


def to_inference_data(data, target=None):
    """ArviZ's container for any run: ``InferenceData`` (ArviZ 0.x) or ``DataTree`` (1.x).

    Accepted ``data``:

    - :class:`~scoresample.Chains`: ``posterior.x`` of dims ``(chain, draw, dim)`` with
      readable ``dim`` coordinates (see :func:`coordinate_names`); a NumPyro target adds
      its constrained sites as further variables. ``sample_stats`` holds
      ``chains.stats``; sampler, particles, timing and settings are attributes of the
      posterior group.
    - an array ``(chain, draw, dim)`` (as Chains) or ``(chain, draw)`` (the variable ``x``);
    - a dict ``name -> (chain, draw, *shape)`` array (posterior variables);
    - an ArviZ ``InferenceData`` or ``xarray.DataTree`` with a posterior group (returned
      as it is), or an ``xarray.Dataset`` (taken as the posterior);
    - a NumPyro ``MCMC`` after ``run`` (``arviz.from_numpyro``, without the log
      likelihood);
    - the path of a netCDF file written by ArviZ, NumPyro, PyMC or :func:`save_chains`
      (its ``posterior`` and ``sample_stats`` groups).

    Args:
        data: the run, as above.
        target: optional target, for coordinate names and constrained NumPyro sites of
            Chains.

    Returns:
        ``arviz.InferenceData`` under ArviZ 0.x, ``xarray.DataTree`` under ArviZ 1.x.

    Raises:
        DataError: for any other input, naming what is accepted.

    Example:
        >>> idata = to_inference_data(np.zeros((4, 100, 3)))  # (chain, draw, dim)
        >>> idata["posterior"]["x"].dims
        ('chain', 'draw', 'dim')
    """
    source = _source(data)
    return _from_chains(source, target) if isinstance(source, Chains) else source


def prepared(data, target=None):
    """ArviZ's container of any input, our Chains centred first for a mean-free ``target``
    (see :func:`scoresample.diagnostics.draws.centred`)."""
    source = _source(data)
    if isinstance(source, Chains):
        return _from_chains(centred(source, target), target)
    return source


def sample_stats(container) -> dict[str, np.ndarray]:
    """Numeric ``(chain, draw)`` sample statistics of a container, by name."""
    stats = group(container, "sample_stats")
    return {
        str(name): value.transpose("chain", "draw").values
        for name, value in (stats.data_vars.items() if stats is not None else [])
        if set(value.dims) == {"chain", "draw"} and value.dtype.kind in "biuf"
    }


def as_chains(data) -> Chains:
    """Any accepted input (see :func:`to_inference_data`) as :class:`~scoresample.Chains`.

    Chains come back as they are; other inputs become every posterior variable
    flattened to ``(chain, draw, k)``, named by ArviZ's labels (``mu``, ``theta[0]``),
    with their ``(chain, draw)`` sample statistics. For plots and metrics.

    Example:
        >>> as_chains(numpyro_mcmc).coordinate_names[:2]
        ['mu', 'tau']
    """
    source = _source(data)
    if isinstance(source, Chains):
        return source
    posterior = group(source, "posterior")
    draws, labels = posterior_draws(posterior)
    sampler = str(posterior.attrs.get("inference_library", "unknown"))
    stats = sample_stats(source)
    return Chains(draws, stats, sampler, coordinate_names=labels, particles=is_particles(posterior))


def pooled_draws(data) -> np.ndarray:
    """Samples ``(n, d)`` for metrics: a 2-D array as it is, any other input pooled over
    chains (see :func:`as_chains`)."""
    if is_array_like(data) and np.ndim(data) != 3:
        return data
    return as_chains(data).flat()


def posterior_draws(posterior: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """:func:`~.draws.flatten_posterior`, or a DataError when nothing numeric is sampled."""
    draws, labels = flatten_posterior(posterior)
    if not labels:
        raise DataError(
            "data", "has no numeric posterior variable with dims (chain, draw)", ACCEPTED
        )
    return draws, labels


# -- ArviZ's diagnostics ---------------------------------------------------------------------


def summary_table(idata):
    """ArviZ's summary, raw numbers, restricted to :data:`SUMMARY_COLUMNS`."""
    # Constant draws give 0 / 0 inside R-hat and ESS; ArviZ returns NaN, which we report.
    with np.errstate(invalid="ignore", divide="ignore"):
        table = az.summary(idata, round_to="none")
    return table.loc[:, list(SUMMARY_COLUMNS)].astype(float)


def ess_bulk(data, target=None) -> np.ndarray:
    """Bulk ESS of each coordinate of a run's draws (``Chains.positions``; see
    :func:`as_chains` for other inputs), centred for a mean-free ``target``; ``n`` for
    independent particles."""
    chains = centred(as_chains(data), target)
    if chains.particles:
        return np.full(chains.dim, float(chains.n_chains * chains.n_draws))
    return summary_table(_from_chains(Chains(chains.positions)))["ess_bulk"].to_numpy()


def pareto_khat(log_weights) -> float:
    """Pareto ``k``-hat of importance weights: the shape of the generalised Pareto
    distribution fitted to the largest weights (PSIS; Vehtari et al. 2024). The weights'
    ``1 / k`` first moments are finite: above about 0.7 even their mean's estimate is
    unreliable, whatever the standard error says
    (:func:`~scoresample.samplers.reweight.pareto_khat_threshold`).

    References:
        Vehtari, Simpson, Gelman, Yao, Gabry (2024), Pareto smoothed importance sampling,
        JMLR 25(72), Sec. 3.
    """
    log_w = np.asarray(log_weights, np.float64).ravel()
    with warnings.catch_warnings():  # ArviZ 0.2x warns at k > 0.7; the caller reports it
        warnings.simplefilter("ignore", UserWarning)
        if ARVIZ_MAJOR >= 1:
            from arviz_stats.base import array_stats

            # ArviZ 1.x takes log-likelihoods as PSIS-LOO does: its log weights are their
            # negation, so the weights' own logs go in negated.
            _, khat = array_stats.psislw(-log_w, r_eff=1.0)
        else:
            _, khat = az.psislw(log_w, reff=1.0)
    return float(khat)


# -- netCDF files ---------------------------------------------------------------------------


def save_chains(chains: Chains, path: str | os.PathLike, target=None) -> Path:
    """Write ``chains`` as ArviZ netCDF (groups ``posterior``, ``sample_stats``), atomically.

    Readable with ``arviz.from_netcdf`` and with :func:`load_chains`; ``chains.particles``
    is kept as the posterior attribute ``scoresample_particles``.

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


def load_chains(path: str | os.PathLike) -> Chains:
    """Read chains from a netCDF file: ours (:func:`save_chains`) as they were saved,
    one written by ArviZ, NumPyro or PyMC flattened (see :func:`as_chains`).

    Settings come back as JSON values (arrays as lists).

    Example:
        >>> chains = load_chains("run/chains.nc")
    """
    return as_chains(Path(path))
