"""Checkpoints of ``fit``: one file, a JSON header line then equinox-serialised leaves.

The file holds the training state (parameters, optimiser state, EMA), the key, the step
and the history so far; it is written atomically, so an interrupted run keeps the last
complete checkpoint.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ._io import write_bytes
from .errors import ConfigError, OutputError

CHECKPOINT_NAME = "checkpoint.eqx"
_CHECKPOINT_FORMAT = "scoresample.fit checkpoint 1"


def checkpoint_path(checkpoint_dir, resume: bool) -> Path | None:
    if checkpoint_dir is None:
        if resume:
            raise ConfigError("fit.resume", "needs checkpoint_dir", "give the run's directory")
        return None
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    if path.exists() and not resume:
        raise OutputError(
            "fit.checkpoint_dir",
            f"already holds {path}",
            "pass resume=True to continue that run, or choose a new directory",
        )
    return path


def save_checkpoint(path: Path, state, key, history: dict, step: int) -> None:
    """One file: a JSON header line, then equinox-serialised (state, key, history)."""
    header = {
        "format": _CHECKPOINT_FORMAT,
        "step": step,
        "history": {name: str(value.dtype) for name, value in history.items()},
    }
    buffer = io.BytesIO()
    buffer.write(json.dumps(header).encode() + b"\n")
    eqx.tree_serialise_leaves(buffer, (state, jax.random.key_data(key), history))
    write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path, state, key) -> tuple[Any, dict, int]:
    """Inverse of :func:`save_checkpoint`; ``state`` and ``key`` give the expected structure."""
    with open(path, "rb") as file:
        header = json.loads(file.readline())
        if header.get("format") != _CHECKPOINT_FORMAT:
            raise ConfigError("fit.resume", f"{path} is not a fit checkpoint", "check the path")
        step = int(header["step"])
        history = {name: np.zeros(step, dtype) for name, dtype in header["history"].items()}
        try:
            like = (state, jax.random.key_data(key), history)
            state, key_data, history = eqx.tree_deserialise_leaves(file, like)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ConfigError(
                "fit.resume",
                f"{path} does not match this model, optimizer and ema_decay ({exc})",
                "resume with the settings the run started with, or use a new checkpoint_dir",
            ) from None
    if not np.array_equal(key_data, jax.random.key_data(key)):
        raise ConfigError(
            "fit.key", f"differs from the key {path} was trained with", "resume with the same key"
        )
    return state, history, step
