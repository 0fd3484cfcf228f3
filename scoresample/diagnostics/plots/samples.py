"""Samples against the target: over density contours, and marginal histograms.

- :func:`plot_samples`: a 2-D target's samples over its log-density contours; beyond
  two dimensions a pairs grid of selected coordinates (contours where the pair's
  marginal is closed form, a reference cloud otherwise; histograms on the diagonal).
- :func:`plot_marginals`: one histogram per coordinate against the exact marginal
  density (or a reference histogram).

Samples are ``(n, d)`` arrays, or any run :func:`~scoresample.diagnostics.summary`
takes, pooled over chains (its coordinate names label the axes).
"""

from __future__ import annotations

import os

import numpy as np
from jaxtyping import ArrayLike
from matplotlib.figure import Figure

from ..arviz import as_chains, is_array_like, pooled_draws
from ..metrics._arrays import as_samples
from . import _style
from ._marginals import marginal_log_density, pair_log_density

#: Log-density contours span this many nats below the highest value on the grid.
CONTOUR_DEPTH = 12.0
GRID = 160


def _samples_and_names(samples, names: list[str] | None):
    """``(n, d)`` samples of any input, and names: the given ones, else the run's own."""
    x = as_samples(pooled_draws(samples), "samples")
    if names is None and not is_array_like(samples):
        names = as_chains(samples).coordinate_names
    return x, names


