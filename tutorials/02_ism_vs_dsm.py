# %% [markdown]
# # 2. ISM vs DSM and the noise scale
#
# Two ways to learn a score $s_\theta \approx \nabla \log p$ from samples, without the
# score itself:
#
# - **Implicit score matching** (ISM, Hyvärinen 2005) integrates the Fisher divergence by
#   parts: $J_\mathrm{ISM}(\theta) = \mathbb E_{x}\big[\tfrac12 |s_\theta(x)|^2 +
#   \nabla\!\cdot s_\theta(x)\big]$, a **norm** term and a **fitting** term (the
#   divergence, exact here: $d$ Jacobian-vector products). It needs no noise.
# - **Denoising score matching** (DSM, Vincent 2011) at noise level $\sigma$ regresses on
#   $-\varepsilon/\sigma$ at $y = x + \sigma\varepsilon$. Its stabilised form DSM-S drops
#   the network-independent $|\varepsilon|^2 / 2\sigma^2$:
#   $J_\mathrm{DSM\text{-}S}(\theta) = \mathbb E\big[\tfrac12 |s_\theta(y)|^2 +
#   \langle s_\theta(y), \varepsilon/\sigma \rangle\big]$.
#
# Gaussian integration by parts (Stein's lemma) gives
# $\mathbb E_\varepsilon \langle s(x + \sigma\varepsilon), \varepsilon \rangle / \sigma =
# \mathbb E_\varepsilon \nabla\!\cdot s(x + \sigma\varepsilon)$: **the two fitting terms
# have the same mean** at every $\sigma$, and ISM on noised data and DSM-S are the same
# objective in expectation. Their variances differ: $\langle s, \varepsilon\rangle/\sigma$
# has standard deviation about $|s|/\sigma$, so DSM's gradient noise grows like
# $1/\sigma$ while ISM's stays bounded as $\sigma \to 0$.
#
# Artemev, Das, Nabiei & Bernacchia (2024) show this on half-moons ($N = 1000$, full
# batch, a 16-32-2 tanh MLP, AdamW with learning rate $10^{-3}$, 500 noise draws per point
# for DSM): (a) training with one objective while recording the other, the fitting terms
# agree in mean at $\sigma = 0.01$; (b) over $\sigma \in \{0, 10^{-4}, \dots, 10^{-1}\}$
# DSM's gradient variance explodes as $\sigma$ falls and at $10^{-4}$ it barely fits,
# while ISM is robust and trains at $\sigma = 0$; (c) the learned fields and the cosine
# similarity of the two gradients. We had no access to the paper's figures' numbers, so
# the findings table compares with its claims qualitatively.
#
# **One change of size, stated up front.** 500 noise draws per point make every DSM step
# cost 500,000 network evaluations; on 2 CPU cores that is about 0.3 s a step, an hour for
# the sweep. We train DSM with `NOISE_SAMPLES` draws per point instead and measure the
# gradients at the paper's 500 in part (c). DSM's gradient noise scales like
# $1/(\sigma\sqrt{N n})$ for $n$ draws per point, so training with $n = 16$ at $\sigma$
# behaves like the paper's $n = 500$ at $\sigma/\sqrt{500/16} \approx \sigma/5.6$: the
# threshold below which DSM stops fitting moves up by that factor.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("SCORESAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("SCORESAMPLE_OUT", "tutorials/out")) / "02_ism_vs_dsm"
OUT.mkdir(parents=True, exist_ok=True)

N_DATA = 1000  # half-moons points, the full batch of every step (the paper's N)
STEPS = 100 if QUICK else 2000  # AdamW steps per run
LONG_STEPS = 200 if QUICK else 4000  # the ISM run continued, to watch it overfit
SNAPSHOT_EVERY = 100 if QUICK else 250  # held-out evaluations of that run
NOISE_SAMPLES = 4 if QUICK else 16  # DSM noise draws per point in training (paper: 500)
GRADIENT_NOISE_SAMPLES = 50 if QUICK else 500  # draws per point in part (c), the paper's
GRADIENT_REPEATS = 1 if QUICK else 4  # independent gradient draws per sigma in part (c)
N_TEST = 2000 if QUICK else 4000  # exact draws for held-out score errors
SIGMAS = (1e-1, 1e-2, 1e-3, 1e-4)  # the sweep; sigma = 0 is ISM on clean data
SEED = 0

