"""What the command line prints: the side-by-side table, and ``diagnose`` of saved chains."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from ...diagnostics import as_chains, summary
from ...errors import DataError
from ...targets import make_target
from ..config import load_config
from ..report import format_number
from .build import build_target
from .diagnose import diagnose_one
from .rundir import CONFIG_FILE
from .train import DATA_FILE

#: (key, heading) of the console table; metrics show ``value [floor]``.
CONSOLE_COLUMNS = (
    ("label", "sampler"),
    ("score", "score"),
    ("seconds", "time s"),
    ("n_grad_evals", "grads"),
    ("ess_bulk_min", "ESS min"),
    ("r_hat_max", "R-hat"),
    ("divergences", "div"),
    ("mmd2", "MMD² [floor]"),
    ("w2", "W2 [floor]"),
    ("mode_weight_tv", "mode TV [floor]"),
    ("well_fraction_error", "well err [floor]"),
    ("energy_w1", "energy W1"),
)


def _cell(row: dict, key: str) -> str:
    text = format_number(row.get(key))
    floor = row.get(f"{key}_floor")
    return f"{text} [{format_number(floor)}]" if floor is not None else text


def results_table(rows: list[dict]) -> str:
    """Rows as an aligned text table (columns that no row fills are dropped)."""
    columns = [(k, h) for k, h in CONSOLE_COLUMNS if any(r.get(k) is not None for r in rows)]
    cells = [[h for _, h in columns]] + [[_cell(r, k) for k, _ in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def print_results(result) -> None:
    """The final table, the warnings and where the report is."""
    print()
    print(results_table(result.rows))
    for warning in result.warnings:
        print(f"warning: {warning}")
    print("\nfloor = the same metric for a second exact sample set of the same size")
    print(f"report: {result.out / 'report.html'}")


def diagnose_path(path: Path, target_name: str | None = None, seed: int = 0) -> None:
    """Print the summary and metrics of a run directory or of one ``.nc`` file of chains
    (ours, or one written by ArviZ, NumPyro or PyMC, with its own variable names)."""
    if path.is_dir():
        config_file = path / CONFIG_FILE
        if not config_file.exists():
            raise DataError(
                str(path), f"has no {CONFIG_FILE}", "give a run directory or a .nc file"
            )
        target = build_target(load_config(config_file).target)
        files = sorted((path / "chains").glob("*.nc"))
        data = path / "model" / DATA_FILE
        reference = np.load(data) if data.exists() else None
    elif path.suffix == ".nc":
        target = make_target(target_name) if target_name else None
        files, reference = [path], None
    else:
        raise DataError(
            str(path),
            "is neither a run directory nor a .nc file",
            "give runs/<name> or runs/<name>/chains/<sampler>.nc",
        )
    if not files:
        raise DataError(str(path), "holds no chains", "run the experiment first")
    rows = []
    for i, file in enumerate(files):
        chains = as_chains(file)
        print(f"== {file.stem} ({chains.sampler}, {chains.n_chains} x {chains.n_draws} draws)")
        print(summary(file, target))
        if target is not None:
            key = jax.random.fold_in(jax.random.PRNGKey(seed), i)
            rows.append(diagnose_one(file.stem, chains, target, reference, 2000, key).row)
    if rows:
        print()
        print(results_table(rows))
