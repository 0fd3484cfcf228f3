"""The Boltzmann-sampling table: learned samplers, corrected by the exact energy, beside
MCMC with the same number of energy evaluations, every metric beside its floor.

For each target (gmm40, many_well-32, dw4, lj13; lj55 with ``--full``) it trains a score
by target score matching (the kappa mixture, De Bortoli et al. 2024) on data with
forces, an E(n)-equivariant network (EGNN) for particle systems, and reports four
methods:

- ``learned``: the learned score sampled without the energy (reverse diffusion, or
  annealed Langevin on gmm40);
- ``learned_mh``: those draws refined on the exact energy (Metropolis refinement,
  :func:`scoresample.refine`): 25 + 50 MALA steps, on the particle systems 50 + 100
  HMC transitions of 10 leapfrog steps after relaxing the draws above the training
  data's largest energy (``REFINE_PARTICLES``);
- ``learned_reweighted``: draws of the learned probability-flow ODE importance-weighted
  by the exact energy (:func:`scoresample.samplers.reweight`), resampled for the metrics;
  the divergence in ``log q`` is exact up to d = 32 (gmm40, many_well, dw4) and
  Hutchinson's above (lj13, lj55), stated in the row's ``divergence``;
- ``learned_reweighted_mh``: resample-move,
  the reweighted row's resampled draws refined as ``learned_mh`` (the weights set the
  mass between modes, the transitions spread the duplicates and correct them locally);
- ``mcmc_budget_matched``: MALA on the exact energy, one chain per evaluated draw,
  with as many energy evaluations as the most expensive learned row spent (its last
  draw per chain);
- ``mcmc_budget_matched_hmc`` (where the refinement is HMC: DW-4, LJ-13): the refinement
  itself, relaxation and HMC, started from N(0, I) instead of the learned draws, at the
  same count: what the learned starts are worth.

And, trained from the energy alone (``--methods data_free``; gmm40, many_well, dw4):

- ``data_free``: iDEM's loop (:func:`scoresample.fit_data_free`) regressing on the
  importance-sampled kappa estimator, kappa-bar with the within-mode scale taken from
  the energy alone (the Laplace scale at a local minimum, :func:`laplace_sigma_data`),
  sampled by reverse diffusion (as the loop refills its buffer);
- ``data_free_tsi``: the same loop on iDEM's estimator, TSI clipped to iDEM's
  ``max_score_norm`` (in our coordinates);
- ``data_free_mh``, ``data_free_tsi_mh``: those draws refined by MALA on the exact energy,
  as ``learned_mh``;
- ``mcmc_budget_matched_data_free``: as ``mcmc_budget_matched``, at the largest count of
  the data-free rows (their estimators' proposals, steps x batch x K, and refinement).

Each MCMC row names the rows whose count it matches (``matches``). Measured with
``--methods data_free`` (2 CPU cores, seed 0; ratios to the floor):

- gmm40 (76.8M evaluations each): ``data_free`` sample_w2 5.90 (1.70x a floor of 3.47),
  ``data_free_tsi`` 16.0 (4.6x), MALA 21.6 (6.2x; its chains stay in the modes near their
  start). Run second (``--targets dw4,gmm40``: other keys, a floor of 4.71): 5.90 / 14.7
  / 22.1, refined 6.03 / 13.3. iDEM's table: 7.70 (1.85x).
- many_well-32 (76.8M): well_fraction_error 0.287 / 0.272 / MALA 0.224 against a floor
  of 0.011: all fail. The importance weights collapse from sigma ~0.4 in d = 32
  (``bench/estimators.py``: ESS 1-2 of 1000), where the wells' weights are decided.
- dw4 (51.2M): energy_w2_dem 117 / 129 / MALA 0.0073-0.0105 (floor 0.0143); refined by
  MALA (75,000 more), 0.25 / 0.67, iDEM's 0.59 in the re-evaluation; distance_w2 0.356 /
  0.523, refined 0.269 / 0.504, MALA 0.060-0.079 (floor 0.046). MALA at the same count is
  at the floor, as the re-evaluation of iDEM found.

LJ-13 (``--targets lj13``, seed 0; an energy EGNN, ``ENERGY_NETWORK``; refinement by
HMC after relaxing the draws above the training data's largest energy, 0.18), ratios to
the floor: ``learned_mh`` (1.66M evaluations) sample_w2 4.35 (1.01x), energy_w2 0.755
(0.98x), distance_w2 0.0381 (3.3x), distance_tv 0.0188 (0.96x). Before the relaxation,
7 of 1000 refined draws kept overlapping particles (energies up to 9e10) and energy_w2
was 2.9e9. Beside it, MALA at the same count (``mcmc_budget_matched``): 4.55, 7.35
(9.5x), 0.202 (17x), 0.0741 (3.8x); and the same relaxation and HMC from N(0, I)
(``mcmc_budget_matched_hmc``, 1.66M): 4.31 (1.00x), 0.740 (0.96x), 0.00967 (0.83x),
0.0197 (1.01x), at every floor, and 4x closer on distance_w2 than from the learned
starts. The learned starts lose at every length of the refinement (same 1000 draws and
keys, the relaxation's step fixed at 0.05; distance_tv learned / prior): HMC 5 + 10,
0.39 / 0.32; 10 + 20, 0.14 / 0.084; 25 + 50, 0.076 / 0.048; 50 + 100, 0.019 / 0.018. On
LJ-13 the learned sampler is worth less than a Gaussian start: the energy, relaxed and
refined, does the work. All 1000 learned draws (median energy 1196) are above the
data's largest energy. The training data, 20,000 MALA draws, is hotter than the
reference (median -30.8 against -43.3), but equilibrated data (NUTS, 21.2M
evaluations; median -43.4) did not help the learned rows either. Unrefined ``learned``:
energy_w2 4.9e13, distance_tv 0.51; ``learned_reweighted``: ESS fraction 0.001.

DW-4 (``--targets dw4``, seed 0, the same refinement; reverse diffusion on the log-SNR
grid, ``LOG_SNR_GRID``), ratios to the floor: ``learned`` (140k) energy_w2 3.5 (39x),
energy_w2_dem 12.3, distance_w2 0.647 (23x), distance_tv 0.204 (2.2x): the score's own
error (the probability flow's unweighted draws give the same, 3.22 and 0.51), where the
uniform grid's outliers had made energy_w2 5.9 and, in a second run, 3.4e4.
``learned_mh`` (1.64M) energy_w2 0.154 (1.72x), distance_w2 0.337 (12x), distance_tv
0.0877 (0.96x); ``learned_reweighted`` (141k, ESS fraction 0.27): 0.204 (2.3x), 0.115
(4.1x), 0.137 (1.49x); ``learned_reweighted_mh`` (1.64M): 0.178 (2.0x), 0.108 (3.8x),
0.0883 (0.96x), energy_w2_dem 0.0318 (iDEM's 0.59 in the re-evaluation); MALA at the
same count 0.145 (1.62x), 0.527 (19x), 0.125 (1.36x); HMC from N(0, I) 0.157 (1.76x),
0.413 (15x), 0.108 (1.18x). On energy_w2 every row at this count is within 1.6-2.0x of
the floor, MCMC included: at 1000 draws that metric's differences under about 1.5x are
noise (the previous run, on the uniform grid: resample-move 0.123, 1.38x, and 0.0910).
The weights move mass between the wells, which 150 local transitions do not: the
reweighted rows are 3-5x closer on distance_w2 than MCMC from either start.
The uncorrected row's two errors have two causes (seed 0, another reference key, floors
0.102 / 0.094 on energy_w2 / distance_w2). Its distance error is its data's: 1000 of the
20,000 MALA training draws give distance_w2 0.50, the learned sampler 0.48-0.51 (log-SNR
grid, 2000 uniform steps, the flow's draws). Trained instead on 15,000 draws of the
checked NUTS reference (equilibrated; data distance_w2 0.10), the learned row gives
0.141, and with ``weighting = "relative"`` 0.082: under iDEM's 0.21. Its energy error is
the score's: energy_w2_dem 12.6 on the reference data (the data's own 0.021), 2.9 with
``relative`` (energy_w2 1.7, 17x its floor; iDEM 0.59): the low-noise score, which the
default sigma^2 weighting leaves untrained (many_well's cause too).

gmm40 (12,000 training steps, annealed Langevin 20 x 200; seeds 0, 1, 2, each against
its own floor): ``learned`` (20k evaluations) sample_w2 0.80x, 1.19x, 1.47x (mean
1.15x) and mode_weight_tv 1.04x, 0.95x, 1.04x, at the floor; ``learned_reweighted``
ESS fraction 0.90, 0.89, 0.91 and log Z error -0.014, +0.012, +0.010 (1.3, 1.1, 1.0
standard errors; Pareto k-hat below its threshold); MALA at the same 96k evaluations
6.3x and 10x. With 3000 steps and 20 x 50 (the earlier settings, same seeds) ``learned``
was 1.63x, 1.16x, 1.06x (mean 1.28x) and 1.5x, 1.5x, 1.8x on mode weights, and the ESS
fraction 0.39, 0.50, 0.48. The exact score under 20 x 50 annealed Langevin gives 1.13x,
1.07x, 1.16x (20 x 200: 0.80x, 1.37x, 0.93x): the sampler's bias, not only the score, set
the old row, and at 1000 draws sample_w2 itself varies by about 0.6 between sets.
many_well-32 (``--targets gmm40,many_well``, 94 s): the flow's ESS is 1 (Pareto k-hat 99)
and its log Z error -998 against a standard error of 1.0 that only says one weight
dominates; resample-move starts from a handful of distinct draws (well_fraction_error
0.189 against ``learned_mh``'s 0.094 and MALA's 0.329; floor 0.0093). The learned score's
relative error at t = 0.001 is 0.89: the default weighting sigma^2 leaves the low noise
levels untrained (``relative`` weighting and 64,000 steps: 0.027, log Z error +0.43 but
ESS still 1 of 500; it also made reverse diffusion throw one draw in 1000 to 1e37).

Energy evaluations count everything: the training data's MCMC (warm-up included) and the
exact scores attached to it, sampling, refinement and the energies of the weights.
Seconds count the same stages, compilation included (one run of each).

Metrics (names as ``results.json`` keys), each beside its floor, the same metric between
two independent reference sets of the same size (for gmm40 and many_well, exact samples,
the mean over ``FLOOR_SETS`` floor sets against the one reference; for particle systems,
the two chain halves of a checked long-MCMC reference, :mod:`scoresample.reference`):
``sample_w2`` (exact W2 on centred flattened coordinates, as DEM),
``energy_w2`` (true W2 of the energies), ``energy_w2_dem`` (its square, as DEM's code
reports), ``distance_w2`` (true W2 of the pooled interparticle distances), ``distance_tv``
(histogram TV, 200 bins), ``ess_fraction`` (Kish ESS / n of the weights; floor: 1) and
``log_z_error`` (estimate minus the exact log Z where known; floor: its delta-method
standard error); on gmm40 also ``mode_weight_tv`` (TV of the mode weights: at 1000 draws
W2 favours modes blurred wider over right weights) and on many_well
``well_fraction_error``.

Run: ``python bench/boltzmann.py --quick --out runs/bench`` (500 draws per method, a smoke
run: 4.5 min on 2 CPU cores, its small references made afresh); ``python
bench/boltzmann.py --out runs/bench`` (gmm40, many_well, dw4, lj13: 24 min on 2 CPU cores
with the references stored); ``--full`` adds lj55.
Writes ``results.json``: a list of rows ``{"target", "method", "energy_evals", "seconds",
"metrics": {name: {"value", "floor"}}}``, and prints the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import jax
import numpy as np

from scoresample._io import write_text
from scoresample.app.config import RefineConfig, parse_config
from scoresample.app.pipeline.build import build_target
from scoresample.app.pipeline.sample import refine_draws, run_sampler, start_energy_bound
from scoresample.app.pipeline.train import train_stage
from scoresample.diagnostics.metrics import (
    mode_weight_tv,
    particle_metrics,
    wasserstein2,
    well_fraction_error,
)
from scoresample.estimators import laplace_scale
from scoresample.reference import ReferenceSettings, load_reference, reference
from scoresample.samplers import make_sampler, refine, relax, reweight, run
from scoresample.targets import GaussianMixture, KnownNormaliser, ManyWell, MeanFree, ParticleSystem

#: Targets with particles (an EGNN, MCMC data, a long-MCMC reference).
PARTICLES = ("dw4", "lj13", "lj55")
#: The probability-flow divergence is exact (d JVPs per step) up to this dimension and
#: Hutchinson's (one probe) above. Measured on LJ-13 with a 3 x 32 EGNN on 2 cores, 32
#: draws: exact 83 s, Hutchinson 8.8 s (rtol 1e-5; 1000 draws with Hutchinson: 120 s).
EXACT_DIVERGENCE_MAX_DIM = 32
#: Floor sets of a target with an exact sampler: the floor is the metric's mean over them.
#: One set's floor is noisy: gmm40's sample_w2 at 1000 draws, over 10 sets, 3.76 with a
#: standard deviation of 0.61 (2.94 to 4.98).
FLOOR_SETS = 5
#: Draws evaluated per method (DEM: 1000 for DW-4, 1024 for LJ-13).
N_EVAL = 1000
#: ``--quick`` judges fewer draws (and solves the flow with looser tolerances).
QUICK_N_EVAL = 500
#: The reference of ``--quick`` where the default one is not stored yet (its checks may
#: fail: DW-4 needs about 2.5 min and LJ-13 4.5 min for one that passes).
QUICK_REFERENCE = ReferenceSettings(n_chains=8, num_warmup=300, num_samples=250, thinning=4)
#: Annealed Langevin on gmm40: the demo's noise levels, spanning the modes' spread, with 200
#: steps per level (the demo's 50 leave a bias of their own: with the exact score, sample_w2
#: 1.12x its floor over three seeds). The learned sampler's steps cost no energy.
ANNEALED_GMM40 = {"sigma_first": 80.0, "sigma_last": 0.05, "n_levels": 20, "n_steps_per_level": 200}


def _n_eval(quick: bool) -> int:
    """Draws judged per method."""
    return QUICK_N_EVAL if quick else N_EVAL


#: Reverse diffusion's steps uniform in log SNR rather than in t. On DW-4 (seed 0, 1000
#: draws, 500 steps, the same trained score) the uniform grid's last steps throw a few
#: draws far out: energy_w2 3.4e4 and distance_w2 1.38; on the log-SNR grid 3.15 and 0.48,
#: as with 2000 uniform steps (2.89, 0.51) and as the probability flow's own draws, before
#: weighting (3.22, 0.51): what is left is the score's error, not the sampler's.
LOG_SNR_GRID = ("dw4",)
#: Particle systems whose network is an energy (score = -grad E) rather than a score.
#: LJ-13 with a 3 x 32 EGNN (2000 steps, MCMC data): at sigma = 0.01 the energy network's
#: force has a median relative error of 0.16 against the clean force, the score network's
#: 0.74; reverse-diffusion draws of the energy network have a median energy of 60 and a
#: median smallest pair distance of 0.79 (the score network's: 1.5e5 and 0.40; the
#: data's: -31 and 0.91).
ENERGY_NETWORK = ("lj13", "lj55")
#: Metropolis refinement of the learned draws on gmm40 and many_well and of the data-free
#: draws: 25 + 50 MALA steps.
REFINE = RefineConfig(sampler="mala", num_warmup=25, num_steps=50)
#: ... and of the TSM rows' draws on the particle systems: HMC (10 leapfrog steps, 50 +
#: 100 transitions). Measured on LJ-13 from the energy network's draws (300 draws;
#: distance_tv floor 0.018): MALA 25 + 50, 0.57; MALA 100 + 400, 0.39; HMC 25 + 50, 0.46;
#: HMC 50 + 100, 0.038. Draws above the training data's largest energy are relaxed below
#: it first (``max_start_energy = "data"``): without it, 7 of 1000 refined LJ-13 draws
#: kept overlapping particles (energies up to 9e10) and energy_w2 was 2.9e9. On DW-4 (seed
#: 0, 1.64M evaluations against MALA 25 + 50's 215k before) energy_w2 0.188 (2.1x the
#: floor; 0.509 before), distance_tv 0.0997 (1.09x; 0.148 before).
REFINE_PARTICLES = RefineConfig(
    sampler="hmc", num_warmup=50, num_steps=100, max_start_energy="data"
)


def _network(target: str, quick: bool) -> dict:
    """``[score.network]``: an EGNN for particle systems (an energy EGNN on the
    Lennard-Jones systems), else a 3 x 128 SiLU MLP."""
    if target in PARTICLES:
        width = 64 if target == "dw4" and not quick else 32
        kind = "egnn_energy" if target in ENERGY_NETWORK else "egnn_score"
        return {"kind": kind, "hidden": [width] * (4 if width == 64 else 3), "embed": 32}
    return {"hidden": [128, 128, 128], "activation": "silu", "embed": 64}


def _training(target: str, quick: bool) -> dict:
    """``[score.training]``. Measured EGNN steps on 2 cores: DW-4 at 4 x 64, batch 512,
    70 ms; LJ-13 at 3 x 32, batch 256, 220 ms (at 3 x 64, 450 ms), hence fewer steps.
    gmm40 at 12,000 steps (68 s beside another run): the flow's ESS fraction 0.9 against 0.4-0.5 at
    3000 (48,000: 0.94)."""
    steps, batch = {"gmm40": (12000, 512), "lj13": (2000, 256), "lj55": (1000, 128)}.get(
        target, (4000, 512)
    )
    if quick:
        steps, batch = steps // 8, batch // 4
    return {"steps": steps, "batch_size": batch, "learning_rate": 1e-3} | {
        "ema": 0.99 if quick else 0.999
    }


def _data(target: str, quick: bool) -> dict:
    """``[score.data]``: MCMC on the exact energy for particle systems, else exact samples
    (both with exact scores attached)."""
    n = 2000 if quick else 20000
    if target in PARTICLES:
        warmup = 200 if quick else 1000
        return {"source": "mcmc", "n": n, "mcmc_sampler": "mala", "mcmc_chains": 100} | {
            "mcmc_warmup": warmup
        }
    return {"source": "exact", "n": n}


def _sampler(target: str, quick: bool) -> dict:
    """The learned sampler, with Metropolis refinement on the exact energy (``REFINE``,
    ``REFINE_PARTICLES``)."""
    n = _n_eval(quick)
    if target == "gmm40":
        sampler = {"name": "annealed_langevin", "n_chains": n} | ANNEALED_GMM40
    else:
        sampler = {
            "name": "reverse_diffusion",
            "n_chains": n,
            "n_steps": 100 if quick else 500,
        }
        if target in LOG_SNR_GRID:
            sampler["time_grid"] = "log_snr"
    refine = REFINE_PARTICLES if target in PARTICLES else REFINE
    return sampler | {"refine": dataclasses.asdict(refine)}


def _learned_table(target: str, quick: bool) -> dict:
    """The TOML table of the learned pipeline of ``target`` (training and its sampler)."""
    score = {"kind": "learned", "objective": "kappa", "process": "vp"}
    score["kappa"] = "bar" if target == "gmm40" else "gaussian"
    score |= {"network": _network(target, quick), "training": _training(target, quick)}
    score["data"] = _data(target, quick)
    return {
        "seed": 0,
        "target": {"name": target},
        "score": score,
        "sampler": [_sampler(target, quick)],
    }


#: Data-free training per target, iDEM's settings scaled to 2 CPU cores (iDEM: K = 500 on
#: GMM, 1000 on DW-4; batch 512; 1000 new draws per epoch into a buffer of 10,000):
#: ``(sigma_max, K, max_score_norm in our coordinates, steps, batch, scale)``. iDEM's GMM
#: runs on coordinates divided by 50 with sigma_max 1 and max_score_norm 70, so ours are
#: 50 and 70 / 50; DW-4: sigma_max 3, max_score_norm 20. ``scale`` is the rough extent of
#: the target a user states up front (as iDEM's normalisation by 50 does): the network's
#: preconditioning ``sigma_data``, so that the untrained model's first draws cover it.
DATA_FREE = {
    "gmm40": (50.0, 100, 1.4, 3000, 256, 20.0),
    "many_well": (5.0, 100, 20.0, 3000, 256, 1.5),
    "dw4": (3.0, 100, 20.0, 2000, 256, 1.5),
}
#: The data-free estimators: kappa-bar and iDEM's clipped TSI.
DATA_FREE_ROWS = {"data_free": "kappa", "data_free_tsi": "tsi"}


def laplace_sigma_data(target, key) -> float:
    """The within-mode scale from the energy alone (:func:`~scoresample.estimators.laplace_scale`:
    a Laplace approximation at the local minimum that L-BFGS reaches from ``1.5 N(0, I)``;
    the zero eigenvalues of a particle system's translations and rotations left out)."""
    start = 1.5 * np.asarray(jax.random.normal(key, (target.dim,)), np.float64)
    return laplace_scale(target.log_prob, start)


def _data_free_table(target: str, estimator: str, kappa_sigma: float, quick: bool) -> dict:
    """The TOML table of the data-free pipeline of ``target`` with ``estimator``."""
    sigma_max, k, max_norm, steps, batch, scale = DATA_FREE[target]
    if quick:
        k, steps, batch = k // 4, steps // 6, batch // 2
    data = {"source": "energy", "n": 10_000, "k": k, "estimator": estimator}
    data |= {"refill": 1000, "refill_steps": 50 if quick else 100, "refill_every": 100}
    if estimator == "tsi":
        data["max_norm"] = max_norm
    network = _network(target, quick) | {"preconditioning": "tsm"}
    score = {"kind": "learned", "process": "ve", "sigma_max": sigma_max, "kappa": "gaussian"}
    score |= {"sigma_data": scale, "kappa_sigma": kappa_sigma, "network": network, "data": data}
    # No EMA: refills from an average over a 1000-step window lag the model. Measured on
    # gmm40 (3000 steps, K = 100, 2 seeds): sample_w2 6.46 and 5.76 without, 23.9 and 14.6
    # with ema = 0.999; lr 1e-3 without EMA diverged in 2 of 3 seeds.
    score["training"] = {"steps": steps, "batch_size": batch, "learning_rate": 5e-4}
    steps = 100 if quick else 500
    sampler = {"name": "reverse_diffusion", "n_chains": _n_eval(quick), "n_steps": steps}
    return {"seed": 0, "target": {"name": target}, "score": score, "sampler": [sampler]}


def _reference_sets(target, name: str, quick: bool, key):
    """``(reference, floor sets)``: independent sets of ``n`` draws of the target (for an
    exact sampler, ``FLOOR_SETS`` floor sets; for a particle system, the other chain half
    of its reference), and the reference's record for the results."""
    if not isinstance(target, ParticleSystem):
        keys = jax.random.split(key, 1 + FLOOR_SETS)
        sets = [np.asarray(target.sample(k, _n_eval(quick))) for k in keys]
        return sets[0], sets[1:], None
    ref = load_reference(name)  # the default reference, where one is stored
    if ref is None:
        ref = reference(name, QUICK_REFERENCE if quick else None)
    if not ref.checks.passed:
        print(f"warning: the {name} reference failed its checks: {ref.checks.failures}")
    part_a, part_b = ref.split(_n_eval(quick), key)
    record = {"path": str(ref.path), "passed": ref.checks.passed, "energy_evals": ref.energy_evals}
    return part_a, [part_b], record


def _metrics(samples, ref_a, target) -> dict[str, float]:
    """Every sample metric of ``samples`` against the reference ``ref_a``."""
    samples = np.asarray(samples, np.float64)
    if isinstance(target, MeanFree):
        samples = np.asarray(target.remove_mean(samples), np.float64)
    values = {"sample_w2": wasserstein2(samples, ref_a)}
    if isinstance(target, GaussianMixture):
        values["mode_weight_tv"] = mode_weight_tv(samples, target)
    if isinstance(target, ManyWell):
        values["well_fraction_error"] = well_fraction_error(samples, target)
    if isinstance(target, ParticleSystem):
        found = particle_metrics(samples, ref_a, target)
        values |= {
            k: found[k] for k in ("energy_w2", "energy_w2_dem", "distance_w2", "distance_tv")
        }
    return values


def _floors(ref_a, floor_sets, target) -> dict[str, float]:
    """Each metric's floor: its mean over ``floor_sets`` against ``ref_a`` (once per target,
    shared by every row)."""
    per_set = [_metrics(floor_set, ref_a, target) for floor_set in floor_sets]
    return {name: float(np.mean([found[name] for found in per_set])) for name in per_set[0]}


def _quality(x, ref_a, floors, target) -> dict[str, dict[str, float]]:
    """Every sample metric of ``x`` against ``ref_a``, beside its floor."""
    values = _metrics(x, ref_a, target)
    return {name: {"value": values[name], "floor": floors[name]} for name in values}


class Timer:
    """Wall seconds of named stages, each printed as it ends."""

    def __init__(self, label: str):
        self.label = label
        self.seconds: dict[str, float] = {}

    def __call__(self, name, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        jax.block_until_ready(getattr(out, "positions", None))
        self.seconds[name] = time.perf_counter() - start
        print(f"{self.label}: {name} {self.seconds[name]:.0f} s", file=sys.stderr, flush=True)
        return out


def bench_target(name: str, quick: bool, out: Path, key, methods=("tsm",)) -> list[dict]:
    """The rows of one target: the TSM-trained group and/or the data-free group, each
    with its budget-matched MCMC row."""
    config = parse_config(_learned_table(name, quick))
    target = build_target(config.target)
    key_ref, key_tsm, key_free = jax.random.split(key, 3)
    ref_a, floor_sets, ref_record = _reference_sets(target, name, quick, key_ref)
    if isinstance(target, MeanFree):
        ref_a = np.asarray(target.remove_mean(ref_a), np.float64)
        floor_sets = [np.asarray(target.remove_mean(s), np.float64) for s in floor_sets]
    shutil.rmtree(out / name, ignore_errors=True)  # each bench run trains afresh
    refs = (ref_a, _floors(ref_a, floor_sets, target))
    rows = []
    if "tsm" in methods:
        rows += _tsm_rows(name, config, target, quick, out, refs, key_tsm)
    if "data_free" in methods and name in DATA_FREE:
        rows += _data_free_rows(name, target, quick, out, refs, key_free)
    for row in rows:
        row["reference"] = ref_record
    return rows


def _tsm_rows(name, config, target, quick, out, refs, key) -> list[dict]:
    """``learned``, ``learned_mh``, ``learned_reweighted`` and their MCMC row."""
    key_train, key_sample, key_refine, key_flow, key_mcmc = jax.random.split(key, 5)
    clock = Timer(name)
    trained = clock(
        "train", train_stage, config, target, out / name, key_train,
        resume=False, progress=False, base=Path("."),
    )  # fmt: skip
    data_evals = trained.data_energy_evals
    cfg = config.sampler[0]
    learned = clock("sample", run_sampler, cfg, config, target, trained, key_sample, False)
    bound = start_energy_bound(cfg.refine, target, trained, "bench")
    refined = clock(
        "refine", refine_draws, cfg.refine, learned, target, key_refine, False, bound
    )  # fmt: skip
    n = _n_eval(quick)
    divergence = "hutchinson" if target.dim > EXACT_DIVERGENCE_MAX_DIM else "exact"
    tolerance = 1e-3 if quick else 1e-5
    flow = clock(
        "reweight", reweight, key_flow, trained.model, target, n,
        divergence=divergence, rtol=tolerance, atol=tolerance,
    )  # fmt: skip
    learned_seconds = clock.seconds["train"] + clock.seconds["sample"]
    rows = [
        _row(
            name,
            "learned",
            data_evals,
            learned_seconds,
            _quality(learned.flat(), *refs, target),
        ),
        _row(
            name,
            "learned_mh",
            data_evals + refined.total_grad_evals() + refined.warmup_grad_evals(),
            learned_seconds + clock.seconds["refine"],
            _quality(refined.flat(), *refs, target),
        ),
        _reweighted_row(name, target, flow, data_evals, clock, refs, key_flow),
    ]
    rows.append(_resample_move_row(name, target, flow, rows[-1], cfg.refine, bound, refs, key_flow))
    mcmc = [_mcmc_row(name, target, rows, "mcmc_budget_matched", n, refs, key_mcmc)]
    if cfg.refine.sampler == "hmc":
        key_hmc = jax.random.fold_in(key_mcmc, 1)
        mcmc.append(_refiner_row(name, target, rows, cfg.refine, bound, n, refs, key_hmc))
    return rows + mcmc


def _data_free_rows(name, target, quick, out, refs, key) -> list[dict]:
    """``data_free`` (kappa-bar) and ``data_free_tsi`` (iDEM's), each refined (``_mh``),
    and their MCMC row."""
    key_scale, key_mcmc, *keys = jax.random.split(key, 2 + len(DATA_FREE_ROWS))
    sigma_data = laplace_sigma_data(target, key_scale)
    print(f"{name}: Laplace within-mode scale {sigma_data:.3g}", file=sys.stderr)
    rows = []
    for (method, estimator), key_method in zip(DATA_FREE_ROWS.items(), keys, strict=True):
        config = parse_config(_data_free_table(name, estimator, sigma_data, quick))
        key_train, key_sample = jax.random.split(key_method)
        clock = Timer(f"{name} {method}")
        trained = clock(
            "train", train_stage, config, target, out / name / method, key_train,
            resume=False, progress=False, base=Path("."),
        )  # fmt: skip
        cfg = config.sampler[0]
        learned = clock("sample", run_sampler, cfg, config, target, trained, key_sample, False)
        key_refine = jax.random.fold_in(key_sample, 1)  # the unrefined rows' keys as before
        refined = clock("refine", refine_draws, REFINE, learned, target, key_refine, False)
        seconds = clock.seconds["train"] + clock.seconds["sample"]
        evals = trained.data_energy_evals
        quality = _quality(learned.flat(), *refs, target)
        record = {"sigma_data": sigma_data, "estimator": estimator}
        rows.append(_row(name, method, evals, seconds, quality) | record)
        evals += refined.total_grad_evals() + refined.warmup_grad_evals()
        seconds += clock.seconds["refine"]
        quality = _quality(refined.flat(), *refs, target)
        rows.append(_row(name, f"{method}_mh", evals, seconds, quality) | record)
    mcmc = _mcmc_row(
        name, target, rows, "mcmc_budget_matched_data_free", _n_eval(quick), refs, key_mcmc
    )
    return [*rows, mcmc]


def _reweighted_row(name, target, flow, data_evals, clock, refs, key) -> dict:
    n = flow.draws.shape[0]
    resampled = flow.resample(key, n)
    metrics = _quality(resampled, *refs, target)
    metrics["ess_fraction"] = {"value": float(flow.ess_fraction), "floor": 1.0}
    # The weights' Pareto k-hat beside them: above its threshold log Z's standard error,
    # a moment of the same weights, is not to be trusted (one weight: about 1, always).
    if isinstance(target, KnownNormaliser):
        error = float(flow.log_z) - float(target.log_Z)
        metrics["log_z_error"] = {"value": error, "floor": float(flow.log_z_stderr)}
    seconds = clock.seconds["train"] + clock.seconds["reweight"]
    row = _row(name, "learned_reweighted", data_evals + n, seconds, metrics)
    return row | {"divergence": flow.divergence, "pareto_k": float(flow.pareto_k)}


def _resample_move_row(name, target, flow, reweighted: dict, refiner, bound, refs, key) -> dict:
    """``learned_reweighted_mh``: the reweighted row's resampled draws (the same key, so
    the same draws) refined on the exact energy as ``learned_mh`` (resample-move, Gilks
    and Berzuini 2001): the weights set the mass between modes, which a short refinement
    cannot move, and the transitions spread the resampling's duplicates."""
    resampled = flow.resample(key, flow.draws.shape[0])
    start = time.perf_counter()
    chains = refine(
        jax.random.fold_in(key, 2), resampled, target, sampler=refiner.sampler,
        num_warmup=refiner.num_warmup, num_steps=refiner.num_steps,
        max_start_energy=bound, relax_steps=refiner.relax_steps,
    )  # fmt: skip
    seconds = reweighted["seconds"] + time.perf_counter() - start
    evals = reweighted["energy_evals"] + chains.total_grad_evals() + chains.warmup_grad_evals()
    row = _row(
        name, "learned_reweighted_mh", evals, seconds, _quality(chains.flat(), *refs, target)
    )
    return row | {"divergence": flow.divergence}


def _mcmc_row(name, target, matched: list[dict], method: str, n: int, refs, key) -> dict:
    """MALA on the exact energy, ``n`` chains sharing the largest energy-evaluation count
    of the ``matched`` rows (half warm-up, half sampling), the last draw of each chain
    evaluated."""
    budget = max(row["energy_evals"] for row in matched)
    steps = max(budget // n, 2)
    spec = make_sampler("mala", n_chains=n, num_warmup=steps // 2, num_samples=steps - steps // 2)
    start = time.perf_counter()
    chains = run(spec, key, target, progress=False)
    seconds = time.perf_counter() - start
    evals = chains.total_grad_evals() + chains.warmup_grad_evals()
    last = chains.positions[:, -1]
    row = _row(name, method, evals, seconds, _quality(last, *refs, target))
    return row | {"matches": [r["method"] for r in matched]}


def _refiner_row(name, target, matched, refiner: RefineConfig, bound, n, refs, key) -> dict:
    """``mcmc_budget_matched_<refiner>``: the refinement's own MCMC (kernel, relaxation
    bound) from the sampler's prior, N(0, I), instead of the learned draws, with the
    largest energy-evaluation count of the ``matched`` rows: relaxation first, then
    transitions split half warm-up, half kept. It says what the learned starts are worth."""
    budget = max(row["energy_evals"] for row in matched)
    key_prior, key_chains = jax.random.split(key)
    start = time.perf_counter()
    prior = jax.random.normal(key_prior, (n, target.dim))
    if isinstance(target, MeanFree):
        prior = target.remove_mean(prior)
    relaxed = relax(target.log_prob, prior, np.inf if bound is None else bound)
    per_transition = n * make_sampler(refiner.sampler).settings.get("num_integration_steps", 1)
    transitions = max((budget - relaxed.grad_evals) // per_transition, 2)
    chains = refine(
        key_chains, relaxed.positions, target, sampler=refiner.sampler,
        num_warmup=transitions // 2, num_steps=transitions - transitions // 2,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    evals = relaxed.grad_evals + chains.total_grad_evals() + chains.warmup_grad_evals()
    row = _row(
        name, f"mcmc_budget_matched_{refiner.sampler}", evals, seconds,
        _quality(chains.flat(), *refs, target),
    )  # fmt: skip
    return row | {"matches": [r["method"] for r in matched], "relaxed_starts": relaxed.n_relaxed}


def _row(target, method, energy_evals, seconds, metrics) -> dict:
    return {
        "target": target,
        "method": method,
        "energy_evals": int(energy_evals),
        "seconds": float(seconds),
        "metrics": metrics,
    }


#: Every target of the table, in its order (``--full`` adds the last).
ALL_TARGETS = ("gmm40", "many_well", "dw4", "lj13", "lj55")


def print_table(rows: list[dict]) -> None:
    names = [
        "sample_w2", "energy_w2", "energy_w2_dem", "distance_w2", "distance_tv",
        "mode_weight_tv", "well_fraction_error", "ess_fraction", "log_z_error",
    ]  # fmt: skip
    shown = [n for n in names if any(n in r["metrics"] for r in rows)]
    header = f"{'target':<10}{'method':<31}{'energy evals':>14}{'s':>7}"
    print(header + "".join(f"{n + ' [floor]':>24}" for n in shown))
    for r in rows:
        cells = []
        for n in shown:
            m = r["metrics"].get(n)
            cells.append(f"{m['value']:>11.3g} [{m['floor']:>9.3g}]" if m else f"{'-':>23}")
        line = f"{r['target']:<10}{r['method']:<31}{r['energy_evals']:>14,}{r['seconds']:>7.0f}"
        print(line + " " + " ".join(cells))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (<= 5 min, 2 cores)")
    parser.add_argument("--full", action="store_true", help="also lj55")
    parser.add_argument("--targets", help="comma-separated subset of gmm40,many_well,dw4,lj13,lj55")
    parser.add_argument("--out", default="runs/bench_boltzmann", help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods",
        default="tsm",
        help="comma-separated groups: tsm (trained on MCMC data), data_free (from the energy)",
    )
    args = parser.parse_args(argv)
    names = list(ALL_TARGETS[:-1]) + (["lj55"] if args.full else [])
    if args.targets:
        names = args.targets.split(",")
        unknown = sorted(set(names) - set(ALL_TARGETS))
        if unknown:
            parser.error(f"--targets: unknown {unknown}; choose from {','.join(ALL_TARGETS)}")
    out = Path(args.out)
    rows = []
    key = jax.random.PRNGKey(args.seed)
    for name in names:
        methods = tuple(args.methods.split(","))
        # Keyed by the target's place in ALL_TARGETS, not in --targets: a subset run
        # draws the same reference split and rows as the full table.
        key_target = jax.random.fold_in(key, ALL_TARGETS.index(name))
        rows += bench_target(name, args.quick, out, key_target, methods)
        write_text(out / "results.json", json.dumps(rows, indent=2) + "\n")
    print_table(rows)
    print(f"results: {out / 'results.json'}")


if __name__ == "__main__":
    main()
