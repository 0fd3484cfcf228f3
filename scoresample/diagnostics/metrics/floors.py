"""Every sample-quality metric beside its floor.

A metric between a finite sample set and the target is never exactly 0, even for
exact samples. Its *floor* is the same metric computed for a second, independent set
of exact samples of the same size: a sampler is as good as exact sampling at that size
when its value is within the floor's spread.

Measured floors at 1000 points: mean over 40 pairs of exact sets ± its standard error
(sd between pairs in brackets); KSD is of one exact set, TV is of the mode / well
weights. MMD^2 and energy distance are unbiased: their floor is 0 with the sd shown.

============= =================== ============ ========= ========= ====== ======
target        w2                  sliced_w2    mmd2 sd   energy sd ksd    TV
============= =================== ============ ========= ========= ====== ======
gmm40         4.31 ± 0.11 (0.70)  1.74 (0.39)  5e-4      0.040     0.055  0.074
ncsn_toy      1.24 ± 0.07 (0.47)  0.78 (0.31)  6e-4      0.009     0.063  0.012
many_well(32) 5.69 ± 0.004 (0.03) 0.090        1.5e-4    0.002     0.65   0.009
============= =================== ============ ========= ========= ====== ======

On a multimodal target the two-sample floors are dominated by the binomial noise of
the mode weights (a 1000-point set never holds exactly 25 points per gmm40 mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import numpy as np
from jaxtyping import ArrayLike

from ..._types import PRNGKey
from ...errors import ConfigError
from ...targets import ExactSampler, GaussianMixture, ManyWell, MeanFree, ParticleSystem
from ..arviz import pooled_draws
from ._arrays import as_samples
from .kernel import energy_distance, ksd, mmd2
from .modes import mode_weight_tv, well_fraction_error
from .particles import particle_metrics
from .transport import sliced_wasserstein2, wasserstein2

#: Two-sample metrics, each ``metric(samples, reference) -> float``.
TWO_SAMPLE: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mmd2": mmd2,
    "energy_distance": energy_distance,
    "sliced_w2": sliced_wasserstein2,
    "w2": wasserstein2,
}

_KEY_SALT = 0x5CA1AB1E
#: The exact W2 is skipped above this many samples (see ``transport.MAX_EXACT_PAIRS``).
W2_MAX_POINTS = 2000


@dataclass(frozen=True)
class QualityReport:
    """Metric values and their floors (None where no exact sampler exists)."""

    n_samples: int
    values: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float | None] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One ``{"metric", "value", "floor"}`` dict per metric, for tables and reports."""
        return [
            {"metric": k, "value": v, "floor": self.floors.get(k)} for k, v in self.values.items()
        ]

    def __str__(self) -> str:
        lines = [f"{'metric':<16} {'value':>11} {'floor':>11}   (n = {self.n_samples})"]
        for row in self.rows():
            floor = "" if row["floor"] is None else f"{row['floor']:11.4g}"
            lines.append(f"{row['metric']:<16} {row['value']:11.4g} {floor:>11}")
        return "\n".join(lines)


def _target_specific(target, reference: np.ndarray | None):
    """The target-specific metrics ``samples -> {name: value}`` of ``target``, or None."""
    if isinstance(target, GaussianMixture):
        return lambda x: {"mode_weight_tv": mode_weight_tv(x, target)}
    if isinstance(target, ManyWell):
        return lambda x: {"well_fraction_error": well_fraction_error(x, target)}
    if reference is not None and isinstance(target, ParticleSystem):
        return lambda x: particle_metrics(x, reference, target)
    return None


