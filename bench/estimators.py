"""Bias and variance of the importance-sampled score identities, against exact noised scores.

For each target (gmm40, d = 2; many_well, d = 32), noise level t and number of proposals
K, noised points ``y ~ p_t`` (exact draws, noised) each get R independent estimates of
``grad log p_t(y)`` by every identity from the same proposals: DSI, TSI (iDEM's), kappa-bar
and kappa = 1/2. Against the exact noised score (gmm40: closed form; many_well: quadrature)
it prints, relative to ``E|grad log p_t(y)|^2``:

- squared bias: ``mean_y |mean_R(est) - exact|^2 - mean_y tr(var_R) / R`` (the
  replicate noise taken out, so it is unbiased and may be slightly negative);
- variance: ``mean_y tr(var_R)``, of one estimate;
- MSE: their sum; and the mean Kish ESS of the weights.

Kappa-bar is ``GaussianKappa`` at the within-mode standard deviation: the average
component variance for gmm40, and for many_well the average within-well variance of the
coordinates, measured on exact draws. The noise is VE with ``sigma_max`` about the
spread of the data (gmm40 40, many_well 5); ``sigma_min`` 0.01.

Measured (2 CPU cores, seed 0, 64 points x 16 repeats, 6 times x K in 10, 100, 1000; 80 s):

- gmm40: kappa-bar has the lowest MSE in 15 of 18 cells, kappa = 1/2 in 3, TSI (iDEM's)
  and DSI in none. Relative MSE at K = 1000: t = 0.05 (sigma 0.015) TSI 1.3e-7,
  kappa-bar 3.1e-8, DSI 7.8; t = 1 (sigma 40, ESS 22) TSI 59, kappa-bar 0.026, DSI
  0.026. TSI's error at high noise is bias as much as variance (squared bias 3.2).
- many_well (d = 32): kappa-bar lowest in 9 cells (t <= 0.4, where ESS >= 2.5), DSI in 8
  (t >= 0.6), kappa = 1/2 in 1, TSI in none. From t = 0.6 (sigma 0.42) the weights
  collapse (ESS 1.0-1.8 of K = 1000) and every estimator's relative MSE is above 0.9, no
  better than predicting zero; TSI's reaches 5e6 at sigma = 5.

Run: ``python bench/estimators.py`` (``--quick`` for a smoke run; ``--out results.json``).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from scoresample.estimators import importance_score_identities
from scoresample.noise import VE
from scoresample.objectives import GaussianKappa, kappa_bar
from scoresample.targets import gmm40, many_well

IDENTITIES = ("dsi", "tsi", "kappa_bar", "half")


def within_well_sigma(target, key) -> float:
    """Root of the average within-well variance of many-well's coordinates (exact draws)."""
    xs = np.asarray(target.sample(key, 100_000), np.float64).reshape(-1, target.n_wells, 2)
    first = xs[:, :, 0]
    right = first > 0
    variances = [first[right].var(), first[~right].var()]
    within_first = right.mean() * variances[0] + (1 - right.mean()) * variances[1]
    return float(np.sqrt(0.5 * (within_first + xs[:, :, 1].var())))


def settings(key):
    """(name, target, process, kappa-bar) of each target."""
    mixture, wells = gmm40(), many_well(32)
    gmm_process, wells_process = VE(0.01, 40.0), VE(0.01, 5.0)
    return [
        ("gmm40", mixture, gmm_process, kappa_bar(gmm_process, mixture)),
        (
            "many_well",
            wells,
            wells_process,
            GaussianKappa(wells_process, within_well_sigma(wells, key)),
        ),
    ]


def measure(target, process, kappa, t, k, n_points, repeats, key):
    """One row per identity: relative squared bias, variance, MSE and mean ESS."""
    key_x, key_w, key_e = jax.random.split(key, 3)
    alpha, sigma = process.alpha(t), process.sigma(t)
    xs = target.sample(key_x, n_points)
    ys = alpha * xs + sigma * jax.random.normal(key_w, xs.shape)
    kappas = {"kappa_bar": kappa, "half": 0.5}

    @jax.jit
    def at(y, keys):
        one = lambda key_: importance_score_identities(target, process, y, t, key_, k, kappas)  # noqa: E731
        return jax.vmap(one)(keys)

    keys = jax.random.split(key_e, n_points * repeats).reshape(n_points, repeats, -1)
    estimates = jax.lax.map(lambda args: at(*args), (ys, keys))
    exact = jax.vmap(target.noised(alpha, sigma).score)(ys)
    scale = float(jnp.mean(jnp.sum(exact**2, axis=1)))
    rows = {}
    for name in IDENTITIES:
        est = np.asarray(estimates[name].mean, np.float64)  # (points, repeats, d)
        spread = est.var(axis=1, ddof=1).sum(axis=1)
        error = ((est.mean(axis=1) - np.asarray(exact, np.float64)) ** 2).sum(axis=1)
        bias2 = float(np.mean(error - spread / repeats)) / scale
        variance = float(np.mean(spread)) / scale
        rows[name] = {
            "bias2": bias2,
            "variance": variance,
            "mse": bias2 + variance,
            "ess": float(np.mean(estimates[name].ess)),
        }
    return rows, scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few points, times and K")
    parser.add_argument("--out", default=None, help="write the rows to this JSON file")
    args = parser.parse_args()
    times = (0.1, 0.5, 0.9) if args.quick else (0.05, 0.2, 0.4, 0.6, 0.8, 1.0)
    ks = (10, 100) if args.quick else (10, 100, 1000)
    n_points, repeats = (16, 4) if args.quick else (64, 16)
    key = jax.random.PRNGKey(0)
    results = []
    for name, target, process, kappa in settings(key):
        print(f"\n== {name} (d = {target.dim}), {n_points} points x {repeats} repeats")
        print(f"{'t':>5} {'sigma':>8} {'K':>5}  " + "  ".join(f"{i:>27}" for i in IDENTITIES))
        print(f"{'':>21}" + "  ".join(f"{'bias2 / var / ESS':>27}" for _ in IDENTITIES))
        for t in times:
            for k in ks:
                start = time.perf_counter()
                key, sub = jax.random.split(key)
                rows, scale = measure(target, process, kappa, t, k, n_points, repeats, sub)
                cells = "  ".join(
                    f"{r['bias2']:9.2e} / {r['variance']:8.2e} / {r['ess']:6.1f}"
                    for r in rows.values()
                )
                sigma = float(process.sigma(t))
                print(
                    f"{t:5.2f} {sigma:8.3f} {k:5d}  {cells}  ({time.perf_counter() - start:.1f} s)"
                )
                results += [
                    {
                        "target": name,
                        "t": t,
                        "sigma": sigma,
                        "k": k,
                        "identity": identity,
                        "score_scale": scale,
                        **row,
                    }
                    for identity, row in rows.items()
                ]
        best = {}
        for row in (r for r in results if r["target"] == name):
            cell = (row["t"], row["k"])
            if cell not in best or row["mse"] < best[cell]["mse"]:
                best[cell] = row
        wins = {
            identity: sum(r["identity"] == identity for r in best.values())
            for identity in IDENTITIES
        }
        print(f"lowest MSE, cells won of {len(best)}: {wins}")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
