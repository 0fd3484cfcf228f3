"""The diagnosis stage: ArviZ summaries, sample quality beside its floor, efficiency,
plots, and the files that hold them (``summary.csv``, ``metrics.json``, ``report.html``)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from ..._io import write_text
from ...chains import Chains
from ...diagnostics import plots, sample_quality, summary
from ...diagnostics.metrics import efficiency
from ...samplers.reweight import unreliable_weights_message
from ...targets import ExactNoisedScore, ExactSampler, NoisedMarginal
from .train import Trained

#: (key in a row, heading) of the side-by-side table.
COLUMNS = (
    ("label", "sampler"),
    ("score", "score"),
    ("seconds", "time (s)"),
    ("n_grad_evals", "grad evals"),
    ("ess_bulk_min", "ESS bulk min"),
    ("ess_bulk_median", "ESS bulk median"),
    ("ess_tail_min", "ESS tail min"),
    ("r_hat_max", "R-hat max"),
    ("divergences", "divergences"),
    ("ess_per_grad_eval", "ESS / grad"),
    ("mmd2", "MMD²"),
    ("w2", "W2"),
    ("sliced_w2", "sliced W2"),
    ("ksd", "KSD"),
    ("mode_weight_tv", "mode TV"),
    ("well_fraction_error", "well error"),
    ("energy_w1", "energy W1"),
    ("distance_w1", "distance W1"),
)


@dataclass
class SamplerDiagnosis:
    """Everything measured about one sampler's run."""

    label: str
    row: dict
    table: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _subsample(samples: np.ndarray, n: int, key) -> np.ndarray:
    if len(samples) <= n:
        return samples
    index = jax.random.choice(key, len(samples), (n,), replace=False)
    return samples[np.sort(np.asarray(index))]


def diagnose_one(label: str, chains: Chains, target, reference, n_max: int, key):
    """Summary, efficiency and sample quality (with floors) of one run.

    Independent particles (``chains.particles``) have ESS = n and no R-hat; draws on a
    mean-free target are centred (both by :func:`~scoresample.diagnostics.summary`).
    Resampled importance-weighted draws are worth at most Kish's ESS of their weights
    (``settings["kish_ess"]``), however many they are, and a warning says when the
    weights' Pareto ``k``-hat makes their estimates unreliable.
    """
    report = summary(chains, target)
    table = report.table
    eff = efficiency(chains, target)
    cap = chains.settings.get("kish_ess", np.inf)
    row = {
        "label": label,
        "sampler": chains.sampler,
        "score": chains.settings.get("score", "exact"),
        "seconds": float(chains.timing.get("sampling", 0.0) + chains.timing.get("warmup", 0.0)),
        "compile_seconds": float(chains.timing.get("compile", 0.0)),
        "n_grad_evals": eff.n_grad_evals,
        "warmup_grad_evals": chains.warmup_grad_evals(),
        "n_draws": int(chains.n_chains * chains.n_draws),
        "ess_bulk_min": float(min(table["ess_bulk"].min(), cap)),
        "ess_bulk_median": float(min(table["ess_bulk"].median(), cap)),
        "ess_tail_min": float(min(table["ess_tail"].min(), cap)),
        "r_hat_max": None if chains.particles else float(table["r_hat"].max()),
        "divergences": report.n_divergent,
        "ess_per_grad_eval": eff.ess_per_grad_eval,
        "ess_per_second": eff.ess_per_second,
    }
    samples = _subsample(chains.flat(), n_max, key)
    quality = sample_quality(samples, target, key, reference=_match(reference, len(samples)))
    for name, value in quality.values.items():
        row[name] = value
        row[f"{name}_floor"] = quality.floors.get(name)
    weights = _weight_warnings(chains.settings, row["n_draws"])
    warnings = [f"{label}: {w}" for w in report.warnings + weights]
    return SamplerDiagnosis(label, row, table, warnings)


def _weight_warnings(settings: dict, n: int) -> list[str]:
    """The plain-language warning of ``n`` resampled draws whose importance weights'
    Pareto ``k``-hat is above its threshold (Vehtari et al. 2024), where ``settings``
    record one."""
    if settings.get("reliable", True):
        return []
    return [unreliable_weights_message(settings["pareto_k"], n)]


def _match(reference, n: int):
    return None if reference is None else reference[:n]


def reference_set(target, trained: Trained | None, n: int, key):
    """Exact samples where possible, else the (MCMC or file) training set, else None (as
    for a score trained from the energy alone)."""
    if isinstance(target, ExactSampler):
        return None  # sample_quality draws its own exact reference and floor
    if trained is not None and trained.samples is not None:
        return trained.samples[:n]
    return None


def write_tables(diagnoses: list[SamplerDiagnosis], run_dir: Path) -> None:
    """``summary.csv`` (ArviZ summary per sampler) and ``metrics.json`` (one entry each)."""
    frames = [d.table.assign(sampler=d.label) for d in diagnoses]
    out = io.StringIO()
    pd.concat(frames).rename_axis("variable").reset_index().to_csv(out, index=False)
    write_text(run_dir / "summary.csv", out.getvalue())
    clean = {d.label: {k: _json_number(v) for k, v in d.row.items()} for d in diagnoses}
    write_text(run_dir / "metrics.json", json.dumps(clean, indent=2) + "\n")


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_plots(
    chains_by_label: dict[str, Chains], target, trained: Trained | None, run_dir: Path
) -> list[tuple[str, str]]:
    """PNG figures; returns ``(relative path, caption)`` pairs for the report."""
    figures = []
    plot_dir = run_dir / "plots"
    for label, chains in chains_by_label.items():
        path = plot_dir / f"{label}_samples.png"
        plots.plot_samples(chains.flat(), target, path, title=f"{label}: samples over the target")
        figures.append((path, f"{label}: samples over the target density"))
        if not chains.particles:
            plots.plot_trace(chains, plot_dir / f"{label}_trace.png")
            plots.plot_rank(chains, plot_dir / f"{label}_rank.png")
            figures += [
                (plot_dir / f"{label}_trace.png", f"{label}: trace"),
                (plot_dir / f"{label}_rank.png", f"{label}: rank plot"),
            ]
    if trained is not None:
        plots.plot_training(trained.history, plot_dir / "training.png")
        figures.append((plot_dir / "training.png", "training curves"))
        if target.dim == 2 and isinstance(target, NoisedMarginal):
            figures.append(_score_field(target, trained, plot_dir / "score_field.png"))
    return [(str(path.relative_to(run_dir)), caption) for path, caption in figures]


def _score_field(target, trained: Trained, path: Path):
    process = trained.process
    exact = ExactNoisedScore(target, process)
    low, high = process.t_range
    times = [low + f * (high - low) for f in (0.0, 0.1, 0.3, 0.6)]
    ref = np.asarray(target.sample(jax.random.PRNGKey(0), 2000))
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    pad = 0.15 * (hi - lo)
    bounds = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    plots.plot_score_field(trained.model, exact, times, path, bounds=tuple(map(float, bounds)))
    return path, "learned (orange) against exact (dark) score directions, by noise level"
