"""Figure creation and atomic PNG output shared by every plot.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never through
``pyplot``, so plotting changes no global state and needs no display.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..._io import atomic_path

#: Okabe-Ito colours: distinguishable with colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Colour of exact references (densities, exact scores).
EXACT = "#222222"
#: Colour of samples drawn by a sampler.
SAMPLES = "#D55E00"
DPI = 120


def colour(i: int) -> str:
    """The ``i``-th palette colour, cycling."""
    return PALETTE[i % len(PALETTE)]


def new_figure(n_rows: int, n_cols: int, panel: tuple[float, float] = (4.0, 3.2)):
    """A figure with an ``(n_rows, n_cols)`` array of axes, constrained layout, Agg canvas."""
    fig = Figure(figsize=(panel[0] * n_cols, panel[1] * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    return fig, axes


def grid_shape(n_panels: int, max_cols: int = 4) -> tuple[int, int]:
    """Rows and columns for ``n_panels`` panels, at most ``max_cols`` wide."""
    cols = min(n_panels, max_cols)
    return -(-n_panels // cols), cols


def hide_unused(axes: np.ndarray, n_used: int) -> None:
    """Hide the panels after the first ``n_used`` of a flattened grid."""
    for ax in axes.ravel()[n_used:]:
        ax.set_visible(False)


def finish(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """Save ``fig`` as PNG at ``path`` (atomically) when a path is given; return it."""
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    return fig


def thin(points: np.ndarray, max_points: int) -> np.ndarray:
    """At most ``max_points`` rows of ``points``, evenly spaced (deterministic)."""
    if len(points) <= max_points:
        return points
    return points[np.linspace(0, len(points) - 1, max_points).astype(int)]


def dim_labels(dim: int, names: list[str] | None) -> list[str]:
    """Axis labels: the given names or ``x[0]``, ``x[1]``, ..."""
    return list(names) if names is not None else [f"x[{j}]" for j in range(dim)]