def _bounds(*sets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate plotting range from the 0.5% / 99.5% quantiles, padded by 10%."""
    pooled = np.concatenate([s for s in sets if s is not None])
    low, high = np.quantile(pooled, [0.005, 0.995], axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-6)
    return low - pad, high + pad


def _contours(ax, log_density, low: np.ndarray, high: np.ndarray) -> None:
    """Filled log-density contours of a 2-D density over the box ``[low, high]``; none
    where the box is so wide (draws far out) that the top levels are not resolved."""
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID))
    values = log_density(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    top = np.nanmax(values)
    if not np.isfinite(top):
        return
    levels = np.linspace(top - CONTOUR_DEPTH, top, 13)
    if not np.all(np.diff(levels) > 0):
        return
    ax.contourf(gx, gy, np.clip(values, top - CONTOUR_DEPTH, None), levels=levels, cmap="Blues")
    ax.contour(gx, gy, values, levels=levels[::3], colors="#4a6f8a", linewidths=0.5)


def _pair_panel(ax, x, ref, target, i, j, low, high, max_points) -> None:
    """One off-diagonal panel: contours or reference cloud, then the samples."""
    log_density = pair_log_density(target, i, j)
    if log_density is not None:
        _contours(ax, log_density, low[[i, j]], high[[i, j]])
    elif ref is not None:
        shown = _style.thin(ref, max_points)
        ax.scatter(shown[:, i], shown[:, j], s=3, c=_style.EXACT, alpha=0.25, lw=0)
    shown = _style.thin(x, max_points)
    ax.scatter(shown[:, i], shown[:, j], s=4, c=_style.SAMPLES, alpha=0.5, lw=0)
    ax.set_xlim(low[i], high[i])
    ax.set_ylim(low[j], high[j])


def _legend_handles(has_density: bool, has_reference: bool):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], ls="", marker="o", color=_style.SAMPLES, label="samples")]
    if has_density:
        handles.append(Patch(color="#6baed6", label="target log density"))
    if has_reference:
        handles.append(Line2D([], [], ls="", marker="o", color=_style.EXACT, label="reference"))
    return handles


def plot_samples(
    samples: ArrayLike,
    target=None,
    path: str | os.PathLike | None = None,
    *,
    reference: ArrayLike | None = None,
    dims: list[int] | None = None,
    names: list[str] | None = None,
    max_points: int = 4000,
    title: str = "Samples over the target density",
) -> Figure:
    """Scatter ``samples`` over the target's log-density contours (pairs grid beyond 2-D).

    Args:
        samples: ``(n, d)`` samples, or a run pooled over chains (see module docstring).
        target: optional target; contours where a pair's marginal is closed form.
        path: where to write the PNG (atomically); None to only return the figure.
        reference: optional ``(m, d)`` exact or reference samples, drawn in grey where
            no closed-form density exists.
        dims: coordinates of the pairs grid (default the first ``min(d, 4)``).
        names: coordinate names for the axes (default the run's own, else ``x[j]``).
        max_points: at most this many points per cloud (evenly thinned).
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_samples(samples, gmm40(), "run/samples.png")
    """
    x, names = _samples_and_names(samples, names)
    ref = None if reference is None else as_samples(pooled_draws(reference), "reference")
    dims = list(range(min(x.shape[1], 4))) if dims is None else list(dims)
    labels = _style.dim_labels(x.shape[1], names)
    low, high = _bounds(x, ref)
    k = len(dims)
    if x.shape[1] == 2 and dims == [0, 1]:
        fig, axes = _style.new_figure(1, 1, panel=(6.0, 5.4))
        _pair_panel(axes[0, 0], x, ref, target, 0, 1, low, high, max_points)
        axes[0, 0].set(xlabel=labels[0], ylabel=labels[1])
    else:
        fig, axes = _style.new_figure(k, k, panel=(2.6, 2.4))
        for row, j in enumerate(dims):
            for col, i in enumerate(dims):
                ax = axes[row, col]
                if col > row:
                    ax.set_visible(False)
                elif col == row:
                    _marginal_panel(ax, x, ref, target, i, low[i], high[i])
                else:
                    _pair_panel(ax, x, ref, target, i, j, low, high, max_points)
                ax.set_xlabel(labels[i] if row == k - 1 else "")
                ax.set_ylabel(labels[j] if col == 0 and row > 0 else "")
    has_density = any(pair_log_density(target, i, j) for i in dims for j in dims if i < j)
    fig.legend(
        handles=_legend_handles(has_density, ref is not None),
        loc="outside lower center",
        ncols=3,
        frameon=False,
    )
    fig.suptitle(f"{title} ({len(x)} samples)")
    return _style.finish(fig, path)


def _marginal_panel(ax, x, ref, target, j, low, high, bins: int = 60) -> None:
    """Histogram of coordinate ``j`` against the exact marginal or a reference."""
    edges = np.linspace(low, high, bins + 1)
    ax.hist(x[:, j], bins=edges, density=True, color=_style.SAMPLES, alpha=0.55, label="samples")
    log_density = marginal_log_density(target, j) if target is not None else None
    if log_density is not None:
        grid = np.linspace(low, high, 400)
        ax.plot(grid, np.exp(log_density(grid)), color=_style.EXACT, lw=1.6, label="exact")
    elif ref is not None:
        ax.hist(
            ref[:, j],
            bins=edges,
            density=True,
            histtype="step",
            color=_style.EXACT,
            lw=1.4,
            label="reference",
        )
    ax.set_xlim(low, high)
    ax.set_yticks([])


def plot_marginals(
    samples: ArrayLike,
    target=None,
    path: str | os.PathLike | None = None,
    *,
    reference: ArrayLike | None = None,
    dims: list[int] | None = None,
    names: list[str] | None = None,
    bins: int = 60,
    title: str = "Marginals: samples against the target",
) -> Figure:
    """One histogram per coordinate against its exact marginal density (or a reference).

    Args:
        samples: ``(n, d)`` samples, or a run pooled over chains (see module docstring).
        target: optional target with a closed-form marginal (mixtures, Gaussians, wells).
        path: where to write the PNG (atomically); None to only return the figure.
        reference: optional ``(m, d)`` reference samples, drawn as a black outline when
            the marginal is not closed form.
        dims: coordinates to show (default the first ``min(d, 12)``).
        names: coordinate names (default the run's own, else ``x[j]``).
        bins: histogram bins per panel.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_marginals(samples, many_well(8), "run/marginals.png")
    """
    x, names = _samples_and_names(samples, names)
    ref = None if reference is None else as_samples(pooled_draws(reference), "reference")
    dims = list(range(min(x.shape[1], 12))) if dims is None else list(dims)
    labels = _style.dim_labels(x.shape[1], names)
    low, high = _bounds(x, ref)
    fig, axes = _style.new_figure(*_style.grid_shape(len(dims)), panel=(3.4, 2.6))
    for ax, j in zip(axes.ravel(), dims, strict=False):
        _marginal_panel(ax, x, ref, target, j, low[j], high[j], bins)
        ax.set_xlabel(labels[j])
    _style.hide_unused(axes, len(dims))
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(frameon=False, fontsize="small")
    fig.suptitle(f"{title} ({len(x)} samples)")
    return _style.finish(fig, path)
