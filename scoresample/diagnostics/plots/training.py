"""Training and estimator plots: loss curves, learned vs exact score fields, variances.

- :func:`plot_training`: one panel per logged quantity of a training history (loss,
  gradient norm, objective terms such as ``norm`` and ``fitting``), raw and smoothed.
- :func:`plot_score_field`: a learned score field against the exact one on a 2-D
  grid, one panel per noise level, over a map of the error.
- :func:`plot_estimator_variance`: variance of score estimators against time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike
from matplotlib.figure import Figure

from ..._types import ScoreFn
from ..._validate import finite_array
from ...errors import DataError
from . import _style

#: Quantities shown first, in this order; other history keys follow alphabetically.
TRAINING_ORDER = ("loss", "grad_norm", "norm", "fitting")


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` finite values (NaN where none yet)."""
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0))
    counts = np.cumsum(finite)
    sums[window:] = sums[window:] - sums[:-window]
    counts[window:] = counts[window:] - counts[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _spans_decades(values: np.ndarray) -> bool:
    """True when finite ``values`` are positive and their 1-99% range exceeds 20x (log axis)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.any(finite <= 0):
        return False
    low, high = np.quantile(finite, [0.01, 0.99])
    return bool(high > 20 * low)


def _history_panels(history: Mapping[str, ArrayLike]) -> list[tuple[str, np.ndarray]]:
    """The history's 1-D series in display order, as float arrays."""
    series = []
    rank = {name: i for i, name in enumerate(TRAINING_ORDER)}
    for name in sorted(history, key=lambda k: (rank.get(k, len(rank)), k)):
        values = np.asarray(history[name], dtype=np.float64)
        if values.ndim != 1:
            raise DataError(
                f"history[{name!r}]", f"has shape {values.shape}", "log one value per step"
            )
        series.append((name, values))
    return series


def plot_training(
    history: Mapping[str, ArrayLike],
    path: str | os.PathLike | None = None,
    steps: ArrayLike | None = None,
    title: str = "Training",
) -> Figure:
    """Training curves: each quantity raw (faint) and as a moving average (solid).

    A panel uses a log scale when its values are positive and span more than 20x.

    Args:
        history: name -> per-step values, e.g. ``{"loss", "grad_norm", "norm", "fitting"}``.
        path: where to write the PNG (atomically); None to only return the figure.
        steps: optional step numbers (default ``0 .. n - 1``).
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_training(history, "run/training.png")
    """
    panels = _history_panels(history)
    fig, axes = _style.new_figure(*_style.grid_shape(len(panels), 2), panel=(4.6, 3.0))
    for i, (ax, (name, values)) in enumerate(zip(axes.ravel(), panels, strict=False)):
        x = np.arange(len(values)) if steps is None else np.asarray(steps)
        window = max(1, len(values) // 50)
        log_scale = _spans_decades(values)
        # On a log axis, average the logs: a few spikes should not lift the whole curve.
        smoothed = np.exp(smooth(np.log(values), window)) if log_scale else smooth(values, window)
        ax.plot(x, values, color=_style.colour(i), alpha=0.25, lw=0.7, label="per step")
        ax.plot(
            x,
            smoothed,
            color=_style.colour(i),
            lw=1.8,
            label=f"{'geometric ' if log_scale else ''}mean of {window}",
        )
        if log_scale:
            ax.set_yscale("log")
        ax.set(title=name.replace("_", " "), xlabel="step")
        ax.grid(alpha=0.3, lw=0.5)
        ax.legend(frameon=False, fontsize="small")
    _style.hide_unused(axes, len(panels))
    fig.suptitle(title)
    return _style.finish(fig, path)


def _grid(bounds, n: int) -> tuple[np.ndarray, np.ndarray, jax.Array]:
    """An ``n x n`` grid over ``bounds``: the two coordinate arrays and the ``(n^2, 2)`` points."""
    gx, gy = np.meshgrid(np.linspace(*bounds[:2], n), np.linspace(*bounds[2:], n))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return gx, gy, jnp.asarray(points, dtype=jnp.result_type(float))


@eqx.filter_jit
def _batched_score(score_fn: ScoreFn, points: jax.Array, t: jax.Array) -> jax.Array:
    return jax.vmap(score_fn, in_axes=(0, None))(points, t)


def _field(score_fn: ScoreFn, points: jax.Array, t: float) -> np.ndarray:
    """``score_fn(y, t)`` at every point, as NumPy (compiled once per function and grid)."""
    return np.asarray(_batched_score(score_fn, points, jnp.asarray(t, points.dtype)))


def _relative_error(score_fn, exact_score_fn, points, t) -> np.ndarray:
    """``|s_learned - s_exact| / RMS |s_exact|`` at every point."""
    learned, exact = _field(score_fn, points, t), _field(exact_score_fn, points, t)
    return np.linalg.norm(learned - exact, axis=1) / np.sqrt(np.mean(np.sum(exact**2, axis=1)))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _direction_arrows(ax, score_fn, exact_score_fn, t, bounds, n: int) -> None:
    """Unit arrows of the exact (dark) and learned (orange) score on an ``n x n`` grid."""
    gx, gy, points = _grid(bounds, n)
    arrows = {"exact": (exact_score_fn, _style.EXACT), "learned": (score_fn, _style.SAMPLES)}
    for label, (fn, colour) in arrows.items():
        u = _unit(_field(fn, points, t))
        ax.quiver(
            gx,
            gy,
            u[:, 0],
            u[:, 1],
            color=colour,
            angles="xy",
            scale=1.5 * n,
            width=0.0045,
            alpha=0.9,
            label=label,
        )


def plot_score_field(
    score_fn: ScoreFn,
    exact_score_fn: ScoreFn,
    times: Sequence[float],
    path: str | os.PathLike | None = None,
    bounds: tuple[float, float, float, float] = (-8.0, 8.0, -8.0, 8.0),
    arrows: int = 19,
    time_label: str = "t",
) -> Figure:
    """Learned against exact score directions on a 2-D grid, one panel per noise level.

    Arrows show directions (unit length; magnitudes vary by orders of magnitude); the
    background shows the error ``|s_learned - s_exact| / RMS_grid |s_exact|`` on one
    colour scale shared by all panels.

    Args:
        score_fn: learned ``score_fn(y, t) -> (2,)``.
        exact_score_fn: exact ``score_fn(y, t) -> (2,)`` (e.g. of a noised mixture).
        times: the noise levels to show (times ``t``, or ``sigma`` if both functions take it).
        path: where to write the PNG (atomically); None to only return the figure.
        bounds: ``(xmin, xmax, ymin, ymax)`` of the grid.
        arrows: arrows per axis.
        time_label: how to label a level, e.g. ``"t"`` or ``"sigma"``.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_score_field(net, exact, [0.05, 0.3, 0.8], "run/score_field.png")
    """
    _, _, fine = _grid(bounds, 100)
    errors = [_relative_error(score_fn, exact_score_fn, fine, t).reshape(100, 100) for t in times]
    top = max(1.0, float(np.quantile(np.concatenate([e.ravel() for e in errors]), 0.99)))
    fig, axes = _style.new_figure(*_style.grid_shape(len(times), 3), panel=(4.0, 4.6))
    for ax, t, error in zip(axes.ravel(), times, errors, strict=False):
        image = ax.imshow(
            error, extent=bounds, origin="lower", cmap="Blues", vmin=0, vmax=top, alpha=0.85
        )
        _direction_arrows(ax, score_fn, exact_score_fn, t, bounds, arrows)
        ax.set(title=f"{time_label} = {t:.3g}  (mean error {np.mean(error):.2f})", xlabel="y[0]")
    _style.hide_unused(axes, len(times))
    axes[0, 0].set_ylabel("y[1]")
    axes[0, 0].legend(loc="upper left", fontsize="small", framealpha=0.9)
    fig.colorbar(
        image, ax=axes.ravel().tolist(), shrink=0.85, label="|learned - exact| / RMS |exact|"
    )
    fig.suptitle("Learned vs exact score: directions and error")
    return _style.finish(fig, path)


def plot_estimator_variance(
    times: ArrayLike,
    variances: Mapping[str, ArrayLike],
    path: str | os.PathLike | None = None,
    time_label: str = "t",
    ylabel: str = "variance (trace)",
    title: str = "Estimator variance against noise level",
) -> Figure:
    """Variance of each estimator against ``t`` on a log scale, one line per estimator.

    Args:
        times: ``(m,)`` noise levels.
        variances: estimator name -> ``(m,)`` variances (positive).
        path: where to write the PNG (atomically); None to only return the figure.
        time_label: x-axis label.
        ylabel: y-axis label.
        title: the figure title.

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_estimator_variance(ts, {"DSI": v_dsi, "TSI": v_tsi}, "run/variance.png")
    """
    t = finite_array(times, "times", ndim=1)
    fig, axes = _style.new_figure(1, 1, panel=(6.0, 4.2))
    ax = axes[0, 0]
    markers = "os^Dv<>p"
    for i, (name, values) in enumerate(variances.items()):
        v = finite_array(values, f"variances[{name!r}]", ndim=1)
        if v.shape != t.shape:
            raise DataError(
                f"variances[{name!r}]",
                f"has shape {v.shape}, times {t.shape}",
                "give one variance per time",
            )
        ax.plot(
            t, v, marker=markers[i % len(markers)], ms=4, color=_style.colour(i), lw=1.6, label=name
        )
    ax.set_yscale("log")
    ax.set(xlabel=time_label, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(frameon=False)
    return _style.finish(fig, path)
