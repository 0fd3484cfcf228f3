"""Benchmarks of the samplers, each against a peer measured in the same run.

1. ``samplers.run`` against the loop a BlackJAX user writes (``jit(vmap(lax.scan))`` of
   the same kernel, step size and number of steps, the step size an argument) for MALA,
   HMC and NUTS, in wall time of whole calls including the copy of the draws to the host:
   a repeated identical call and each call of a 5-value step-size sweep against the raw
   loop's warm calls (goal <= 1.1x: ``run`` compiles once per trace), and the first call
   (compilation included). Minimum over interleaved repeats.
2. NUTS against NumPyro's NUTS on the same targets (a 10-d Gaussian with scales from 0.1
   to 10; eight schools, non-centred), same warm-up and draws, diagonal mass matrix, both
   chain methods of each: ESS per gradient evaluation, and ESS per second of a repeated
   call (the least of three), against NumPyro's faster chain method. NumPyro traces and
   compiles its loop on every ``MCMC.run``; the bench turns JAX's persistent compilation
   cache on, so its repeated calls load their programs from disk (the best a NumPyro
   user gets), while ours compile nothing. Compilation time cannot be subtracted from
   NumPyro's calls instead: with asynchronous dispatch its sampling phase is traced and
   compiled while its warm-up runs, so JAX's compile events enclose execution.
3. ESS per gradient evaluation for MALA (with and without its mass matrix), HMC and NUTS
   on 100-d Gaussians, standard and with scales from 0.3 to 3, after adaptation. Then
   (3b) preconditioned MALA on the scaled Gaussian against MALA at its best fixed step on
   the standard one, which is what a perfect preconditioner would give (goal: ratio >=
   0.8), after 1000, 2000 and 4000 warm-up steps (4000 MALA steps are fewer gradients
   than HMC's 1000 warm-up steps of 10 leapfrog steps); 3b runs longer chains, as the
   minimum over coordinates of noisy ESS estimates is biased low for short ones.

ESS is ``numpyro.diagnostics.effective_sample_size`` over (chain, draw), the minimum
over coordinates (the slowest direction decides what a run is worth).

Run: ``python bench/samplers.py`` (add ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.compilation_cache import compilation_cache
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS

from scoresample import samplers
from scoresample.targets import Gaussian, from_numpyro

# The zoo's NumPyro model (models/ is a folder of files, not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
eight_schools = importlib.import_module("eight_schools")

N_CHAINS = 4
#: Further calls of section 2, the least time reported (the least disturbed by other work).
REPEATS = 3


def diagonal_gaussian(scales) -> Gaussian:
    scales = jnp.asarray(scales, dtype=float)
    return Gaussian(jnp.zeros(scales.size), jnp.diag(scales**2))


def min_ess(positions) -> float:
    """Smallest ESS over coordinates of draws ``(chain, draw, d)``."""
    return float(np.min(effective_sample_size(np.asarray(positions, np.float64))))


def raw_blackjax(top_level, positions, key, n_steps: int, step_sizes, **extra):
    """The loop a BlackJAX user writes: one jitted scan per chain, vmapped over chains,
    the step size an argument. Returns the first call's seconds (compilation included)
    and those of one warm call per step size."""

    @jax.jit
    def sample(keys, positions, step_size):
        algorithm = top_level(step_size=step_size, **extra)

        def one_chain(chain_key, position):
            def one_step(state, step_key):
                state, info = algorithm.step(step_key, state)
                return state, (state.position, info.acceptance_rate)

            keys = jax.random.split(chain_key, n_steps)
            return jax.lax.scan(one_step, algorithm.init(position), keys)[1]

        return jax.vmap(one_chain)(keys, positions)

    keys = jax.random.split(key, positions.shape[0])
    seconds = []
    for h in [step_sizes[0], *step_sizes]:
        start = time.perf_counter()
        jax.tree.map(np.asarray, sample(keys, positions, jnp.asarray(h)))
        seconds.append(time.perf_counter() - start)
    return seconds[0], seconds[1:]


def ours(name, settings, target, positions, key, n_steps: int, step_sizes):
    """``run``'s first call, a repeated identical call, and one call per step size."""
    spec = samplers.make_sampler(name, num_warmup=0, num_samples=n_steps, n_chains=N_CHAINS)
    seconds = []
    for h in [step_sizes[0], step_sizes[0], *step_sizes]:
        start = time.perf_counter()
        samplers.run(
            spec.replace(step_size=h, **settings),
            key,
            target,
            initial_positions=positions,
            progress=False,
        )
        seconds.append(time.perf_counter() - start)
    return seconds[0], seconds[1], seconds[2:]


