"""The summary of any run: ArviZ's table (or the i.i.d. table of independent particles),
divergences, E-BFMI, and plain-language warnings.

:func:`summary` takes every input :func:`scoresample.diagnostics.to_inference_data`
accepts and reads everything from ArviZ's container: the table,
``sample_stats.diverging`` and ``sample_stats.energy``, and the posterior flattened to
``(chain, draw, k)`` for the warnings that look at the draws.

Thresholds follow the usual recommendations: R-hat at most 1.01 and bulk ESS at least
100 per chain (Vehtari et al. 2021, Sec. 4), E-BFMI at least 0.3 (Betancourt 2016), no
divergences. Chains stuck in different modes are named explicitly: R-hat flags them
too, but does not say why. Independent particles (annealed Langevin, reverse diffusion)
are not Markov chains: only the non-finite and divergence warnings apply to them.

References:
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding,
    and localization: an improved R-hat, Bayesian Analysis 16(2);
    Betancourt (2016), Diagnosing suboptimal cotangent disintegrations in Hamiltonian
    Monte Carlo, arXiv:1604.00695, Eq. 7 (E-BFMI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .arviz import group, posterior_draws, prepared, sample_stats, summary_table
from .independent import iid_table
from .netcdf import is_particles

if TYPE_CHECKING:
    import pandas as pd

R_HAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
BFMI_MIN = 0.3
#: Chains are "separated" in a coordinate when their central ranges between these
#: quantiles do not overlap.
SEPARATION_QUANTILES = (0.01, 0.99)
SEPARATION_MIN_DRAWS = 20


@dataclass(frozen=True)
class ChainSummary:
    """What :func:`scoresample.diagnostics.summary` reports; ``print`` it for the report
    (``repr`` is one line).

    Attributes:
        table: pandas DataFrame, one row per coordinate (ArviZ labels such as ``x[0]``),
            columns ``mean, sd, mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat``.
        n_divergent: divergent transitions over all chains.
        bfmi: E-BFMI per chain, or None when the sampler records no energy.
        warnings: plain-language problems, empty when none was found.
        particles: the draws were summarised as independent particles (i.i.d. table).
    """

    table: pd.DataFrame
    n_divergent: int
    bfmi: np.ndarray | None
    warnings: list[str] = field(default_factory=list)
    particles: bool = False

    @property
    def ok(self) -> bool:
        """True when no warning was raised."""
        return not self.warnings

    def __repr__(self) -> str:
        ess = self.table["ess_bulk"].min() if len(self.table) else float("nan")
        r_hat = "n/a" if self.particles else f"{self.table['r_hat'].max():.3g}"
        return (
            f"ChainSummary({len(self.table)} rows, max R-hat {r_hat}, min ESS bulk "
            f"{ess:.4g}, {self.n_divergent} divergent, {len(self.warnings)} warnings"
            f"{', particles' if self.particles else ''})"
        )

    def __str__(self) -> str:
        lines = [self.table.to_string(float_format=lambda v: f"{v:.4g}")]
        if self.particles:
            lines.append("independent draws (particles): ESS = n, R-hat not applicable")
        lines.append(f"divergences: {self.n_divergent}")
        if self.bfmi is not None:
            lines.append("E-BFMI per chain: " + ", ".join(f"{b:.2f}" for b in self.bfmi))
        lines.extend(f"WARNING: {w}" for w in self.warnings)
        return "\n".join(lines)


def energy_bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI of each chain: ``sum_t (E_t - E_{t-1})^2 / sum_t (E_t - mean(E))^2``.

    Args:
        energy: ``(chain, draw)`` Hamiltonian values at the draws.

    Returns:
        ``(chain,)``; values below 0.3 mean momentum resampling explores the energy poorly.

    References:
        Betancourt (2016), arXiv:1604.00695, Eq. 7.
    """
    energy = np.asarray(energy, dtype=np.float64)
    centred = energy - energy.mean(axis=1, keepdims=True)
    return np.sum(np.diff(energy, axis=1) ** 2, axis=1) / np.sum(centred**2, axis=1)


