"""Reference sets: long MCMC on the exact energy, checked, stored once and reused.

Targets without an exact sampler (DW-4, LJ-13, LJ-55) are judged against a *reference
set*: many independent chains of MCMC on the exact energy, after a warm-up, thinned.
A reference is only as good as its chains, so every one is checked before use:

- **R-hat** (rank-normalised split R-hat, Vehtari et al. 2021, through ArviZ) of the
  energy and of the mean interparticle distance across chains is below ``1.01``;
- **the halves agree within the floor**: two halves of the chains (random halves,
  averaged over 20 splits) differ in energy W1 and distance-histogram TV by at most
  ``1.5x`` the same metric between two random halves of all draws pooled (the floor,
  what two independent sets of that size give, averaged likewise). Chains stuck in
  different regions, or draws correlated beyond the thinning, fail it. Averaging matters:
  one split's energy W2 of i.i.d. draws exceeded 1.5x its floor on some seeds, so the
  check uses W1 (less driven by the tail) and the mean over splits. On i.i.d. draws of
  8 chains x 250 (30 seeds) the ratio averaged 1.04 (energy) and 1.00 (distances), at
  most 1.53: about one false alarm in 30 at that small size; a failed check is a
  reason to make the reference again with more chains, not proof of a bad one.

A reference is stored, with its settings, seed, checks, cost and package versions, under
``cache_dir()/references/<target>-<hash of settings>/`` and reused by every later call
with the same settings: ``samples.npy`` (``(chain, draw, dim)``, centred) is written
first and ``reference.json`` last, both atomically, so a half-made reference is never
read. ``scoresample reference dw4`` makes one from the command line.

The floor of a metric at sample size ``n`` is the metric between two disjoint parts of
the reference of size ``n`` (:meth:`Reference.split`): chains of one half give the
reference part, chains of the other the floor part, so correlated neighbours never
sit on both sides.

References:
    Akhound-Sadegh et al. (2024), Iterated Denoising Energy Matching, App. C (long-MCMC
    test sets for DW-4, LJ-13, LJ-55); Klein et al. (2023), Equivariant flow matching
    (the DW-4 / LJ-13 / LJ-55 data sets); Vehtari et al. (2021), Rank-normalization,
    folding, and localization: an improved R-hat, Bayesian Analysis 16(2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

from ._io import write_bytes, write_text
from ._validate import positive_int
from .errors import ConfigError, DataError
from .targets import MeanFree, ParticleSystem, make_target

#: Bumped when the way a reference is made changes, so old caches are not reused.
FORMAT = 2
#: R-hat of the energy and of the mean interparticle distance must stay below this.
R_HAT_LIMIT = 1.01
#: The halves may differ by at most this multiple of the floor.
HALVES_LIMIT = 1.5
#: Random splits averaged for the halves and for their floor.
_SPLITS = 20


@dataclass(frozen=True)
class ReferenceSettings:
    """How a reference is made: ``n_chains`` chains of ``sampler`` on the exact energy,
    ``num_warmup`` adaptation steps, then ``num_samples`` draws per chain kept, one every
    ``thinning`` steps; ``seed`` seeds everything."""

    sampler: str = "nuts"
    n_chains: int = 16
    num_warmup: int = 1000
    num_samples: int = 625
    thinning: int = 5
    seed: int = 0

    def __post_init__(self):
        if self.sampler not in ("nuts", "hmc", "mala"):
            raise ConfigError(
                "reference.sampler", f"is {self.sampler!r}", "use 'nuts', 'hmc' or 'mala'"
            )
        if positive_int(self.n_chains, "reference.n_chains") < 4 or self.n_chains % 2:
            raise ConfigError(
                "reference.n_chains",
                f"is {self.n_chains}",
                "use an even number >= 4: the checks compare two halves of the chains",
            )
        positive_int(self.num_samples, "reference.num_samples")
        positive_int(self.thinning, "reference.thinning")
        if self.num_warmup < 0:
            raise ConfigError("reference.num_warmup", f"is {self.num_warmup}", "use 0 or more")

    @property
    def n(self) -> int:
        """Number of draws in the reference."""
        return self.n_chains * self.num_samples


#: Settings whose references pass their checks, measured on 2 CPU cores: DW-4 (a slow
#: mode in the mean interparticle distance: 32 x 1000 draws thinned by 10 reached R-hat
#: 1.0099, so thinned by 20 here; about 2.5 min), LJ-13 (one basin: 16 x 500 thinned by 5
#: reach R-hat 1.002; about 4.5 min), LJ-55 (as LJ-13, fewer draws; untested at this size).
DEFAULTS: dict[str, ReferenceSettings] = {
    "dw4": ReferenceSettings(n_chains=32, num_warmup=1000, num_samples=1000, thinning=20),
    "lj13": ReferenceSettings(n_chains=16, num_warmup=500, num_samples=500, thinning=5),
    "lj55": ReferenceSettings(n_chains=16, num_warmup=500, num_samples=250, thinning=5),
}


def default_settings(target: str) -> ReferenceSettings:
    """The settings :func:`reference` uses for ``target`` when none are given."""
    return DEFAULTS.get(target, ReferenceSettings())


@dataclass(frozen=True)
class ReferenceChecks:
    """The checks of a reference: R-hats, the halves against their floor, and whether
    all pass (``failures`` says which did not, one line each)."""

    r_hat: dict[str, float]
    halves: dict[str, dict[str, float]]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [
            f"R-hat {name}: {value:.4f} (limit {R_HAT_LIMIT})" for name, value in self.r_hat.items()
        ]
        for name, row in self.halves.items():
            lines.append(
                f"halves {name}: {row['value']:.4g} against floor {row['floor']:.4g} "
                f"(ratio {row['value'] / row['floor']:.2f}, limit {HALVES_LIMIT})"
            )
        lines.append(
            "checks passed" if self.passed else "checks FAILED: " + "; ".join(self.failures)
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class Reference:
    """A checked reference set of ``target``: ``chains`` is ``(chain, draw, dim)``
    (centred on mean-free targets); ``energy_evals`` counts every energy gradient spent,
    warm-up included."""

    target: str
    chains: np.ndarray
    settings: ReferenceSettings
    checks: ReferenceChecks
    seconds: float
    energy_evals: int
    path: Path | None = None

    @property
    def samples(self) -> np.ndarray:
        """All draws pooled, ``(chain * draw, dim)``, chain by chain."""
        return self.chains.reshape(-1, self.chains.shape[-1])

    def split(self, n: int, key) -> tuple[np.ndarray, np.ndarray]:
        """Two disjoint sets of ``n`` draws: one from the first half of the chains (the
        reference a sampler is compared with), one from the second (the floor set: the
        same metric between the two is the metric's floor at size ``n``)."""
        half = self.chains.shape[0] // 2
        first = self.chains[:half].reshape(-1, self.chains.shape[-1])
        second = self.chains[half:].reshape(-1, self.chains.shape[-1])
        if n > min(len(first), len(second)):
            raise DataError(
                "reference",
                f"holds {len(first)} draws per half, fewer than n = {n}",
                "make a larger reference (more chains or num_samples) or compare fewer draws",
            )
        key_a, key_b = jax.random.split(key)
        return _subset(key_a, first, n), _subset(key_b, second, n)


def _subset(key, x: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows of ``x`` drawn without replacement, in their order."""
    return x[np.sort(np.asarray(jax.random.choice(key, len(x), (n,), replace=False)))]


def cache_dir() -> Path:
    """Where references are stored: ``$SCORESAMPLE_CACHE``, else
    ``$XDG_CACHE_HOME/scoresample``, else ``~/.cache/scoresample``."""
    if os.environ.get("SCORESAMPLE_CACHE"):
        return Path(os.environ["SCORESAMPLE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scoresample"


def _directory(target: str, settings: ReferenceSettings, root: Path | None) -> Path:
    identity = {
        "target": target,
        "settings": dataclasses.asdict(settings),
        "x64": bool(jax.config.jax_enable_x64),
        "format": FORMAT,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return (root or cache_dir()) / "references" / f"{target}-{digest}"


def _particle_target(name: str):
    target = make_target(name)
    if not isinstance(target, ParticleSystem):
        raise ConfigError(
            "reference.target",
            f"{name!r} is not a particle system",
            "references are for dw4, lj13, lj55; targets with an exact sampler need none",
        )
    return target


def _traces(energy: np.ndarray, distances: np.ndarray, shape) -> dict[str, np.ndarray]:
    """Energy and mean interparticle distance of every draw, ``(chain, draw)`` each, from
    the pooled energies ``(N,)`` and distances ``(N, pairs)``."""
    return {"energy": energy.reshape(shape), "mean_distance": distances.mean(axis=1).reshape(shape)}


def _r_hat(trace: np.ndarray) -> float:
    from .diagnostics import summary

    return float(summary(trace[:, :, None]).table["r_hat"].iloc[0])


def _halves_metrics(energy, distances, a, b) -> dict[str, float]:
    """Energy W1 and distance-histogram TV between the draws ``a`` and ``b`` (index arrays
    into the pooled ``energy`` ``(N,)`` and ``distances`` ``(N, pairs)``)."""
    from .diagnostics.metrics.particles import histogram_tv
    from .diagnostics.metrics.transport import wasserstein_1d

    return {
        "energy_w1": wasserstein_1d(energy[a], energy[b]),
        "distance_tv": histogram_tv(distances[a].ravel(), distances[b].ravel()),
    }


def _mean_over_splits(energy, distances, splits) -> dict[str, float]:
    rows = [_halves_metrics(energy, distances, a, b) for a, b in splits]
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}


def check_reference(chains: np.ndarray, target, key) -> ReferenceChecks:
    """R-hat of energy and mean distance, and the halves of the chains against the floor
    (see the module docstring). ``chains`` is ``(chain, draw, dim)``, centred."""
    from .diagnostics.metrics.particles import energies

    n_chains, n_draws = chains.shape[:2]
    flat = jax.numpy.asarray(chains.reshape(-1, chains.shape[-1]))
    distances = np.asarray(target.distances(flat))
    energy = energies(flat, target)
    traces = _traces(energy, distances, (n_chains, n_draws))
    r_hat = {name: _r_hat(trace) for name, trace in traces.items()}
    key_chains, key_draws = jax.random.split(key)
    by_chain = np.arange(n_chains * n_draws).reshape(n_chains, n_draws)
    chain_splits, draw_splits = [], []
    for k in jax.random.split(key_chains, _SPLITS):
        order = np.asarray(jax.random.permutation(k, n_chains))
        half = n_chains // 2
        chain_splits.append((by_chain[order[:half]].ravel(), by_chain[order[half:]].ravel()))
    for k in jax.random.split(key_draws, _SPLITS):
        order = np.asarray(jax.random.permutation(k, n_chains * n_draws))
        draw_splits.append((order[: len(order) // 2], order[len(order) // 2 :]))
    observed = _mean_over_splits(energy, distances, chain_splits)
    floors = _mean_over_splits(energy, distances, draw_splits)
    halves = {name: {"value": observed[name], "floor": floors[name]} for name in observed}
    return ReferenceChecks(r_hat=r_hat, halves=halves, failures=check_failures(r_hat, halves))


def check_failures(r_hat: dict[str, float], halves: dict[str, dict[str, float]]) -> list[str]:
    """One line per failed check: an R-hat not below ``R_HAT_LIMIT``, or halves that
    differ by more than ``HALVES_LIMIT`` times their floor."""
    failures = [
        f"R-hat of {name} is {value:.4f} >= {R_HAT_LIMIT}: run longer or more chains"
        for name, value in r_hat.items()
        if not value < R_HAT_LIMIT
    ]
    failures += [
        f"the halves' {name} is {row['value'] / row['floor']:.2f}x its floor (> {HALVES_LIMIT}): "
        "chains disagree; run longer or thin more"
        for name, row in halves.items()
        if not row["value"] <= HALVES_LIMIT * row["floor"]
    ]
    return failures


def make_reference(
    target: str, settings: ReferenceSettings | None = None, *, progress: bool = False
) -> Reference:
    """Run the chains of ``settings`` on the exact energy of the built-in ``target`` and
    check them (not stored: see :func:`reference`)."""
    from .samplers import make_sampler, run

    settings = settings or default_settings(target)
    model = _particle_target(target)
    spec = make_sampler(
        settings.sampler,
        n_chains=settings.n_chains,
        num_warmup=settings.num_warmup,
        num_samples=settings.num_samples,
        thinning=settings.thinning,
    )
    key_run, key_check = jax.random.split(jax.random.PRNGKey(settings.seed))
    start = time.perf_counter()
    chains = run(spec, key_run, model, progress=progress)
    seconds = time.perf_counter() - start
    draws = np.asarray(chains.positions)
    if isinstance(model, MeanFree):
        draws = np.asarray(model.remove_mean(draws.reshape(-1, draws.shape[-1]))).reshape(
            draws.shape
        )
    checks = check_reference(draws, model, key_check)
    evals = chains.total_grad_evals() + chains.warmup_grad_evals()
    return Reference(target, draws, settings, checks, seconds, evals)


def _save(ref: Reference, directory: Path) -> Reference:
    buffer = io.BytesIO()
    np.save(buffer, ref.chains)
    write_bytes(directory / "samples.npy", buffer.getvalue())
    record = {
        "target": ref.target,
        "settings": dataclasses.asdict(ref.settings),
        "checks": {
            "r_hat": ref.checks.r_hat,
            "halves": ref.checks.halves,
            "failures": ref.checks.failures,
        },
        "seconds": ref.seconds,
        "energy_evals": ref.energy_evals,
        "format": FORMAT,
        "versions": _versions(),
    }
    write_text(directory / "reference.json", json.dumps(record, indent=2) + "\n")
    return dataclasses.replace(ref, path=directory)


def _versions() -> dict[str, str]:
    import blackjax

    from . import __version__

    return {"scoresample": __version__, "jax": jax.__version__, "blackjax": blackjax.__version__}


def load_reference(
    target: str, settings: ReferenceSettings | None = None, root: Path | None = None
) -> Reference | None:
    """The stored reference of ``target`` with ``settings``, or None if there is none."""
    settings = settings or default_settings(target)
    directory = _directory(target, settings, root)
    record_path = directory / "reference.json"
    if not record_path.exists():
        return None
    record = json.loads(record_path.read_text())
    checks = ReferenceChecks(**record["checks"])
    chains = np.load(directory / "samples.npy")
    return Reference(
        target, chains, settings, checks, record["seconds"], record["energy_evals"], directory
    )


def reference(
    target: str,
    settings: ReferenceSettings | None = None,
    *,
    root: Path | None = None,
    force: bool = False,
    progress: bool = False,
) -> Reference:
    """The checked reference set of the built-in particle ``target``: loaded from the
    cache when one was made with the same settings, else made and stored.

    A reference whose checks fail is stored too (so its cost is not paid twice) and
    returned; callers decide (``ref.checks.passed``), and :func:`require_passed` raises.

    Args:
        target: ``"dw4"``, ``"lj13"`` or ``"lj55"``.
        settings: chains, warm-up, draws, thinning, sampler, seed (default:
            :func:`default_settings`).
        root: the cache directory (default :func:`cache_dir`).
        force: make it again even when stored.
        progress: show the sampler's progress bar.

    Example:
        >>> ref = reference("dw4")
        >>> ref.checks.passed, ref.samples.shape
        (True, (32000, 8))
    """
    settings = settings or default_settings(target)
    if not force and (stored := load_reference(target, settings, root)) is not None:
        return stored
    made = make_reference(target, settings, progress=progress)
    return _save(made, _directory(target, settings, root))


def require_passed(ref: Reference) -> Reference:
    """``ref`` itself if its checks passed, else a DataError naming the failures."""
    if not ref.checks.passed:
        raise DataError(
            f"reference {ref.target}",
            "failed its checks: " + "; ".join(ref.checks.failures),
            "make it with more chains, a longer warm-up or more thinning "
            "(scoresample reference --help)",
        )
    return ref