# %%
import json
import tempfile
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from scoresample.notebook import save_figure, use_backend

use_backend()
import matplotlib.pyplot as plt

import scoresample as ss
from scoresample import networks, noise, objectives, targets
from scoresample.objectives.weighting import uniform

started = time.perf_counter()
key_data, key_net, key_fit, key_test, key_grad = jax.random.split(jax.random.PRNGKey(SEED), 5)

# %% [markdown]
# ## Data, network and the exact score
#
# `two_moons(key, n, noise=0.1)` draws the data; `targets.two_moons_target(0.1)` is the
# same density as a fine Gaussian mixture, so it has an exact score: every run is judged
# by its **relative score error** $\mathbb E|s_\theta - \nabla\log p|^2 / \mathbb E|\nabla
# \log p|^2$ on fresh exact draws, never on the training points.
#
# A fixed noise level needs no time input: `ScoreMLP(..., embed=0)` is the paper's
# 16-32-2 tanh MLP of $y$ alone. A fixed $\sigma$ is a single time of the VE process
# (`fit(..., sigmas=sigma)`); ISM on clean data ignores the time. Every objective gets
# the **uniform** weighting: the library's default $\lambda = \sigma^2$ would scale the
# loss by $10^{-8}$ at $\sigma = 10^{-4}$, where Adam's $\epsilon = 10^{-8}$ is no longer
# negligible.
#
# On its own, one fixed level is one object: `noise.FixedLevel(sigma)` ($\alpha = 1$,
# $\sigma$ at every $t$, uniform weighting by default), as in
# `ss.fit(model, objectives.DSM(noise.FixedLevel(0.1)), data, key=key)`. The sweep below
# keeps one VE process for all levels instead, so that each objective compiles once.

# %%
data = ss.two_moons(key_data, N_DATA, noise=0.1)
moons = targets.two_moons_target(noise=0.1)
test_points = moons.sample(key_test, N_TEST)
process = noise.VE(sigma_min=1e-4, sigma_max=1.0)
initial_model = networks.ScoreMLP(2, hidden=[16, 32], activation="tanh", embed=0, key=key_net)
optimizer = optax.adamw(1e-3)  # one instance: fit compiles once per objective structure


def relative_error(model, exact_score=moons.score) -> float:
    """``E|s - s_exact|^2 / E|s_exact|^2`` on the held-out exact draws."""
    learned = jax.vmap(lambda x: model(x, 0.0))(test_points)
    exact = jax.vmap(exact_score)(test_points)
    return float(jnp.sum((learned - exact) ** 2) / jnp.sum(exact**2))


# %% [markdown]
# ## Many noise draws per point, and recording the other objective
#
# `fit` evaluates an objective once per example with one PRNG key. Two wrappers in
# `scoresample.objectives`, each itself an objective, give what the experiment needs:
#
# - `NoiseAveraged` averages an objective over `n` noise draws of the same point: DSM
#   with 500 draws per point is `NoiseAveraged(dsm_s(process), 500)`.
# - `Recording` trains on one objective and logs another's terms in the history
#   (the recorded terms are not differentiated: they cost an evaluation, not a gradient).


# %%
def ism(sigma: float):
    """ISM at ``sigma``: on clean data at 0, else on ``x + sigma eps`` (one draw per point)."""
    return objectives.ISM(process, clean=sigma == 0, weighting=uniform)


def dsm(n_noise: int):
    """DSM-S averaged over ``n_noise`` draws per point."""
    return objectives.NoiseAveraged(objectives.dsm_s(process, weighting=uniform), n_noise)


def train(objective, sigma: float, steps: int = STEPS, checkpoint_dir=None) -> ss.FitResult:
    """Full-batch AdamW(1e-3) from the same initial network, at the fixed noise ``sigma``."""
    level = {"times": 0.0} if sigma == 0 else {"sigmas": sigma}
    return ss.fit(
        initial_model,
        objective,
        data,
        optimizer=optimizer,
        steps=steps,
        batch_size=None,
        key=key_fit,
        progress=False,
        chunk_size=min(steps, 500),
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
        **level,
    )


# %% [markdown]
# ## The runs
#
# ISM at $\sigma = 0$; then at each $\sigma$ of the sweep, ISM on noised data (one draw
# per point) recording DSM-S (one draw per point), and DSM-S (`NOISE_SAMPLES` draws per
# point) recording ISM. All start from the same network with the same key.