def separated_chain_groups(positions: np.ndarray) -> dict[int, list[list[int]]]:
    """Coordinates in which the chains split into groups that never meet.

    Chains are sorted by their median in each coordinate; a split is placed between
    neighbours wherever every chain below has its 99% quantile under the 1% quantile of
    every chain above. Well-mixed chains on any target share their central ranges, so
    they never split.

    Args:
        positions: ``(chain, draw, dim)`` draws.

    Returns:
        ``{coordinate index: [[chains of group 1], [chains of group 2], ...]}``, only for
        coordinates with at least two groups; groups in increasing order of their values.
        Empty below :data:`SEPARATION_MIN_DRAWS` draws per chain, where two chains of one
        distribution can have disjoint ranges by chance (probability ``2 / C(2n, n)``).
    """
    if positions.shape[1] < SEPARATION_MIN_DRAWS:
        return {}
    low, median, high = np.quantile(
        positions, (SEPARATION_QUANTILES[0], 0.5, SEPARATION_QUANTILES[1]), axis=1
    )
    groups = {}
    for j in range(positions.shape[2]):
        order = np.argsort(median[:, j], kind="stable")
        below = np.maximum.accumulate(high[order, j])[:-1]
        above = np.minimum.accumulate(low[order[::-1], j])[::-1][1:]
        cuts = np.flatnonzero(below < above) + 1
        if cuts.size:
            groups[j] = [sorted(g.tolist()) for g in np.split(order, cuts)]
    return groups


def _stuck_chains_warning(positions: np.ndarray, labels: list[str]) -> list[str]:
    """One sentence on chains stuck in different regions, naming the clearest coordinate."""
    groups = separated_chain_groups(positions)
    if not groups:
        return []
    j = max(groups, key=lambda k: len(groups[k]))
    where = " and ".join(f"chains {g} near {np.median(positions[g, :, j]):.3g}" for g in groups[j])
    more = len(groups) - 1
    others = f" ({more} more coordinate{'s' * (more > 1)} split likewise)" if more else ""
    return [
        f"chains are stuck in different modes: in {labels[j]}, {where}, and their central "
        f"98% ranges never overlap{others}. Pooled draws misweight the modes; start chains "
        "from more spread-out points, run longer, or use a sampler that moves between modes."
    ]


def _rhat_warning(table) -> list[str]:
    r_hat = table["r_hat"].to_numpy()
    bad = ~(r_hat <= R_HAT_MAX)
    if not bad.any():
        return []
    worst = table.index[int(np.argmax(np.nan_to_num(r_hat, nan=np.inf)))]
    constant = "; NaN: the draws are constant" if np.isnan(r_hat).any() else ""
    return [
        f"R-hat > {R_HAT_MAX} for {bad.sum()} of {bad.size} coordinates (worst: {worst} = "
        f"{table.loc[worst, 'r_hat']:.3g}{constant}): the chains disagree. Run longer, or "
        "check for chains stuck in different modes."
    ]


def _ess_warning(table, n_chains: int) -> list[str]:
    ess = table["ess_bulk"].to_numpy()
    limit = ESS_PER_CHAIN_MIN * n_chains
    bad = ~(ess >= limit)
    if not bad.any():
        return []
    worst = table.index[int(np.argmin(np.nan_to_num(ess, nan=-1.0)))]
    return [
        f"bulk ESS below {ESS_PER_CHAIN_MIN} per chain ({limit} for {n_chains} chains) for "
        f"{bad.sum()} of {bad.size} coordinates (lowest: {worst} = "
        f"{table.loc[worst, 'ess_bulk']:.0f}): means and quantiles are unreliable. Run "
        "longer or tune the step size."
    ]


def _sampler_warnings(n_divergent: int, n_draws: int, bfmi: np.ndarray | None) -> list[str]:
    messages = []
    if n_divergent:
        messages.append(
            f"{n_divergent} divergent transitions ({100 * n_divergent / n_draws:.2g}% of "
            "draws): the integrator failed where the density curves sharply, so that "
            "region is under-sampled. Reduce the step size or reparameterise."
        )
    if bfmi is not None and np.any(bfmi < BFMI_MIN):
        low = np.flatnonzero(bfmi < BFMI_MIN).tolist()
        messages.append(
            f"E-BFMI below {BFMI_MIN} in chains {low} (lowest {np.min(bfmi):.2f}): momentum "
            "resampling explores the energy levels poorly (heavy tails or a funnel); "
            "reparameterise or adapt the mass matrix."
        )
    return messages


def _non_finite_warning(draws: np.ndarray, labels: list[str]) -> list[str]:
    bad = ~np.isfinite(draws)
    if not bad.any():
        return []
    per_draw = bad.any(axis=2)
    first = labels[int(np.flatnonzero(bad.any(axis=(0, 1)))[0])]
    return [
        f"{int(per_draw.sum())} of {per_draw.size} draws have non-finite values (first in "
        f"{first}): the sampler met NaN or inf; every statistic involving them is NaN. "
        "Reduce the step size, or check the score or log density where they occur."
    ]


def _single_chain_warning(n_chains: int) -> list[str]:
    return [
        f"only {n_chains} chain: R-hat compares chains and cannot be computed. Run at least "
        "4 chains from dispersed starting points, or pass particles=True if the draws are "
        "independent."
    ]


