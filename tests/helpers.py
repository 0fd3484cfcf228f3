"""Helpers of the test suite: estimates against exact values as z-scores, and the zoo."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import numpy as np

from scoresample.diagnostics.stein import family_threshold


def assert_zscores_small(z, family_error: float = 1e-3) -> None:
    """Assert every z-score is within the family-wise threshold (at least 4)."""
    z = np.ravel(np.asarray(z))
    limit = family_threshold(z.size, family_error)
    assert np.max(np.abs(z)) < limit, f"max |z| = {np.max(np.abs(z)):.2f} >= {limit:.2f}: {z}"


def mean_zscores(values, exact) -> np.ndarray:
    """z-scores of the column means of ``values`` (n, ...) against ``exact``."""
    values = np.asarray(values, dtype=np.float64)
    stderr = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
    return (values.mean(axis=0) - np.asarray(exact)) / stderr


def moment_zscores(samples, mean, cov) -> np.ndarray:
    """z-scores of the sample mean and of ``E[(x - mu)(x - mu)^T]`` against ``(mean, cov)``."""
    x = np.asarray(samples, dtype=np.float64) - np.asarray(mean)
    outer = np.einsum("ni,nj->nij", x, x).reshape(x.shape[0], -1)
    return np.concatenate([mean_zscores(x, 0.0), mean_zscores(outer, np.ravel(cov))])


def stein_zscores(score_fn, samples) -> np.ndarray:
    """z-scores of the Stein identities ``E[s(x)] = 0`` and ``E[s(x) x^T] = -I``."""
    s = np.asarray(jax.jit(jax.vmap(score_fn))(samples), dtype=np.float64)
    x = np.asarray(samples, dtype=np.float64)
    d = x.shape[1]
    outer = np.einsum("ni,nj->nij", s, x).reshape(x.shape[0], -1)
    return np.concatenate([mean_zscores(s, 0.0), mean_zscores(outer, -np.eye(d).ravel())])


def relative_error(a, b) -> float:
    """``max |a - b| / (max |b| + 1e-6)`` over a batch."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-6))


def zoo_module(name: str):
    """A Python file of ``models/`` (the zoo is not a package), imported by path."""
    path = Path(__file__).resolve().parents[1] / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"zoo_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
