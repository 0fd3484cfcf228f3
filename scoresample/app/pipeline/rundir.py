"""The run directory: refuse to clobber, resume only the same experiment."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..._io import write_text
from ...errors import ConfigError, OutputError

CONFIG_FILE = "config.toml"
#: Everything a run writes; ``--force`` removes exactly these.
OUTPUTS = (
    "config.toml",
    "model",
    "chains",
    "plots",
    "summary.csv",
    "metrics.json",
    "report.html",
    "train_history.csv",
)


def prepare(out: Path, resolved_toml: str, *, resume: bool, force: bool) -> Path:
    """Create ``out`` (or check it for ``--resume``), then write the resolved config.

    Raises:
        OutputError: ``out`` is a file, is not writable, or holds files and neither
            ``resume`` nor ``force`` was given.
        ConfigError: ``resume`` with a config that differs from the one in ``out``.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(str(out), "is a file, not a directory", "choose another --out")
    if out.exists() and any(out.iterdir()):
        if resume:
            _check_same_config(out, resolved_toml)
        elif force:
            _remove_outputs(out)
        else:
            raise OutputError(
                str(out),
                "already holds a run",
                "pass --resume to continue it, --force to overwrite it, or choose another --out",
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            str(out), f"cannot be created ({exc.strerror})", "choose a writable --out"
        ) from None
    write_text(out / CONFIG_FILE, resolved_toml)
    return out


def _check_same_config(out: Path, resolved_toml: str) -> None:
    old = out / CONFIG_FILE
    if old.exists() and old.read_text() != resolved_toml:
        raise ConfigError(
            "--resume",
            f"the config differs from {old}",
            "resume with the same config and --set values, or use --force",
        )


def _remove_outputs(out: Path) -> None:
    for name in OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