def overhead_row(name, top_level, settings, target, key, n_steps: int, repeats: int):
    """Raw and ours interleaved ``repeats`` times; the minimum of each is reported, the
    least disturbed by other processes on the machine."""
    positions = jnp.asarray(target.sample(key, N_CHAINS))
    step_sizes = settings.pop("step_sizes")
    raw, mine = [], []
    for _ in range(repeats):
        samplers.clear_compiled()
        first, warm = raw_blackjax(top_level, positions, key, n_steps, step_sizes, **settings)
        raw.append((first, *warm))
        first, again, sweep = ours(name, settings, target, positions, key, n_steps, step_sizes)
        mine.append((first, again, *sweep))
    raw, mine = np.min(raw, axis=0), np.min(mine, axis=0)
    # A NUTS step's cost depends on the step size: the repeat (at the first step size) is
    # set against the raw call at that step size, the sweep against the raw sweep.
    raw_sweep, sweep = np.mean(raw[1:]), np.mean(mine[2:])
    print(
        f"{name:<5} {n_steps:>6} {raw[1]:>9.4f} {mine[1]:>9.4f} {mine[1] / raw[1]:>6.2f}x "
        f"{raw_sweep:>9.4f} {sweep:>9.4f} {sweep / raw_sweep:>6.2f}x "
        f"{raw[0]:>8.2f} {mine[0]:>8.2f}"
    )


def bench_overhead(key, quick: bool) -> None:
    target = diagonal_gaussian(np.ones(10))
    n_steps, repeats = (200, 1) if quick else (5_000, 5)
    imm = jnp.ones(10)
    algorithms = {
        "mala": (
            partial(blackjax.mala, target.log_prob),
            {"step_sizes": [0.3, 0.4, 0.5, 0.6, 0.7]},
        ),
        "hmc": (
            partial(blackjax.hmc, target.log_prob, inverse_mass_matrix=imm),
            {"step_sizes": [0.1, 0.15, 0.2, 0.25, 0.3], "num_integration_steps": 10},
        ),
        "nuts": (
            partial(blackjax.nuts, target.log_prob, inverse_mass_matrix=imm),
            {"step_sizes": [0.2, 0.3, 0.4, 0.5, 0.6]},
        ),
    }
    print(
        f"\n1. samplers.run vs raw BlackJAX loop: {N_CHAINS} chains, 10-d N(0, I), fixed step; "
        "seconds of whole calls"
    )
    print(
        f"{'algo':<5} {'steps':>6} {'raw warm':>9} {'repeat':>9} {'ratio':>7} {'raw swp':>9} "
        f"{'sweep':>9} {'ratio':>7} {'raw 1st':>8} {'ours 1st':>8}"
    )
    for name, (top_level, settings) in algorithms.items():
        overhead_row(name, top_level, dict(settings), target, key, n_steps, repeats)


def numpyro_nuts(model, positions, key, num_warmup: int, num_samples: int, method: str, **kw):
    """NumPyro's NUTS (``model`` a NumPyro model with ``kw`` its data, or a potential);
    returns the seconds of the call, the draws ``(chain, draw, k)`` and the gradient
    evaluations of the sampling phase."""
    kernel = NUTS(model, dense_mass=False) if kw else NUTS(potential_fn=model, dense_mass=False)
    mcmc = MCMC(
        kernel,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=N_CHAINS,
        chain_method=method,
        progress_bar=False,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not enough devices" for a parallel fallback
        init = {"init_params": positions} if not kw else {}
        mcmc.run(key, **kw, **init, extra_fields=("num_steps",))
        samples = jax.tree.map(np.asarray, mcmc.get_samples(group_by_chain=True))
    seconds = time.perf_counter() - start
    draws = np.concatenate(
        [v.reshape(N_CHAINS, num_samples, -1) for _, v in sorted(samples.items())]
        if isinstance(samples, dict)
        else [samples],
        axis=2,
    )
    return seconds, draws, int(np.sum(mcmc.get_extra_fields()["num_steps"]))


def nuts_rows(target, numpyro_model, key, num_warmup, num_samples, constrain=None, **kw):
    """Ours and NumPyro's, both chain methods, on one target: label -> (ESS, grads,
    seconds of the first call, least seconds of :data:`REPEATS` further calls)."""
    positions = jax.random.normal(key, (N_CHAINS, target.dim))
    spec = samplers.make_sampler(
        "nuts", num_warmup=num_warmup, num_samples=num_samples, n_chains=N_CHAINS
    )

    def ours(method):
        start = time.perf_counter()
        chains = samplers.run(
            spec.replace(chain_method=method),
            key,
            target,
            initial_positions=positions,
            progress=False,
        )
        draws = chains.positions if constrain is None else constrain(chains)
        return time.perf_counter() - start, draws, chains.total_grad_evals()

    calls = {
        f"numpyro {m}": partial(
            numpyro_nuts, numpyro_model, positions, key, num_warmup, num_samples, m, **kw
        )
        for m in ("sequential", "vectorized")
    }
    calls |= {f"ours {m}": partial(ours, m) for m in ("vectorized", "sequential")}
    rows = {}
    for label, call in calls.items():
        first, draws, grads = call()
        repeat = min(call()[0] for _ in range(REPEATS))
        rows[label] = (min_ess(draws), grads, first, repeat)
    return rows


def print_nuts_rows(title: str, rows: dict) -> None:
    print(f"\n{title}")
    print(
        f"{'':<19} {'min ESS':>8} {'grads':>9} {'ESS/grad':>9} {'first s':>8} {'repeat s':>8} "
        f"{'ESS/s':>7}"
    )
    for label, (ess, grads, first, repeat) in rows.items():
        print(
            f"{label:<19} {ess:>8.0f} {grads:>9d} {ess / grads:>9.4f} {first:>8.2f} "
            f"{repeat:>8.2f} {ess / repeat:>7.0f}"
        )
    peers = [r for r in rows if not r.startswith("ours")]
    best = max(peers, key=lambda r: rows[r][0] / rows[r][3])
    e0, g0, _, s0 = rows[best]
    for ours in ("ours vectorized", "ours sequential"):  # sequential: "auto" on CPU
        e1, g1, _, s1 = rows[ours]
        print(
            f"{ours} / {best}: ESS/grad {(e1 / g1) / (e0 / g0):.2f}x, "
            f"ESS/s of a repeated call {(e1 / s1) / (e0 / s0):.2f}x (goal >= 1.0x)"
        )


def bench_numpyro(key, quick: bool) -> None:
    # NumPyro compiles its loop on every MCMC.run: with JAX's persistent compilation cache
    # its repeated calls load their programs from disk, the best a NumPyro user gets.
    jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="bench-jax-"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    compilation_cache.reset_cache()
    num_warmup, num_samples = (200, 200) if quick else (1000, 5000)
    sizes = f"{N_CHAINS} chains, {num_warmup} warm-up + {num_samples} draws"
    gaussian = diagonal_gaussian(np.logspace(-1, 1, 10))
    rows = nuts_rows(gaussian, lambda z: -gaussian.log_prob(z), key, num_warmup, num_samples)
    print_nuts_rows(f"2. NUTS vs NumPyro NUTS: 10-d Gaussian (scales 0.1-10), {sizes}", rows)
    (sigma,), data = eight_schools.data()
    schools = from_numpyro(eight_schools.model, sigma, **data)

    def constrain(chains):
        sites = schools.constrain(chains.flat())
        lead = (chains.n_chains, chains.n_draws)
        return np.concatenate(
            [np.asarray(v).reshape(*lead, -1) for _, v in sorted(sites.items())], axis=2
        )

    rows = nuts_rows(
        schools, eight_schools.model, key, num_warmup, num_samples, constrain, sigma=sigma, **data
    )
    print_nuts_rows(f"2b. NUTS vs NumPyro NUTS: eight schools (non-centred), {sizes}", rows)


#: The 100-d Gaussians of section 3: standard, and with scales from 0.3 to 3.
GAUSSIANS_100 = {"N(0, I)": np.ones(100), "scales 0.3-3": np.geomspace(0.3, 3, 100)}
#: Section 3's samplers: label -> (name, settings); "mala-id" is MALA without a mass
#: matrix (step size alone, identity metric: MALA before preconditioning).
HIGH_DIMENSION_SAMPLERS = {
    "mala": ("mala", {}),
    "mala-id": ("mala", {"adapt_mass_matrix": False}),
    "hmc": ("hmc", {"num_integration_steps": 10}),
    "nuts": ("nuts", {}),
}
#: Fixed MALA steps on N(0, I_100), around the optimal scaling 2h = 1.65^2 d^(-1/3)
#: (Roberts & Rosenthal 1998), h = 0.29 for d = 100.
WHITENED_STEPS = (0.2, 0.25, 0.3, 0.35, 0.4)


def ess_row(label: str, chains) -> float:
    """Print one row of section 3's tables; return ESS per gradient."""
    ess, grads = min_ess(chains.positions), chains.total_grad_evals()
    print(
        f"{label:<8} {ess:>8.0f} {grads:>9d} {ess / grads:>9.5f} "
        f"{chains.stats['acceptance_rate'].mean():>7.3f} "
        f"{np.mean(chains.settings['step_size']):>7.3f}"
    )
    return ess / grads


def bench_high_dimension(key, quick: bool) -> None:
    num_warmup, num_samples = (200, 200) if quick else (1000, 2000)
    for label, scales in GAUSSIANS_100.items():
        target = diagonal_gaussian(scales)
        print(
            f"\n3. ESS per gradient on a 100-d Gaussian, {label}: {N_CHAINS} chains, "
            f"{num_warmup} warm-up + {num_samples} draws"
        )
        print(f"{'algo':<8} {'min ESS':>8} {'grads':>9} {'ESS/grad':>9} {'accept':>7} {'step':>7}")
        for name, (sampler, settings) in HIGH_DIMENSION_SAMPLERS.items():
            spec = samplers.make_sampler(
                sampler,
                num_warmup=num_warmup,
                num_samples=num_samples,
                n_chains=N_CHAINS,
                **settings,
            )
            ess_row(name, samplers.run(spec, key, target, progress=False))
    bench_preconditioning(key, quick)


def bench_preconditioning(key, quick: bool) -> None:
    """Preconditioned MALA on the scaled Gaussian against MALA at its best fixed step on
    the whitened one (what a perfect preconditioner would give); goal: ratio >= 0.8."""
    num_samples = 500 if quick else 10_000
    warmups = (200,) if quick else (1000, 2000, 4000)
    whitened, scaled = (diagonal_gaussian(s) for s in GAUSSIANS_100.values())
    print(
        f"\n3b. Preconditioned MALA on the 100-d Gaussian with scales 0.3-3 against MALA at "
        f"its best fixed step on N(0, I): {N_CHAINS} chains x {num_samples} draws"
    )
    print(f"{'h fixed':<8} {'min ESS':>8} {'grads':>9} {'ESS/grad':>9} {'accept':>7} {'step':>7}")
    start = jnp.asarray(whitened.sample(key, N_CHAINS))
    best = 0.0
    for step_size in WHITENED_STEPS:
        spec = samplers.make_sampler(
            "mala", num_warmup=0, step_size=step_size, num_samples=num_samples, n_chains=N_CHAINS
        )
        chains = samplers.run(spec, key, whitened, initial_positions=start, progress=False)
        best = max(best, ess_row(f"{step_size:g}", chains))
    print(f"{'warm-up':<8} {'min ESS':>8} {'grads':>9} {'ESS/grad':>9} {'accept':>7} {'step':>7}")
    ratios = {}
    for num_warmup in warmups:
        spec = samplers.make_sampler(
            "mala", num_warmup=num_warmup, num_samples=num_samples, n_chains=N_CHAINS
        )
        chains = samplers.run(spec, key, scaled, progress=False)
        ratios[num_warmup] = ess_row(str(num_warmup), chains) / best
    print(
        "ESS/grad of preconditioned MALA (diagonal window adaptation) / MALA at its best "
        "fixed step on N(0, I): "
        + ", ".join(f"{r:.2f} after {w} warm-up steps" for w, r in ratios.items())
        + " (goal >= 0.8)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    quick = parser.parse_args().quick
    key = jax.random.PRNGKey(0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"devices: {jax.devices()}; CPUs: {os.cpu_count()}; load average: {load}")
    bench_overhead(key, quick)
    bench_numpyro(key, quick)
    bench_high_dimension(key, quick)


if __name__ == "__main__":
    main()