# %%
runs: dict[str, ss.FitResult] = {}
seconds: dict[str, float] = {}
for name, objective, sigma in [
    ("ISM 0", ism(0.0), 0.0),
    *[(f"ISM {s:g}", objectives.Recording(ism(s), dsm(1), "dsm_s"), s) for s in SIGMAS],
    *[(f"DSM {s:g}", objectives.Recording(dsm(NOISE_SAMPLES), ism(s), "ism"), s) for s in SIGMAS],
]:
    begin = time.perf_counter()
    runs[name] = train(objective, sigma)
    seconds[name] = time.perf_counter() - begin
    error = relative_error(runs[name].model)
    print(f"{name:>10}: {seconds[name]:5.1f} s, relative score error {error:.3f}")

# %% [markdown]
# ## (a) The fitting terms agree in mean at $\sigma = 0.01$
#
# In each run the trained objective's fitting term and the recorded one are evaluated
# at the same parameters every step, on independent noise. Their per-step difference
# has mean zero by Stein's lemma, so over the second half of training its mean divided
# by its standard error is a z-score: $|z| < 4$ is agreement.


# %%
def smooth(values, window: int):
    """Trailing moving average (the first ``window - 1`` values average what exists)."""
    sums = np.cumsum(np.asarray(values, dtype=float))
    sums[window:] = sums[window:] - sums[:-window]
    return sums / np.minimum(np.arange(1, len(sums) + 1), window)


def agreement(history, own: str, other: str) -> dict:
    """Means of two fitting terms over the second half of training, and the z of their gap."""
    half = len(history[own]) // 2
    a, b = history[own][half:], history[other][half:]
    gap = a - b
    z = float(np.mean(gap) / (np.std(gap, ddof=1) / np.sqrt(len(gap))))
    return {"trained": float(np.mean(a)), "recorded": float(np.mean(b)), "z": z}


agree = {
    "ISM-trained": agreement(runs["ISM 0.01"].history, "fitting", "dsm_s_fitting"),
    "DSM-trained": agreement(runs["DSM 0.01"].history, "fitting", "ism_fitting"),
}
for name, row in agree.items():
    print(
        f"{name}: trained {row['trained']:.2f}, recorded {row['recorded']:.2f}, z = {row['z']:+.2f}"
    )

