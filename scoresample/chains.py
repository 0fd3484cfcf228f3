"""The result of a sampling run: draws of many chains and their per-draw statistics.

This is the contract between :mod:`scoresample.samplers` (which produce it) and
:mod:`scoresample.diagnostics` (which read it). Statistics use the names ArviZ expects
in ``sample_stats`` where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Per-draw statistics, each of shape ``(chain, draw)``, that samplers may report.
STAT_NAMES = (
    "acceptance_rate",  # Metropolis acceptance probability of the step (1 for unadjusted)
    "diverging",  # bool: divergent trajectory or non-finite score / log density
    "step_size",  # step size used for the draw
    "n_grad_evals",  # score / gradient evaluations spent since the previous draw
    "energy",  # Hamiltonian at the draw (HMC, NUTS)
    "n_steps",  # integration steps of the trajectory (HMC, NUTS)
    "tree_depth",  # NUTS tree depth
    "lp",  # log density at the draw, where a log density exists
)


@dataclass(frozen=True, repr=False)
class Chains:
    """Draws ``positions`` of shape ``(chain, draw, dim)`` with per-draw ``stats``.

    ``repr`` is one line (sampler, shape, stats names, particles); ``print(summary(c))``
    reports the draws.

    Attributes:
        positions: the draws, after warm-up and thinning.
        stats: name -> array of shape ``(chain, draw)``; names from :data:`STAT_NAMES`.
        sampler: a short name such as ``"nuts"`` or ``"annealed_langevin"``.
        timing: seconds, e.g. ``{"compile": ..., "warmup": ..., "sampling": ...}``.
        settings: what the run used after adaptation (step size, mass matrix, levels...).
        coordinate_names: one readable name per dimension, or ``None`` for ``x[i]``.
        particles: ``True`` when the draws are independent particles (annealed Langevin,
            reverse diffusion: one chain of ``n`` independent draws), not Markov chains.
    """

    positions: np.ndarray
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    sampler: str = "unknown"
    timing: dict[str, float] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    coordinate_names: list[str] | None = None
    particles: bool = False

    def __post_init__(self):
        positions = np.asarray(self.positions)
        if positions.ndim != 3:
            raise ValueError(f"positions must be (chain, draw, dim), got shape {positions.shape}")
        object.__setattr__(self, "positions", positions)
        for name, value in self.stats.items():
            value = np.asarray(value)
            if value.shape != positions.shape[:2]:
                raise ValueError(
                    f"stats[{name!r}] has shape {value.shape}, "
                    f"expected (chain, draw) = {positions.shape[:2]}"
                )
            self.stats[name] = value

    def __repr__(self) -> str:
        stats = ", ".join(self.stats) or "none"
        shape = f"{self.n_chains} x {self.n_draws} x {self.dim}"
        return (
            f"Chains(sampler={self.sampler!r}, chain x draw x dim = {shape}, stats: {stats}, "
            f"particles={self.particles})"
        )

    @property
    def n_chains(self) -> int:
        return self.positions.shape[0]

    @property
    def n_draws(self) -> int:
        return self.positions.shape[1]

    @property
    def dim(self) -> int:
        return self.positions.shape[2]

    def flat(self) -> np.ndarray:
        """All draws pooled over chains, shape ``(chain * draw, dim)``."""
        return self.positions.reshape(-1, self.dim)

    def total_grad_evals(self) -> int:
        """Score / gradient evaluations of the sampling phase, over all chains."""
        grads = self.stats.get("n_grad_evals")
        return int(np.sum(grads)) if grads is not None else 0

    def warmup_grad_evals(self) -> int:
        """Score / gradient evaluations of the warm-up (adaptation or burn-in), over all
        chains; 0 where the run recorded none."""
        return int(np.sum(self.settings.get("warmup_grad_evals", 0)))
