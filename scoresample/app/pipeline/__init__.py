"""Config -> train -> sample -> diagnose -> run directory.

``run_experiment(config, out)`` leaves in ``out``: ``config.toml`` (resolved),
``model/`` (checkpoint and training data) and ``train_history.csv`` when a score is
learned, ``chains/<label>.nc`` (ArviZ netCDF), ``summary.csv``, ``metrics.json``,
``plots/*.png`` and ``report.html``. Every file is written atomically; with
``resume=True`` training continues from its last checkpoint and finished samplers are
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax

from ..._io import write_text
from ...samplers import make_sampler
from ..config import Config, config_to_table, dump_toml
from ..report import Figure, Report, render_html
from . import rundir
from .build import build_target
from .diagnose import COLUMNS, diagnose_one, make_plots, reference_set, write_tables
from .sample import sample_stage
from .train import train_stage


@dataclass
class RunResult:
    """Where the run went and what it measured (one row per sampler)."""

    out: Path
    rows: list[dict]
    warnings: list[str]


def run_experiment(
    config: Config,
    out: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    base: str | Path = ".",
    title: str | None = None,
) -> RunResult:
    """Run a whole experiment; relative paths in the config are read from ``base``."""
    out, base = Path(out), Path(base)
    resolved = dump_toml(config_to_table(config))
    for cfg in config.sampler:  # fail on bad sampler settings before any work is done
        make_sampler(cfg.name, **cfg.settings)
    rundir.prepare(out, resolved, resume=resume, force=force)
    key = jax.random.PRNGKey(config.seed)
    key_train, key_sample, key_diag = jax.random.split(key, 3)
    target = build_target(config.target, base)
    trained = None
    if config.score.kind == "learned":
        trained = train_stage(
            config, target, out, key_train, resume=resume, progress=progress, base=base
        )
    chains = sample_stage(
        config, target, trained, out, key_sample, resume=resume, progress=progress
    )
    n_ref = config.diagnostics.n_reference
    reference = reference_set(target, trained, n_ref, key_diag)
    diagnoses = [
        diagnose_one(label, c, target, reference, n_ref, jax.random.fold_in(key_diag, i))
        for i, (label, c) in enumerate(chains.items())
    ]
    write_tables(diagnoses, out)
    figures = make_plots(chains, target, trained, out) if config.diagnostics.plots else []
    rows = [d.row for d in diagnoses]
    warnings = [w for d in diagnoses for w in d.warnings]
    report = Report(
        title=title or config.name or f"scoresample run: {out.name}",
        subtitle=f"target {config.target.name or config.target.file or config.target.numpyro}"
        f", seed {config.seed}, score {config.score.kind}",
        columns=visible_columns(rows),
        rows=[with_floors(r) for r in rows],
        notes=[FLOOR_NOTE],
        warnings=warnings,
        figures=[Figure(path, caption) for path, caption in figures],
        config_toml=resolved,
    )
    write_text(out / "report.html", render_html(report))
    return RunResult(out, rows, warnings)


FLOOR_NOTE = (
    "Each sample-quality metric is shown beside its floor: the same metric for a second "
    "exact sample set of the same size. A sampler is as good as exact sampling when its "
    "value is within the floor. Time is warm-up plus sampling, without compilation."
)


def visible_columns(rows: list[dict]) -> list[tuple[str, str]]:
    """The table columns that some row fills."""
    return [(k, h) for k, h in COLUMNS if any(r.get(k) is not None for r in rows)]


def with_floors(row: dict) -> dict:
    """A row whose metrics are ``(value, floor)`` pairs where a floor exists."""
    return {
        k: (v, row[f"{k}_floor"]) if row.get(f"{k}_floor") is not None else v
        for k, v in row.items()
    }