window = max(1, STEPS // 40)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
panels = [
    ("ISM 0.01", "dsm_s_fitting", "ISM (trained)", "DSM-S (recorded, 1 draw/point)"),
    ("DSM 0.01", "ism_fitting", f"DSM-S (trained, {NOISE_SAMPLES} draws/point)", "ISM (recorded)"),
]
for ax, (run, recorded, own_label, other_label) in zip(axes, panels, strict=True):
    history = runs[run].history
    for key_name, label, colour in (("fitting", own_label, "C0"), (recorded, other_label, "C1")):
        ax.plot(history[key_name], color=colour, alpha=0.2, lw=0.6)
        ax.plot(smooth(history[key_name], window), color=colour, lw=1.8, label=label)
    ax.set(title=f"trained on {run.split()[0]}, sigma = 0.01", xlabel="step", ylabel="fitting term")
    ax.legend(frameon=False)
save_figure(fig, OUT / "agreement.png", dpi=110)

# %% [markdown]
# The recorded DSM-S term scatters far more than ISM's divergence (one noise draw per
# point each), yet both curves run together: the same quantity, estimated with very
# different variance.
#
# ## (b) The noise sweep
#
# Left: the fitting term of every run (ISM solid, DSM dashed; one colour per $\sigma$).
# Middle: the gradient norm, which for a noisy objective measures mostly its noise.
# Right: the norm term $\tfrac12|s|^2$, which grows as the network learns a steep score.

# %%
colours = {0.0: "black"} | {s: f"C{i}" for i, s in enumerate(SIGMAS)}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
for name, result in runs.items():
    kind, level = name.split()
    sigma = float(level)
    style = {"color": colours[sigma], "ls": "-" if kind == "ISM" else "--", "lw": 1.5}
    label = f"{kind} sigma={level}"
    axes[0].plot(smooth(result.history["fitting"], window), label=label, **style)
    axes[1].plot(smooth(result.history["grad_norm"], window), **style)
    axes[2].plot(smooth(result.history["norm"], window), **style)
axes[0].set(title="fitting term (moving average)", xlabel="step", ylim=(-150, 50))
axes[1].set(title="gradient norm", xlabel="step", yscale="log")
axes[2].set(title="norm term 1/2 |s|^2", xlabel="step")
axes[0].legend(frameon=False, fontsize="small", ncol=2)
save_figure(fig, OUT / "sigma_sweep.png", dpi=110)

# %% [markdown]
# **What the table below measures.** For each run: the median gradient norm over the
# last quarter of training, the relative error against the clean score, and against
# the score of the data blurred by $\sigma$ (`moons.noised(1, sigma)`), the score that
# both objectives are consistent for. At $\sigma \le 10^{-2}$ the two nearly coincide;
# at $\sigma = 0.1$ the blur is a bias that no amount of training removes.

# %%
sweep = {}
for name, result in runs.items():
    sigma = float(name.split()[1])
    blurred = moons if sigma == 0 else moons.noised(1.0, sigma)
    sweep[name] = {
        "sigma": sigma,
        "grad_norm": float(np.median(result.history["grad_norm"][-STEPS // 4 :])),
        "error_clean": relative_error(result.model),
        "error_blurred": relative_error(result.model, blurred.score),
        "seconds": seconds[name],
    }
print(f"{'run':>9} {'grad norm':>10} {'err clean':>10} {'err blurred':>12}")
for name, row in sweep.items():
    errors = f"{row['error_clean']:10.3f} {row['error_blurred']:12.3f}"
    print(f"{name:>9} {row['grad_norm']:10.3g} {errors}")

# %% [markdown]
# ## ISM without noise overfits a finite sample
#
# ISM on clean data needs no noise, but its empirical loss over $N$ points is unbounded
# below: a network can make $\nabla\!\cdot s$ very negative at the training points. We
# rerun the $\sigma = 0$ run with a checkpoint every `SNAPSHOT_EVERY` steps (resuming
# from a checkpoint reproduces the uninterrupted run bit for bit, which we check at
# `STEPS`), continue it to `LONG_STEPS`, and watch the training loss and the held-out
# score error.

# %%
long_steps = list(range(SNAPSHOT_EVERY, LONG_STEPS + 1, SNAPSHOT_EVERY))
held_out = []
with tempfile.TemporaryDirectory() as checkpoints:
    for steps in long_steps:
        continued = train(ism(0.0), 0.0, steps, checkpoint_dir=checkpoints)
        held_out.append(relative_error(continued.model))
        if steps == STEPS:  # resuming reproduces the uninterrupted run bit for bit
            same = eqx.tree_equal(continued.model, runs["ISM 0"].model)
            print(f"checkpointed run at step {STEPS} equals the first run: {bool(same)}")
long_history = continued.history
best = int(np.argmin(held_out))
print(
    f"held-out error: best {held_out[best]:.3f} at step {long_steps[best]},"
    f" {held_out[-1]:.3f} at step {LONG_STEPS}"
)

fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
ax.plot(smooth(long_history["loss"], window), color="C0", label="training ISM loss")
ax.axhline(
    -0.5 * float(jnp.mean(jnp.sum(jax.vmap(moons.score)(test_points) ** 2, axis=1))),
    color="C0",
    ls=":",
    label="population optimum -E|grad log p|^2 / 2",
)
ax.set(xlabel="step", ylabel="ISM loss")
twin = ax.twinx()
twin.plot(long_steps, held_out, "o-", color="C3", label="held-out relative score error")
twin.set(ylabel="relative score error", yscale="log")
fig.legend(loc="lower left", frameon=False, fontsize="small")
save_figure(fig, OUT / "ism_overfitting.png", dpi=110)

# %% [markdown]
# ## (c) Learned score fields and the two gradients
#
# The fields: unit arrows over the exact density (grey contours), the exact score first.

# %%
shown = ["ISM 0", "ISM 0.0001", "DSM 0.1", "DSM 0.01", "DSM 0.0001"]
gx, gy = np.meshgrid(np.linspace(-1.5, 2.5, 21), np.linspace(-1.0, 1.5, 15))
grid = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
fx, fy = np.meshgrid(np.linspace(-1.5, 2.5, 120), np.linspace(-1.0, 1.5, 90))
density = np.exp(
    np.asarray(jax.vmap(moons.log_prob)(jnp.asarray(np.stack([fx.ravel(), fy.ravel()], 1))))
)
fields = {"exact": jax.vmap(moons.score)(grid)} | {
    name: jax.vmap(lambda y, m=runs[name].model: m(y, 0.0))(grid) for name in shown
}
fig, axes = plt.subplots(2, 3, figsize=(13, 6.4), layout="constrained")
for ax, (name, field) in zip(axes.ravel(), fields.items(), strict=True):
    field = np.asarray(field)
    unit = field / np.maximum(np.linalg.norm(field, axis=1, keepdims=True), 1e-12)
    ax.contour(fx, fy, density.reshape(fx.shape), levels=6, colors="0.7", linewidths=0.7)
    ax.quiver(gx, gy, unit[:, 0], unit[:, 1], color="C0" if name == "exact" else "C3", scale=30)
    error = "" if name == "exact" else f", error {sweep[name]['error_clean']:.2f}"
    ax.set(title=f"{name}{error}", xticks=[], yticks=[])
save_figure(fig, OUT / "score_fields.png", dpi=100)

# %% [markdown]
# **Cosine similarity of the two gradients.** Both objectives have the same expected
# gradient in $\theta$ at every $\sigma$. We draw the full-batch gradient of ISM on noised
# data (one draw per point) and of DSM-S with `GRADIENT_NOISE_SAMPLES` draws per point (the
# paper's 500) and with the training's `NOISE_SAMPLES`, at the initial network and at the
# ISM-trained one, and report their cosine, averaged over `GRADIENT_REPEATS` draws. A
# cosine near 1 means DSM's gradient is mostly signal; near 0, mostly noise.


# %%
@eqx.filter_jit
def batch_gradient(model, objective, t, key):
    """Gradient in the network's parameters of the mean objective over the data, flattened."""
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def mean_loss(p):
        net = eqx.combine(p, static)
        keys = jax.random.split(key, data.shape[0])
        return jnp.mean(jax.vmap(lambda x, k: objective(net, x, t, k)[0])(data, keys))

    return ravel_pytree(jax.grad(mean_loss)(params))[0]


def cosine(a, b) -> float:
    return float(jnp.dot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


def compare_gradients(model, n_noise: int, sigma: float) -> tuple[float, float]:
    """Mean cosine and mean ``|g_DSM - g_ISM| / |g_ISM|`` over ``GRADIENT_REPEATS`` draws."""
    t = process.t_of_sigma(sigma)
    cosines, deviations = [], []
    for k in jax.random.split(jax.random.fold_in(key_grad, n_noise), GRADIENT_REPEATS):
        k_ism, k_dsm = jax.random.split(k)
        g_ism = batch_gradient(model, ism(sigma), t, k_ism)
        g_dsm = batch_gradient(model, dsm(n_noise), t, k_dsm)
        cosines.append(cosine(g_ism, g_dsm))
        deviations.append(float(jnp.linalg.norm(g_dsm - g_ism) / jnp.linalg.norm(g_ism)))
    return float(np.mean(cosines)), float(np.mean(deviations))


gradients = {}
for where, model in (("initial", initial_model), ("trained", runs["ISM 0"].model)):
    for n_noise in (NOISE_SAMPLES, GRADIENT_NOISE_SAMPLES):
        pairs = [compare_gradients(model, n_noise, sigma) for sigma in SIGMAS]
        gradients[f"{where}, {n_noise} draws/point"] = {
            "cosine": [c for c, _ in pairs],
            "deviation": [d for _, d in pairs],
        }
for name, row in gradients.items():
    print(f"{name:>28}: cos " + " ".join(f"{c:+.3f}" for c in row["cosine"]), end="")
    print("   |dev| " + " ".join(f"{d:.3g}" for d in row["deviation"]))

fig, axes = plt.subplots(1, 2, figsize=(12, 4.0), layout="constrained")
for i, (name, row) in enumerate(gradients.items()):
    style = {"color": f"C{i}", "marker": "o" if "initial" in name else "s", "label": name}
    axes[0].plot(SIGMAS, row["cosine"], ls="-" if "initial" in name else "--", **style)
    axes[1].plot(SIGMAS, row["deviation"], ls="-" if "initial" in name else "--", **style)
axes[0].set(xscale="log", xlabel="sigma", ylabel="cos(ISM gradient, DSM gradient)")
axes[0].axhline(0.0, color="0.5", lw=0.6)
axes[1].set(xscale="log", yscale="log", xlabel="sigma", ylabel="|g_DSM - g_ISM| / |g_ISM|")
axes[1].plot(SIGMAS, 1e-2 / np.asarray(SIGMAS), color="0.5", ls=":", label="slope -1")
axes[1].legend(frameon=False, fontsize="small")
save_figure(fig, OUT / "gradients.png", dpi=110)

# %% [markdown]
# The deviation of DSM's gradient from ISM's grows like $1/\sigma$ (the dotted slope),
# and shrinks like $1/\sqrt n$ with the draws per point. Cosines of single noisy
# gradients scatter (DSM's noise lies mostly along a few directions, the output layer's,
# so two noisy gradients can be aligned by chance); the deviation is the cleaner measure.
# Near the optimum (trained network) the true gradient is small, so the same noise
# dominates sooner: this is why DSM stalls at small $\sigma$ rather than never starting.

# %% [markdown]
# ## Findings
#
# The paper states its findings as figures; the right column gives its claim.

# %%
elapsed = time.perf_counter() - started
at_1e4 = sweep["DSM 0.0001"]
results = {
    "sizes": {
        "quick": QUICK,
        "n_data": N_DATA,
        "steps": STEPS,
        "noise_samples_training": NOISE_SAMPLES,
        "noise_samples_gradients": GRADIENT_NOISE_SAMPLES,
    },
    "agreement_sigma_0.01": agree,
    "sweep": sweep,
    "ism_overfitting": {"steps": long_steps, "held_out_error": held_out},
    "gradients": {"sigmas": list(SIGMAS)} | gradients,
    "seconds": elapsed,
}
(OUT / "results.json").write_text(json.dumps(results, indent=2))

at_paper_n = gradients[f"initial, {GRADIENT_NOISE_SAMPLES} draws/point"]


def agreement_text(row: dict) -> str:
    return f"{row['trained']:.1f} vs {row['recorded']:.1f} (z={row['z']:+.1f})"


def sweep_text(kind: str, field: str, digits: str = ".3g") -> str:
    return " ".join(f"{sweep[f'{kind} {s:g}'][field]:{digits}}" for s in SIGMAS)


rows = [
    ("(a) fitting terms, sigma=0.01, ISM-trained", agreement_text(agree["ISM-trained"]), "agree"),
    ("(a) fitting terms, sigma=0.01, DSM-trained", agreement_text(agree["DSM-trained"]), "agree"),
    ("(b) DSM grad norm, sigma 0.1 .. 1e-4", sweep_text("DSM", "grad_norm"), "explodes"),
    ("(b) ISM grad norm, sigma 0.1 .. 1e-4", sweep_text("ISM", "grad_norm"), "robust"),
    ("(b) DSM score error, sigma 0.1 .. 1e-4", sweep_text("DSM", "error_clean", ".2f"), "fails"),
    ("(b) ISM score error, sigma 0.1 .. 1e-4", sweep_text("ISM", "error_clean", ".2f"), "fits"),
    ("(b) ISM score error, sigma = 0", f"{sweep['ISM 0']['error_clean']:.2f}", "fits"),
    (
        f"(c) cos(g_ISM, g_DSM), {GRADIENT_NOISE_SAMPLES}/pt, 0.1 .. 1e-4",
        " ".join(f"{c:.2f}" for c in at_paper_n["cosine"]),
        "falls",
    ),
    (
        f"(c) |g_DSM - g_ISM|/|g_ISM|, {GRADIENT_NOISE_SAMPLES}/pt",
        " ".join(f"{d:.2g}" for d in at_paper_n["deviation"]),
        "~1/sigma",
    ),
]
print(f"\n{'finding':<46} {'ours':<28} paper (claim)")
for finding, ours, paper in rows:
    print(f"{finding:<46} {ours:<28} {paper}")
overfits = held_out[-1] > 1.2 * held_out[best]
print(
    f"\nDifferences: DSM trained with {NOISE_SAMPLES} noise draws per point, not 500 (cost);"
    f" its fitting threshold sits about sqrt(500/{NOISE_SAMPLES}) times higher in sigma."
    " At sigma = 0.1 both objectives learn the blurred density (a bias)."
    + (
        f" ISM on clean data overfits the {N_DATA} points after ~{long_steps[best]} steps"
        f" (held-out error {held_out[best]:.2f} -> {held_out[-1]:.2f} at {LONG_STEPS})."
        if overfits
        else ""
    )
    + f" Total {elapsed:.0f} s."
)
