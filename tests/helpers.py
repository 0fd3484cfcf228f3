"""Helpers of the test suite: estimates against exact values as z-scores, and the zoo (its
model files, and its configs at test size)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample import fit
from scoresample.diagnostics.stein import family_threshold
from scoresample.errors import ScoresampleError
from scoresample.samplers import sampler_settings
from scoresample.targets.particles import _ParticleTarget


class Harmonic(_ParticleTarget):
    """``E(x) = k / 2 sum_i |x_i - mean(x)|^2``: in orthonormal coordinates of the
    mean-free subspace ``z ~ N(0, I / k)``, so each centred coordinate has variance
    ``(1 - 1 / n) / k``; along the centre of mass the density is flat. Unnormalised:
    ``log Z = (dim / 2) log(2 pi / k)`` with ``dim = (n_particles - 1) space_dim``."""

    n_particles: int = eqx.field(static=True, default=5)
    space_dim: int = eqx.field(static=True, default=2)
    k: float = eqx.field(static=True, default=2.5)

    def energy(self, x):
        particles = x.reshape(self.n_particles, self.space_dim)
        return 0.5 * self.k * jnp.sum((particles - particles.mean(axis=0, keepdims=True)) ** 2)


def assert_trains_with_fit(network, objective, data, key) -> None:
    """Twenty steps of :func:`~scoresample.fit` run, keep the objective's noise process
    in the model and log finite losses."""
    result = fit(network, objective, data, steps=20, batch_size=32, key=key, progress=False)
    assert result.model.process == objective.process
    assert np.isfinite(result.history["loss"]).all()


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


def group_stein_zscores(target, samples) -> np.ndarray:
    """z-scores of ``E[s] = 0`` and ``E[s_i e(x) + d/du_i e(exp_x(u))|_0] = 0`` on the
    target's group (``e`` its embedding): integration by parts along left-invariant
    fields, divergence-free for the Haar measure. Derivatives by ``jax.jvp``, one
    body-frame direction at a time."""
    group, d = target.group, samples.shape[1]
    s = np.asarray(jax.jit(jax.vmap(target.score))(samples), dtype=np.float64)
    e = np.asarray(group.embed(samples), dtype=np.float64)

    def along(x, direction):
        return jax.jvp(lambda t: group.embed(group.exp_map(x, t * direction)), (0.0,), (1.0,))[1]

    terms = [s]
    for i in range(d):
        direction = jnp.zeros(d).at[i].set(1.0)
        derivative = np.asarray(jax.jit(jax.vmap(along, (0, None)))(samples, direction))
        terms.append(s[:, i : i + 1] * e + derivative)
    terms = np.concatenate(terms, axis=1)
    return mean_zscores(terms, 0.0)


def refusal_message(call) -> str:
    """The message of the ScoresampleError that ``call()`` raises (the test fails if none)."""
    with pytest.raises(ScoresampleError) as raised:
        call()
    return str(raised.value)


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


#: Reduced values of settings, applied where a sampler has the setting.
SMALL_SAMPLER = {
    "num_warmup": 30,
    "num_samples": 30,
    "n_levels": 3,
    "n_steps_per_level": 5,
    "n_steps": 20,
}
SMALL = [
    "score.training.steps=30",
    "score.training.checkpoint_every=10",
    "score.data.n=300",
    "score.data.mcmc_chains=10",
    "score.data.mcmc_warmup=50",
    "diagnostics.n_reference=200",
    "diagnostics.plots=false",
]


def small_run_overrides(config: Path) -> list[str]:
    """``--set`` overrides that run a ``models/`` config at test size, from each sampler's
    own settings (a config that gains a sampler is covered without editing this)."""
    table = tomllib.loads(config.read_text())
    sets = list(SMALL) if "score" in table else [s for s in SMALL if not s.startswith("score.")]
    for i, sampler in enumerate(table["sampler"]):
        known = sampler_settings(sampler["name"])
        sets += [f"sampler.{i}.{k}={v}" for k, v in SMALL_SAMPLER.items() if k in known]
        particles = "n_levels" in known or "n_steps" in known
        sets.append(f"sampler.{i}.n_chains={100 if particles else 2}")
        if "reweight" in sampler:  # an untrained score's flow is rough: solve it loosely
            sets += [f"sampler.{i}.reweight.rtol=1e-3", f"sampler.{i}.reweight.atol=1e-3"]
    return sets


def host_devices_env(n_devices: int) -> dict[str, str]:
    """The environment of a subprocess whose JAX sees ``n_devices`` CPU devices (the
    device count is fixed when JAX starts)."""
    return {
        **os.environ,
        "XLA_FLAGS": " ".join(
            [os.environ.get("XLA_FLAGS", ""), f"--xla_force_host_platform_device_count={n_devices}"]
        ).strip(),
        "JAX_PLATFORMS": "cpu",
    }


def run_on_host_devices(script: str, n_devices: int) -> str:
    """Run ``script`` in a Python subprocess on ``n_devices`` CPU devices; assert it
    succeeds and return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=host_devices_env(n_devices),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout
