"""Benchmarks of the samplers, each against a peer measured in the same run.

1. Overhead of ``samplers.run`` over a hand-written BlackJAX loop (``jit(vmap(lax.scan))``
   of the same kernel, step size and number of steps) for MALA, HMC and NUTS: warm
   sampling time (``run``'s own ``timing["sampling"]``, which includes copying the draws
   to the host, against the raw loop's second call plus the same copy; goal <= 1.05x),
   and the first call (compilation included). Minimum over interleaved repeats.
2. NUTS against NumPyro's NUTS on the same target (a 10-d Gaussian with scales from 0.1
   to 10), same warm-up and draws, both with a diagonal mass matrix: ESS per gradient
   evaluation, warm ESS per second and first-call latency. "Warm" is the wall time of the
   call minus the time JAX reports spending on tracing, lowering and compiling
   (``/jax/core/compile/*`` events), measured the same way for both: NumPyro recompiles
   its sampling loop on every ``MCMC.run``, so a second call is not warm either.
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
import os
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from jax import monitoring
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS

from scoresample import samplers
from scoresample.targets import Gaussian

N_CHAINS = 4


class CompileClock:
    """Seconds JAX spends tracing, lowering and compiling while the clock is running."""

    seconds = 0.0
    running = False

    @classmethod
    def listener(cls, event: str, duration: float, **_) -> None:
        if cls.running and event.startswith("/jax/core/compile/"):
            cls.seconds += duration

    def __enter__(self):
        CompileClock.seconds, CompileClock.running = 0.0, True
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        CompileClock.running = False
        self.wall = time.perf_counter() - self.start
        self.compile = CompileClock.seconds
        self.warm = self.wall - self.compile


monitoring.register_event_duration_secs_listener(CompileClock.listener)


def diagonal_gaussian(scales) -> Gaussian:
    scales = jnp.asarray(scales, dtype=float)
    return Gaussian(jnp.zeros(scales.size), jnp.diag(scales**2))


def min_ess(positions) -> float:
    """Smallest ESS over coordinates of draws ``(chain, draw, d)``."""
    return float(np.min(effective_sample_size(np.asarray(positions, np.float64))))


def raw_blackjax(algorithm, positions, key, n_steps: int):
    """The loop a BlackJAX user writes: one jitted scan per chain, vmapped over chains.
    Returns the first call's seconds (compilation included) and the second call's."""

    @jax.jit
    def sample(keys, positions):
        def one_chain(chain_key, position):
            def one_step(state, step_key):
                state, info = algorithm.step(step_key, state)
                return state, (state.position, info.acceptance_rate)

            keys = jax.random.split(chain_key, n_steps)
            return jax.lax.scan(one_step, algorithm.init(position), keys)[1]

        return jax.vmap(one_chain)(keys, positions)

    keys = jax.random.split(key, positions.shape[0])
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        jax.tree.map(np.asarray, sample(keys, positions))
        seconds.append(time.perf_counter() - start)
    return seconds


def overhead_row(name, algorithm, settings, target, key, n_steps: int, repeats: int):
    """Raw and ours interleaved ``repeats`` times; the minimum of each is reported, the
    least disturbed by other processes on the machine."""
    positions = jnp.asarray(target.sample(key, N_CHAINS))
    spec = samplers.make_sampler(
        name, num_warmup=0, num_samples=n_steps, n_chains=N_CHAINS, **settings
    )
    raw, ours = [], []
    for _ in range(repeats):
        raw.append(raw_blackjax(algorithm, positions, key, n_steps))
        start = time.perf_counter()
        chains = samplers.run(spec, key, target, initial_positions=positions, progress=False)
        ours.append((time.perf_counter() - start, chains.timing["sampling"]))
    (raw_first, raw_warm), (our_first, our_warm) = np.min(raw, axis=0), np.min(ours, axis=0)
    print(
        f"{name:<5} {n_steps:>6} {raw_warm:>9.3f} {our_warm:>9.3f} {our_warm / raw_warm:>6.2f}x "
        f"{raw_first:>9.2f} {our_first:>9.2f} {our_first / raw_first:>6.2f}x"
    )


def bench_overhead(key, quick: bool) -> None:
    target = diagonal_gaussian(np.ones(10))
    n_steps, repeats = (200, 1) if quick else (20_000, 7)
    imm = jnp.ones(10)
    algorithms = {
        "mala": (blackjax.mala(target.log_prob, 0.5), {"step_size": 0.5}),
        "hmc": (
            blackjax.hmc(target.log_prob, 0.2, imm, 10),
            {"step_size": 0.2, "num_integration_steps": 10},
        ),
        "nuts": (blackjax.nuts(target.log_prob, 0.3, imm), {"step_size": 0.3}),
    }
    print(f"\n1. samplers.run vs raw BlackJAX loop: {N_CHAINS} chains, 10-d N(0, I), fixed step")
    print(
        f"{'algo':<5} {'steps':>6} {'raw warm':>9} {'ours warm':>9} {'ratio':>7} "
        f"{'raw first':>9} {'ours first':>9} {'ratio':>7}"
    )
    for name, (algorithm, settings) in algorithms.items():
        overhead_row(name, algorithm, settings, target, key, n_steps, repeats)


def numpyro_nuts(target, positions, key, num_warmup: int, num_samples: int):
    """NumPyro's NUTS on ``-log_prob``, vectorized chains; returns the clock, the draws
    ``(chain, draw, d)`` and the gradient evaluations of the sampling phase."""
    kernel = NUTS(potential_fn=lambda z: -target.log_prob(z), dense_mass=False)
    mcmc = MCMC(
        kernel,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=N_CHAINS,
        chain_method="vectorized",
        progress_bar=False,
    )
    with CompileClock() as clock:
        mcmc.run(key, init_params=positions, extra_fields=("num_steps",))
        draws = np.asarray(mcmc.get_samples(group_by_chain=True))
    return clock, draws, int(np.sum(mcmc.get_extra_fields()["num_steps"]))


def bench_numpyro(key, quick: bool) -> None:
    target = diagonal_gaussian(np.logspace(-1, 1, 10))
    num_warmup, num_samples = (200, 200) if quick else (1000, 1000)
    positions = jax.random.normal(key, (N_CHAINS, 10))
    clock_np, draws_np, grads_np = numpyro_nuts(target, positions, key, num_warmup, num_samples)
    spec = samplers.make_sampler(
        "nuts", num_warmup=num_warmup, num_samples=num_samples, n_chains=N_CHAINS
    )
    with CompileClock() as clock:
        chains = samplers.run(spec, key, target, initial_positions=positions, progress=False)
    rows = {
        "numpyro": (min_ess(draws_np), grads_np, clock_np),
        "ours": (min_ess(chains.positions), chains.total_grad_evals(), clock),
    }
    print(
        f"\n2. NUTS vs NumPyro NUTS: 10-d Gaussian (scales 0.1-10), {N_CHAINS} chains, "
        f"{num_warmup} warm-up + {num_samples} draws"
    )
    print(
        f"{'':<8} {'min ESS':>8} {'grads':>9} {'ESS/grad':>9} {'warm s':>7} {'ESS/s warm':>10} "
        f"{'compile s':>9} {'first s':>8}"
    )
    for label, (ess, grads, c) in rows.items():
        print(
            f"{label:<8} {ess:>8.0f} {grads:>9d} {ess / grads:>9.4f} {c.warm:>7.2f} "
            f"{ess / c.warm:>10.0f} {c.compile:>9.2f} {c.wall:>8.2f}"
        )
    (e0, g0, c0), (e1, g1, c1) = rows["numpyro"], rows["ours"]
    print(
        f"ours / numpyro: ESS/grad {(e1 / g1) / (e0 / g0):.2f}x, warm ESS/s "
        f"{(e1 / c1.warm) / (e0 / c0.warm):.2f}x, first-call latency {c1.wall / c0.wall:.2f}x"
    )


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
