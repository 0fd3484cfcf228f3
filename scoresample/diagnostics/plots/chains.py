"""Trace and rank plots of MCMC chains, drawn from the draws with matplotlib.

ArviZ 0.x and 1.x plot with different APIs (the latter through arviz-plots); drawing
from the draws directly gives the same figure under both. Both take any run
:func:`~scoresample.diagnostics.summary` takes (Chains, arrays, dicts, InferenceData /
DataTree, NumPyro MCMC, netCDF paths), flattened by
:func:`~scoresample.diagnostics.as_chains`.

- :func:`plot_trace`: per coordinate, the draws of each chain against iteration (with
  divergent draws marked) and each chain's histogram.
- :func:`plot_rank`: per coordinate, each chain's histogram of the ranks of its draws
  among all draws; uniform when the chains agree.

References:
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding,
    and localization: an improved R-hat, Bayesian Analysis 16(2), Sec. 4.2 (rank plots).
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from ...chains import Chains
from ..arviz import as_chains
from . import _style

MAX_DIMS = 6


def _selected(chains: Chains, dims: list[int] | None) -> tuple[list[int], list[str]]:
    dims = list(range(min(chains.dim, MAX_DIMS))) if dims is None else list(dims)
    return dims, _style.dim_labels(chains.dim, chains.coordinate_names)


def _chain_legend(fig: Figure, n_chains: int) -> None:
    from matplotlib.lines import Line2D

    shown = min(n_chains, 8)
    handles = [Line2D([], [], color=_style.colour(c), label=f"chain {c}") for c in range(shown)]
    fig.legend(handles=handles, loc="outside lower center", ncols=shown, frameon=False)


def _trace_row(trace_ax, hist_ax, values: np.ndarray, divergent: np.ndarray | None) -> None:
    """One coordinate: ``(chain, draw)`` traces, per-chain histograms, divergence ticks."""
    edges = np.histogram_bin_edges(values, bins=50)
    for c, chain in enumerate(values):
        trace_ax.plot(chain, color=_style.colour(c), lw=0.6, alpha=0.8)
        hist_ax.hist(
            chain, bins=edges, density=True, histtype="step", color=_style.colour(c), lw=1.2
        )
    if divergent is not None and divergent.size:
        ticks = np.full(divergent.size, values.min())
        trace_ax.plot(divergent, ticks, "|", color="red", ms=10, label="divergent")
        trace_ax.legend(loc="upper right", fontsize="small", frameon=False)
    hist_ax.set_yticks([])
    trace_ax.margins(x=0)


def plot_trace(
    data,
    path: str | os.PathLike | None = None,
    dims: list[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Trace plot: draws against iteration per chain, and per-chain histograms.

    Divergent draws (``stats["diverging"]``) are marked as red ticks under the traces.

    Args:
        data: the run: Chains or any input of :func:`~scoresample.diagnostics.as_chains`.
        path: where to write the PNG (atomically); None to only return the figure.
        dims: coordinates to show (default the first ``min(dim, 6)``).
        title: the figure title (default names the sampler).

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_trace(chains, "run/trace.png")
    """
    chains = as_chains(data)
    dims, labels = _selected(chains, dims)
    fig, axes = _style.new_figure(len(dims), 2, panel=(5.0, 2.0))
    diverging = chains.stats.get("diverging")
    divergent = None if diverging is None else np.nonzero(diverging)[1]
    for row, j in enumerate(dims):
        _trace_row(*axes[row], chains.positions[:, :, j], divergent)
        axes[row, 0].set_ylabel(labels[j])
    axes[-1, 0].set_xlabel("draw")
    axes[-1, 1].set_xlabel("value")
    axes[0, 0].set_title("trace")
    axes[0, 1].set_title("per-chain density")
    _chain_legend(fig, chains.n_chains)
    fig.suptitle(title or f"Trace of {chains.n_chains} {chains.sampler} chains")
    return _style.finish(fig, path)


def chain_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks ``0 .. C*N - 1`` of ``(chain, draw)`` values among all draws, same shape."""
    flat = values.ravel()
    ranks = np.empty(flat.size, dtype=np.int64)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return ranks.reshape(values.shape)


def _rank_panel(ax, values: np.ndarray, bins: int) -> None:
    """Stacked per-chain rank histograms of ``(chain, draw)`` values, one row per chain.

    Each chain gets a row of height 1 and the bars share one scale, so rows never
    overlap. The dashed line is the count expected under uniform ranks, the grey band
    its central 99% range (binomial).
    """
    n_chains, n_draws = values.shape
    expected = n_draws / bins
    band = 2.576 * np.sqrt(expected * (1 - 1 / bins))
    edges = np.linspace(0, values.size, bins + 1)
    counts = np.stack([np.histogram(r, bins=edges)[0] for r in chain_ranks(values)])
    scale = 0.9 / max(counts.max(), expected + band)
    for c in range(n_chains):
        low, high = c + scale * (expected - band), c + scale * (expected + band)
        ax.axhspan(low, high, color="#dddddd", lw=0)
        ax.bar(
            edges[:-1],
            scale * counts[c],
            width=np.diff(edges),
            bottom=c,
            align="edge",
            color=_style.colour(c),
            alpha=0.85,
            edgecolor="white",
            lw=0.4,
        )
        ax.axhline(c + scale * expected, color="#444444", ls="--", lw=0.8)
    ax.set_yticks(np.arange(n_chains) + 0.45, [str(c) for c in range(n_chains)])
    ax.set(xlim=(0, values.size), ylim=(0, n_chains), ylabel="chain")
    ax.set_xlabel("rank (all chains pooled)")


def plot_rank(
    data,
    path: str | os.PathLike | None = None,
    dims: list[int] | None = None,
    bins: int = 20,
    title: str | None = None,
) -> Figure:
    """Rank plot: for each coordinate, each chain's histogram of pooled-draw ranks.

    Chains exploring the same distribution give flat histograms around the dashed line;
    a chain stuck in one mode piles its ranks at one end. The grey band is the central
    99% range of a bin count under uniform ranks.

    Args:
        data: the run: Chains or any input of :func:`~scoresample.diagnostics.as_chains`.
        path: where to write the PNG (atomically); None to only return the figure.
        dims: coordinates to show (default the first ``min(dim, 6)``).
        bins: rank bins per chain.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_rank(chains, "run/rank.png")
    """
    chains = as_chains(data)
    dims, labels = _selected(chains, dims)
    panel = (3.8, 1.0 + 0.6 * chains.n_chains)
    fig, axes = _style.new_figure(*_style.grid_shape(len(dims), 3), panel=panel)
    for ax, j in zip(axes.ravel(), dims, strict=False):
        _rank_panel(ax, chains.positions[:, :, j], bins)
        ax.set_title(labels[j])
    _style.hide_unused(axes, len(dims))
    fig.suptitle(title or f"Rank plot of {chains.n_chains} {chains.sampler} chains")
    return _style.finish(fig, path)
