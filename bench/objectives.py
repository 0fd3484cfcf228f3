"""Benchmarks of the score-matching objectives and of fit(), each against a peer in the same run.

1. fit() steps/s against a hand-written ``lax.scan`` training loop of the same loss
   (goal: >= 0.9x); then fit() with each batch split over 4 devices against 1 device:
   steps/s and the largest parameter difference (4 forced host CPU devices, in a
   subprocess, unless this process has 4 devices already).
2. Step time of exact ISM over DSM for d in {2, 8, 32, 128} on a 3x128 SiLU MLP: JVPs over
   the basis (score network), folx's forward Laplacian (energy network, against DSM on the
   same energy network) and Hutchinson with one probe, beside the floor: the same ratios
   for a hand-written plain-JAX loop of the same formulas (goal: exact ISM <= 2x DSM at
   d = 2 and Hutchinson <= 1.5x, or the floor says why not).
3. Relative score error of TSM, DSM and kappa-bar across sigma on a 2-D mixture, all three
   with the same network, steps, batch and weighting.

Run: ``python bench/objectives.py`` (add ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import DSM, ISM, TSM, KappaMixture, kappa_bar, score_error
from scoresample.objectives.kappa import average_component_variance
from scoresample.objectives.weighting import Relative
from scoresample.targets import GaussianMixture
from scoresample.training import fit

PROCESS = VE(0.01, 5.0)
OPTIMIZER = optax.adam(1e-3)
BATCH = 256
DEVICES = 4


def hand_written_loop(model, objective, data, steps: int, key):
    """What a user writes without fit(): one jitted scan of minibatch steps of
    ``objective(net, x, t, key) -> (value, aux)`` weighted by ``objective.weighting``."""
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss(params, xs, ts, keys):
        net = eqx.combine(params, static)
        values, _ = jax.vmap(lambda x, t, k: objective(net, x, t, k))(xs, ts, keys)
        return jnp.mean(jax.vmap(lambda t: objective.weighting(PROCESS, t))(ts) * values)

    def step(carry, step_key):
        params, opt_state = carry
        key_x, key_t, key_loss = jax.random.split(step_key, 3)
        xs = data[jax.random.randint(key_x, (BATCH,), 0, data.shape[0])]
        ts = jax.random.uniform(key_t, (BATCH,))
        value, grads = jax.value_and_grad(loss)(params, xs, ts, jax.random.split(key_loss, BATCH))
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    @jax.jit
    def train(params, opt_state, key):
        return jax.lax.scan(step, (params, opt_state), jax.random.split(key, steps))

    opt_state = OPTIMIZER.init(params)
    return lambda: jax.block_until_ready(train(params, opt_state, key))


class PlainLoss(eqx.Module):
    """A hand-written sigma^2-weighted loss in plain JAX, independent of the library's
    objectives: DSM, or ISM with the divergence from ``n`` JVPs of the network (the basis
    for the exact trace, one Rademacher probe for Hutchinson)."""

    kind: str = eqx.field(static=True)

    def weighting(self, process, t):
        return process.sigma(t) ** 2

    def __call__(self, net, x, t, key):
        key_eps, key_probe = jax.random.split(key)
        eps = jax.random.normal(key_eps, x.shape)
        y = x + PROCESS.sigma(t) * eps
        if self.kind == "dsm":
            residual = net(y, t) + eps / PROCESS.sigma(t)
            return 0.5 * residual @ residual, {}
        if self.kind == "ism":
            tangents = jnp.eye(x.shape[0])
        else:
            tangents = jax.random.rademacher(key_probe, (1, x.shape[0]), dtype=float)
        jvp = lambda v: jax.jvp(lambda z: net(z, t), (y,), (v,))  # noqa: E731
        score, products = jax.vmap(jvp, out_axes=(None, 0))(tangents)
        return 0.5 * score @ score + jnp.mean(jnp.sum(tangents * products, axis=1)), {}


def fit_runner(model, objective, data, steps: int, batch_size: int = BATCH, devices=None):
    """A call of fit() for ``steps`` steps in one chunk (compiled on the first call)."""
    key = jax.random.PRNGKey(1)
    return lambda: fit(
        model,
        objective,
        data,
        optimizer=OPTIMIZER,
        steps=steps,
        batch_size=batch_size,
        key=key,
        progress=False,
        chunk_size=steps,
        times="uniform",  # as the hand-written loop
        devices=devices,
    )


def interleaved_seconds_per_step(runners: dict, steps: dict, repeats: int) -> dict:
    """Least time per step of each runner, measured in turns so that load hits all alike."""
    for run in runners.values():
        run()
    best = dict.fromkeys(runners, np.inf)
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - start) / steps[name])
    return best


def bench_fit(steps: int, repeats: int) -> None:
    key = jax.random.PRNGKey(0)
    model = ScoreMLP(2, hidden=128, depth=3, activation="silu", key=key)
    data = jax.random.normal(key, (10_000, 2))
    objective = DSM(PROCESS)
    runners = {
        "hand": hand_written_loop(model, objective, data, steps, jax.random.PRNGKey(1)),
        "fit": fit_runner(model, objective, data, steps),
    }
    t = interleaved_seconds_per_step(runners, dict.fromkeys(runners, steps), repeats)
    print(f"\n1. fit() vs hand-written lax.scan loop (3x128 SiLU, d = 2, batch {BATCH})")
    print(f"   hand-written: {1 / t['hand']:8.0f} steps/s")
    ratio = t["hand"] / t["fit"]
    print(f"   fit():        {1 / t['fit']:8.0f} steps/s   ratio {ratio:.2f}x (goal >= 0.9x)")


def bench_devices(steps: int, repeats: int, quick: bool, child: bool = False) -> None:
    """fit() with batches split over 4 devices against 1 device: speed and agreement."""
    if jax.device_count() < DEVICES and child:
        raise SystemExit(f"--devices: {jax.device_count()} devices, expected {DEVICES}")
    if jax.device_count() < DEVICES:
        flags = os.environ.get("XLA_FLAGS", "")
        flags += f" --xla_force_host_platform_device_count={DEVICES}"
        env = {**os.environ, "XLA_FLAGS": flags.strip(), "JAX_PLATFORMS": "cpu"}
        command = [sys.executable, __file__, "--devices"] + (["--quick"] if quick else [])
        subprocess.run(command, env=env, check=True)
        return
    key = jax.random.PRNGKey(0)
    model = ScoreMLP(2, hidden=128, depth=3, activation="silu", key=key)
    data = jax.random.normal(key, (10_000, 2))
    devices = jax.devices()[:DEVICES]
    print(f"\n1b. fit() on {DEVICES} {devices[0].device_kind} devices vs 1 (3x128 SiLU, d = 2)")
    for batch in (BATCH, 8 * BATCH):
        layouts = {n: devices[:n] for n in (1, DEVICES)}
        runners = {
            n: fit_runner(model, DSM(PROCESS), data, steps, batch, layout)
            for n, layout in layouts.items()
        }
        t = interleaved_seconds_per_step(runners, dict.fromkeys(runners, steps), repeats)
        one, many = runners[1](), runners[DEVICES]()
        leaves = [jax.tree.leaves(eqx.filter(r.model, eqx.is_array)) for r in (one, many)]
        diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(*leaves, strict=True))
        scale = max(float(jnp.max(jnp.abs(a))) for a in leaves[0])
        loss = np.max(np.abs(one.history["loss"] - many.history["loss"]))
        print(
            f"   batch {batch:>5}: 1 device {1 / t[1]:7.0f} steps/s, {DEVICES} devices "
            f"{1 / t[DEVICES]:7.0f} steps/s ({t[1] / t[DEVICES]:.2f}x); after {steps} steps "
            f"max |param diff| {diff:.1e} ({diff / scale:.1e} of max |param|), "
            f"max |loss diff| {loss:.1e}"
        )


def bench_divergences(dims, steps: int, repeats: int) -> None:
    print(f"\n2. ISM step time / DSM step time (3x128 SiLU, batch {BATCH}, one fit step)")
    columns = ("DSM ms", "JVP", "Hutch.", "folx*", "JVP/d", "folx/d", "floor", "floor H")
    print(f"   {'d':>4} " + " ".join(f"{c:>7}" for c in columns))
    for d in dims:
        key = jax.random.PRNGKey(d)
        data = jax.random.normal(key, (10_000, d))
        score = ScoreMLP(d, hidden=128, depth=3, activation="silu", key=key)
        energy = EnergyMLP(d, hidden=128, depth=3, activation="silu", key=key)
        configs = {
            "dsm": (score, DSM(PROCESS), steps),
            "jvp": (score, ISM(PROCESS), max(4, steps // d)),
            "hutchinson": (score, ISM(PROCESS, divergence="hutchinson"), steps),
            "dsm_energy": (energy, DSM(PROCESS), steps),
            "folx": (energy, ISM(PROCESS, divergence="folx"), max(4, 4 * steps // d)),
        }
        runners = {name: fit_runner(m, o, data, n) for name, (m, o, n) in configs.items()}
        n_steps = {name: n for name, (_, _, n) in configs.items()}
        for kind, n in (("dsm", steps), ("ism", max(4, steps // d)), ("hutch", steps)):
            loop = hand_written_loop(score, PlainLoss(kind), data, n, jax.random.PRNGKey(1))
            runners[f"plain_{kind}"], n_steps[f"plain_{kind}"] = loop, n
        t = interleaved_seconds_per_step(runners, n_steps, repeats)
        jvp, folx = t["jvp"] / t["dsm"], t["folx"] / t["dsm_energy"]
        floor = (t["plain_ism"] / t["plain_dsm"], t["plain_hutch"] / t["plain_dsm"])
        print(
            f"   {d:>4} {1e3 * t['dsm']:>7.2f} {jvp:>6.2f}x {t['hutchinson'] / t['dsm']:>6.2f}x "
            f"{folx:>6.2f}x {jvp / d:>7.3f} {folx / d:>7.3f} {floor[0]:>6.2f}x {floor[1]:>6.2f}x"
        )
    print("   * folx: ISM on an energy network over DSM on the same energy network")
    print(
        "   floor: the same ratios for a hand-written plain-JAX loop (exact trace from d JVPs,"
        " Hutchinson from one): a step costs about 1 + d (1 + 1) network passes and their"
        " gradients against DSM's one"
    )


def bench_score_error(steps: int) -> None:
    mixture = GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [0.5, 0.8])
    weighting = Relative(float(np.sqrt(average_component_variance(mixture))))
    objectives = {
        "DSM sigma^2": DSM(PROCESS),
        "DSM": DSM(PROCESS, weighting=weighting),
        "TSM": TSM(PROCESS, clean_score=mixture.score, weighting=weighting),
        "kappa-bar": KappaMixture(
            PROCESS, kappa_bar(PROCESS, mixture), clean_score=mixture.score, weighting=weighting
        ),
    }
    times = np.linspace(0.0, 1.0, 7)
    sigmas = np.asarray(PROCESS.sigma(times))
    errors = {}
    key = jax.random.PRNGKey(2)
    for name, objective in objectives.items():
        model = ScoreMLP(2, hidden=64, depth=2, embed=16, activation="silu", key=key)
        result = fit(
            model,
            objective,
            mixture,
            optimizer=optax.adam(3e-3),
            steps=steps,
            batch_size=BATCH,
            key=key,
            times="stratified",
            progress=False,
        )
        eval_key = jax.random.PRNGKey(99)
        errors[name] = [
            score_error(result.model, mixture, PROCESS, t, eval_key).relative for t in times
        ]
    print(f"\n3. Relative score error E|s - s_t|^2 / E|s_t|^2 after {steps} steps")
    print("   (same network, steps and batch; relative weighting, and DSM's usual sigma^2 too)")
    print("   sigma      " + "".join(f"{s:>9.3f}" for s in sigmas))
    for name, row in errors.items():
        print(f"   {name:<11}" + "".join(f"{e:>9.4f}" for e in row))
    dsm = np.minimum(errors["DSM"], errors["DSM sigma^2"])
    best = np.minimum(dsm, errors["TSM"])
    print("   DSM*/TSM   " + "".join(f"{r:>9.2f}" for r in dsm / np.array(errors["TSM"])))
    print("   kbar/best  " + "".join(f"{r:>9.2f}" for r in np.array(errors["kappa-bar"]) / best))
    print("   (DSM*: the better of the two DSM weightings at each sigma)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--devices", action="store_true", help="only fit() on 4 devices vs 1")
    arguments = parser.parse_args()
    quick = arguments.quick
    if arguments.devices:
        bench_devices(200 if quick else 1000, 1 if quick else 3, quick, child=True)
        return
    print(f"devices: {jax.devices()}")
    bench_fit(steps=200 if quick else 2000, repeats=1 if quick else 5)
    bench_devices(200 if quick else 1000, 1 if quick else 3, quick)
    bench_divergences(
        (2, 8) if quick else (2, 8, 32, 128), 100 if quick else 400, 1 if quick else 2
    )
    bench_score_error(steps=300 if quick else 4000)


if __name__ == "__main__":
    main()