def _metric_set(target, reference, metrics, n: int) -> Callable[[np.ndarray], dict[str, float]]:
    """All requested metrics of one sample set of size ``n``, as ``x -> {name: value}``."""
    unknown = set(metrics) - {*TWO_SAMPLE, "ksd"}
    if unknown:
        raise ConfigError(
            "metrics", f"unknown names {sorted(unknown)}", f"choose from {[*TWO_SAMPLE, 'ksd']}"
        )
    two_sample = {
        name: fn
        for name, fn in TWO_SAMPLE.items()
        if name in metrics and reference is not None and (name != "w2" or n <= W2_MAX_POINTS)
    }
    # KSD's trace term assumes a proper density on R^d: mean-free targets are improper,
    # and a group's points are not in R^d.
    on_r_d = not isinstance(target, MeanFree) and getattr(target, "group", None) is None
    use_ksd = "ksd" in metrics and on_r_d
    specific = _target_specific(target, reference)

    def evaluate(x: np.ndarray) -> dict[str, float]:
        out = {name: fn(x, reference) for name, fn in two_sample.items()}
        if use_ksd:
            out["ksd"] = ksd(x, target.score)
        return out | (specific(x) if specific else {})

    return evaluate


def sample_quality(
    samples: ArrayLike,
    target,
    key: PRNGKey,
    reference: ArrayLike | None = None,
    metrics: tuple[str, ...] = ("mmd2", "energy_distance", "sliced_w2", "w2", "ksd"),
) -> QualityReport:
    """All metrics that apply to ``target``, each beside its floor.

    Two-sample metrics compare ``samples`` with ``reference`` (default: exact samples
    of the same size). Floors repeat every metric for a second exact set in place of
    ``samples``. Also: KSD (not for mean-free particle targets, whose density is
    improper along the centre of mass, nor on groups), mode-weight TV for Gaussian
    mixtures, well fractions for many-wells, energy and distance metrics for particle
    systems. Particle samples are compared after removing their centre of mass, points of
    a Lie group (a target with a ``group``) by the group's embedding. The exact W2 is
    skipped above 2000 samples.

    Args:
        samples: ``(n, dim)`` samples to judge, or any chains :func:`~scoresample.
            diagnostics.summary` accepts (Chains, ``(chain, draw, dim)`` arrays, dicts,
            InferenceData / DataTree, NumPyro MCMC, netCDF paths), pooled over chains.
        target: the target they should follow.
        key: PRNG key for the exact reference and floor sets.
        reference: ``(m, dim)`` reference samples for targets without an exact sampler
            (or chains, pooled likewise).
        metrics: names among ``mmd2, energy_distance, sliced_w2, w2, ksd``.

    Returns:
        A :class:`QualityReport`; ``print`` it for a table.

    Example:
        >>> from scoresample.targets import gmm40
        >>> target = gmm40()
        >>> samples = target.sample(jax.random.PRNGKey(0), 500)  # exact: at the floors
        >>> report = sample_quality(samples, target, jax.random.PRNGKey(1))
        >>> sorted(report.values)
        ['energy_distance', 'ksd', 'mmd2', 'mode_weight_tv', 'sliced_w2', 'w2']
        >>> print(report)  # doctest: +SKIP
        metric                 value       floor   (n = 500)
        mmd2              -0.0002626  -0.0002218
        ...
    """
    x = as_samples(pooled_draws(samples), "samples")
    exact = isinstance(target, ExactSampler)
    # Salted, so that a key the caller also split for its own samples gives other draws.
    key_ref, key_floor = jax.random.split(jax.random.fold_in(key, _KEY_SALT))
    if reference is None and exact:
        reference = target.sample(key_ref, len(x))
    ref = None if reference is None else as_samples(pooled_draws(reference), "reference")
    prepare = _comparable(target)
    x, ref = prepare(x), None if ref is None else prepare(ref)
    evaluate = _metric_set(target, ref, metrics, len(x))
    values = evaluate(x)
    floors = dict.fromkeys(values)
    if exact:
        floors = evaluate(prepare(as_samples(target.sample(key_floor, len(x)), "exact samples")))
    return QualityReport(n_samples=len(x), values=values, floors=floors)


def _comparable(target) -> Callable[[np.ndarray], np.ndarray]:
    """What the two-sample metrics compare: particle configurations without their centre
    of mass; points of a group by their embedding (its Euclidean distance is a function
    of the group's, so the kernels and transport costs respect the group)."""
    if isinstance(target, MeanFree):
        return lambda x: np.asarray(target.remove_mean(x), np.float64)
    group = getattr(target, "group", None)
    if group is not None:
        return lambda x: np.asarray(group.embed(x), np.float64)
    return lambda x: x