def convergence_warnings(
    table,
    draws: np.ndarray,
    labels: list[str],
    n_divergent: int,
    bfmi: np.ndarray | None,
    particles: bool = False,
) -> list[str]:
    """Plain-language warnings for a summary ``table``; empty when healthy.

    Args:
        table: the summary (columns ``r_hat`` and ``ess_bulk``).
        draws: every coordinate, ``(chain, draw, k)``, labelled by ``labels``.
        labels: the name of each of the ``k`` coordinates.
        n_divergent: divergent transitions over all chains.
        bfmi: E-BFMI per chain, or None.
        particles: independent draws (particle samplers): R-hat, ESS, stuck-chain and
            E-BFMI warnings, which judge Markov chains, do not apply.
    """
    n_chains, n_draws = draws.shape[:2]
    messages = _non_finite_warning(draws, labels)
    messages += _sampler_warnings(n_divergent, n_chains * n_draws, None if particles else bfmi)
    if particles:
        return messages
    if n_chains < 2:
        return messages + _single_chain_warning(n_chains) + _ess_warning(table, n_chains)
    return (
        _rhat_warning(table)
        + _ess_warning(table, n_chains)
        + messages
        + _stuck_chains_warning(draws, labels)
    )


def summary(data, target=None, *, particles: bool | None = None) -> ChainSummary:
    """Per-coordinate mean, sd, MCSE, bulk/tail ESS and R-hat, divergences, E-BFMI and
    plain-language warnings, for any run :func:`~scoresample.diagnostics.to_inference_data`
    accepts (Chains, arrays, dicts, InferenceData / DataTree, NumPyro MCMC, netCDF paths).

    Rows are ArviZ's labels: ``mu``, ``theta[0]``, ``theta[0, 1]``; our Chains give
    ``x[<coordinate name>]`` (and, for NumPyro targets, the constrained sites). Columns
    are :data:`~scoresample.diagnostics.SUMMARY_COLUMNS`. Chains (and ``(chain, draw,
    dim)`` arrays) on a :class:`~scoresample.targets.MeanFree` target are centred first:
    the centre of mass of such a chain is a free random walk that R-hat and ESS of the
    raw coordinates would only report.

    Warnings: non-finite draws; any divergence (``sample_stats.diverging``); for Markov
    chains also R-hat > 1.01, bulk ESS below 100 per chain, E-BFMI below 0.3
    (``sample_stats.energy``), chains whose central 98% ranges never overlap (stuck in
    different modes), a single chain.

    Independent draws (``Chains.particles``, or ``particles=True``) are pooled over
    chains into the i.i.d. table of :func:`~scoresample.diagnostics.independent.iid_table`:
    ESS bulk = ESS tail = n, R-hat NaN (not applicable), ``mcse_mean = sd / sqrt(n)``,
    ``mcse_sd = sd sqrt((kurtosis - 1) / (4 n))`` (delta method).

    Args:
        data: the run.
        target: optional target for Chains and ``(chain, draw, dim)`` arrays: readable
            names, constrained NumPyro sites, centring; other inputs keep their own.
        particles: True for independent draws, False for Markov chains; default: what
            the run says (``Chains.particles``, kept in netCDF files), else False.

    Returns:
        A :class:`ChainSummary`; ``print`` it for a readable report.

    References:
        Vehtari et al. (2021), Bayesian Analysis 16(2) (R-hat, ESS, MCSE);
        Betancourt (2016), arXiv:1604.00695, Eq. 7 (E-BFMI).

    Example:
        Four chains of 500 draws as an array ``(chain, draw, dim)``; a NumPyro ``MCMC``, an
        InferenceData, our Chains or a netCDF path work the same way:

        >>> draws = np.random.default_rng(0).normal(size=(4, 500, 2))
        >>> report = summary(draws)
        >>> list(report.table.index), report.warnings
        (['x[0]', 'x[1]'], [])
        >>> bool((report.table["r_hat"] < 1.01).all())
        True
    """
    idata = prepared(data, target)
    posterior = group(idata, "posterior")
    draws, labels = posterior_draws(posterior)
    independent = is_particles(posterior) if particles is None else bool(particles)
    table = iid_table(draws, labels) if independent else summary_table(idata)
    stats = sample_stats(idata)
    n_divergent = int(np.sum(stats["diverging"])) if "diverging" in stats else 0
    energy = stats.get("energy")
    bfmi = None if independent or energy is None else energy_bfmi(energy)
    messages = convergence_warnings(table, draws, labels, n_divergent, bfmi, independent)
    return ChainSummary(table, n_divergent, bfmi, messages, particles=independent)
