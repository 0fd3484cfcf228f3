# %% [markdown]
# # 9. Target score matching beyond additive Euclidean noise
#
# Section 3 of De Bortoli, Hutchinson, Wirnsberger & Doucet (2024) carries the target
# score identity past `Y = alpha X + sigma W`. This tutorial covers **non-additive noise**
# (their Prop. 3.1), **bridges** (Prop. 3.4) and the first **Lie group**, the torus
# (Prop. 3.3); SO(3) is still to come.
#
# A noise model `Y = T_t(X, W)`, `W ~ N(0, I)`, is known through two maps: the noise
# `w = Phi_t(y, x)` that takes `x` to `y`, and the clean point `x = X_t(y, w)` that `w`
# takes to `y`. Changing variables `x -> w` inside `p_t(y) = int p(x) p(y | x) dx` and
# differentiating at fixed `w` gives
#
# $$\nabla \log p_t(y) = \mathbb E\Big[J_y X_t(y, w)^\top \nabla \log p(X)
#   + \nabla_y V_t(y, w) \,\Big|\, Y = y\Big],\quad
#   V_t = \log|\det \partial_w X_t| + \log|\det \partial_y \Phi_t(y, X_t(y, w))|,$$
#
# the clean score **transported** to `y`, plus a **volume** term. Neither needs the
# noise's density (DSM's target `grad_y log p(y | x)` does). The worked case is
# multiplicative noise on positive data, `Y = X^alpha exp(sigma W)` with the cosine
# schedule, on a log-normal mixture, whose noised marginal and posterior are exact
# (`g(Y) = alpha g(X) + sigma W` with `g = log`). Here the transport is
# `y^{-1} x / alpha`, and the volume term is `(1/alpha - 1) / y`: both matter.
#
# We check the identity by Monte Carlo against the exact noised score (with negative
# controls), compare the variances of the TSI and DSI estimators across t, and train TSM
# against DSM. Part 4 does the same for bridges, parts 5 and 6 train TSM and DSM on the
# torus and on SO(3).

# %%
import os
from pathlib import Path

QUICK = os.environ.get("SCORESAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("SCORESAMPLE_OUT", "tutorials/out")) / "09_tsm_beyond_additive_noise"
OUT.mkdir(parents=True, exist_ok=True)

N_CHECK = 4000 if QUICK else 40_000  # posterior draws per identity check
N_NOISED = 300 if QUICK else 3000  # y drawn per time, for the estimator variances
N_POSTERIOR = 64  # posterior draws per y
N_TIMES = 7 if QUICK else 15  # times for the variance curves
TRAIN_STEPS = 400 if QUICK else 6000  # Adam steps per objective
BATCH = 256  # fresh exact draws every step
T_MIN, T_MAX = 0.02, 0.3  # times trained: sigma from 0.031 to 0.45
N_EVAL = 2000 if QUICK else 20_000  # draws of Y_t per evaluation of the score error
BRIDGE_SIGMA = 1.0  # the bridge's noise scale: s = sigma sqrt(t (1 - t))
BRIDGE_STEPS = 400 if QUICK else 4000  # Adam steps per bridge identity
TORUS_STEPS = 400 if QUICK else 4000  # Adam steps per torus objective
TORUS_SIGMAS = (0.05, 3.0)  # VE noise levels on the torus (3: nearly uniform)
TORUS_PARTICLES = 500 if QUICK else 2000  # annealed geodesic Langevin draws per model
TORUS_LEVELS, TORUS_STEPS_PER_LEVEL, TORUS_STEP = 10, 100, 5e-5  # step at the last level
SO3_STEPS = 400 if QUICK else 4000  # Adam steps per SO(3) objective (same levels as the torus)
SEED = 0

# %%
import json
import time
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpyro.distributions.transforms import ExpTransform

from scoresample.notebook import save_figure, use_backend

use_backend()
import matplotlib.pyplot as plt

import scoresample as ss
from scoresample import networks, noise, objectives, targets
from scoresample.bridges import IDENTITIES, MixtureBridge, identity_terms
from scoresample.diagnostics import metrics
from scoresample.groups import so3
from scoresample.groups.torus import embed, exp_map
from scoresample.nonadditive import (
    TransformedNoise,
    dsi_target,
    transported_score,
    tsi_target,
    volume_term,
)
from scoresample.samplers import annealed_langevin

started = time.perf_counter()
keys = iter(jax.random.split(jax.random.PRNGKey(SEED), 20))
target = targets.lognormal_mixture(
    [0.6, 0.4], [[-0.4, 0.5], [0.9, -0.6]], [[0.35, 0.5], [0.4, 0.25]]
)
multiplicative = TransformedNoise(ExpTransform(), noise.VP())
levels = multiplicative.levels
print("target: 2-D log-normal mixture, noise Y = X^alpha exp(sigma W), cosine schedule")

# %% [markdown]
# ## 1. The identity, by Monte Carlo
#
# At a few `(y, t)`, average each per-draw target over exact posterior draws and compare
# with the exact noised score as a z-score. Two negative controls must fail: the additive
# transport `grad log p(x) / alpha` (what TSM does for additive noise) and the
# transport without the volume term.


# %%
@partial(jax.jit, static_argnums=0)  # one program per estimator; y, t and draws are data
def per_draw(fn, y, t, xs):
    """``fn(y, x, score_x, t)`` for every posterior draw ``x``."""
    return jax.vmap(lambda x: fn(y, x, target.score(x), t))(xs)


ESTIMATES = {
    "TSI": lambda y, x, s, t: tsi_target(multiplicative, y, x, s, t),
    "DSI": lambda y, x, s, t: dsi_target(multiplicative, y, x, t),
    "control: additive transport": lambda y, x, s, t: (
        s / levels.alpha(t) + volume_term(multiplicative, y, x, t)
    ),
    "control: no volume term": lambda y, x, s, t: transported_score(multiplicative, y, x, s, t),
}
checks = {}
for y, t in [((0.6, 0.45), 0.35), ((1.8, 0.7), 0.15), ((0.9, 2.2), 0.6)]:
    y = jnp.array(y)
    xs = target.posterior_sample(next(keys), y, multiplicative, t, N_CHECK)
    exact = target.noised_by(multiplicative, t).score(y)
    for name, fn in ESTIMATES.items():
        values = np.asarray(per_draw(fn, y, t, xs))
        z = (values.mean(0) - exact) / (values.std(0) / np.sqrt(N_CHECK))
        checks.setdefault(name, []).append(float(np.max(np.abs(z))))
print(f"\n{'estimator':<30} max |z| over 3 points x 2 coordinates")
for name, zs in checks.items():
    print(f"{name:<30} {max(zs):8.2f}")

# %% [markdown]
# ## 2. Estimator variance across t
#
# For `y ~ p_t` and posterior draws `x | y`, the per-draw variance of each identity's
# term, averaged over `y` (the variance a regression on it must average out). DSI's
# target `-g'(y) (g(y) - alpha g(x)) / sigma^2 + ...` explodes as `sigma -> 0`; TSI's
# transport `x / (alpha y)` explodes as `alpha -> 0`: the additive picture of tutorial 3,
# now under multiplicative noise.


# %%
@partial(jax.jit, static_argnums=0)
def mean_variance(fn, t, key):
    key_y, key_x = jax.random.split(key)
    noised = target.noised_by(multiplicative, t)
    ys = noised.sample(key_y, N_NOISED)
    post_keys = jax.random.split(key_x, N_NOISED)

    def one(y, k):
        xs = target.posterior_sample(k, y, multiplicative, t, N_POSTERIOR)
        return jnp.sum(jnp.var(per_draw(fn, y, t, xs), axis=0))

    return jnp.mean(jax.vmap(one)(ys, post_keys))


times = np.linspace(0.02, 0.98, N_TIMES)
key_variance = next(keys)
variances = {name: [] for name in ("TSI", "DSI")}
for i, t in enumerate(times):
    for name in variances:  # the same y and posterior draws for both
        variances[name].append(
            float(mean_variance(ESTIMATES[name], t, jax.random.fold_in(key_variance, i)))
        )
ratio_low = variances["DSI"][0] / variances["TSI"][0]
ratio_high = variances["TSI"][-1] / variances["DSI"][-1]
print(f"\nvariance DSI / TSI at t = {times[0]:.2f}: {ratio_low:.3g}")
print(f"variance TSI / DSI at t = {times[-1]:.2f}: {ratio_high:.3g}")

# %% [markdown]
# ## 3. Training: TSM against DSM
#
# The same network, optimiser, weighting (uniform, as in the paper) and draws for both,
# on the low-noise range `t` in `[0.02, 0.3]` (`sigma` from 0.031 to 0.45), where the
# paper claims TSM's advantage. (Over all of `[0, 1]` each pure loss is swamped by its
# noisy end, as in tutorial 3: TSM's transport `x / (alpha y)` explodes as
# `alpha -> 0`.) We measure the relative score error
# `E|s(Y_t, t) - grad log p_t(Y_t)|^2 / E|grad log p_t(Y_t)|^2`.


# %%
key_net, key_fit, key_eval = next(keys), next(keys), next(keys)


def train(network, loss, data, steps, **options):
    """``fit`` with the settings every part shares: Adam 1e-3, BATCH draws, the same key."""
    return ss.fit(
        network,
        loss,
        data,
        steps=steps,
        batch_size=BATCH,
        key=key_fit,
        optimizer=optax.adam(1e-3),
        progress=False,
        **options,
    ).model


def relative_error(model, law, ys, t):
    """``sum |s(y, t) - grad log p(y)|^2 / sum |grad log p(y)|^2`` over draws ``ys`` of the
    exact law ``law`` of ``Y_t``."""
    return float(_relative_error(model, law, ys, jnp.asarray(t)))


@eqx.filter_jit
def _relative_error(model, law, ys, t):
    learned = jax.vmap(lambda y: model(y, t))(ys)
    exact = law.score_batch(ys)
    return jnp.sum((learned - exact) ** 2) / jnp.sum(exact**2)


def lognormal_error(model, t):
    noised = target.noised_by(multiplicative, t)
    return relative_error(model, noised, noised.sample(key_eval, N_EVAL), t)


losses = {
    "TSM": objectives.NonAdditiveTSM(
        multiplicative, clean_score=target.score, weighting=objectives.weighting.uniform
    ),
    "DSM": objectives.NonAdditiveDSM(multiplicative, weighting=objectives.weighting.uniform),
}
eval_times = [T_MIN, 0.05, 0.1, 0.2, T_MAX]
errors = {}
for name, loss in losses.items():
    network = networks.ScoreMLP(2, hidden=64, depth=3, key=key_net)
    model = train(network, loss, target, TRAIN_STEPS, t_range=(T_MIN, T_MAX))
    errors[name] = [lognormal_error(model, t) for t in eval_times]
print(f"\n{'t':>6} {'sigma':>7} {'TSM error':>10} {'DSM error':>10}")
for i, t in enumerate(eval_times):
    sigma = float(levels.sigma(t))
    print(f"{t:6.2f} {sigma:7.3f} {errors['TSM'][i]:10.4f} {errors['DSM'][i]:10.4f}")

# %% [markdown]
# ## 4. Bridges
#
# `Y_t = (1 - t) X0 + t X1 + sigma sqrt(t (1 - t)) W` between a 2-D mixture `X0` and a
# standard Gaussian `X1`, independent. As `Y_t` is `(1 - t) X0` plus noise independent of
# `X0`, TSI holds for either end: the score is the posterior mean of
# `grad log p0(X0) / (1 - t)` (Eq. 12), of `grad log p1(X1) / t` (Eq. 13), or of their
# convex combination `grad log p0(X0) + grad log p1(X1)` (Eq. 14); DSI is the fourth. With
# mixture ends, `p_t` and the posterior of `(X0, X1)` are exact (a component pair, then
# Matheron's rule), so we check each identity as in part 1, measure the per-draw variance
# across t as in part 2, and train a network on each (uniform weighting, all of `t`).

# %%
bridge = MixtureBridge(
    targets.GaussianMixture([0.6, 0.4], [[-2.0, 1.0], [1.5, -0.5]], [[0.4, 0.7], [0.3, 0.5]]),
    targets.GaussianMixture([1.0], [[0.0, 0.0]], 1.0),
    BRIDGE_SIGMA,
)


@jax.jit
def bridge_terms(y, t, x0s, x1s):
    return jax.vmap(lambda a, b: identity_terms(bridge, a, b, y, t))(x0s, x1s)


bridge_z = {name: [] for name in IDENTITIES}
for y, t in [((0.3, -0.4), 0.1), ((-1.5, 0.8), 0.4), ((1.0, 0.5), 0.85)]:
    y = jnp.array(y)
    x0s, x1s = bridge.posterior_sample(next(keys), y, t, N_CHECK)
    exact = bridge.marginal(t).score(y)
    for name, values in bridge_terms(y, t, x0s, x1s).items():
        z = (np.mean(values, 0) - exact) / (np.std(values, 0) / np.sqrt(N_CHECK))
        bridge_z[name].append(float(np.max(np.abs(z))))
print(f"\n{'bridge identity':<16} max |z| over 3 points x 2 coordinates")
for name, zs in bridge_z.items():
    print(f"{name:<16} {max(zs):8.2f}")


# %%
@jax.jit
def bridge_variance(t, key):
    key_y, key_x = jax.random.split(key)
    _, _, ys = bridge.sample(key_y, t, N_NOISED)

    def one(y, k):
        terms = bridge_terms(y, t, *bridge.posterior_sample(k, y, t, N_POSTERIOR))
        return {name: jnp.sum(jnp.var(v, axis=0)) for name, v in terms.items()}

    values = jax.vmap(one)(ys, jax.random.split(key_x, N_NOISED))
    return {name: jnp.mean(v) for name, v in values.items()}


bridge_times = np.linspace(0.01, 0.99, N_TIMES)
key_bridge = next(keys)
rows_of_variance = [
    bridge_variance(t, jax.random.fold_in(key_bridge, i)) for i, t in enumerate(bridge_times)
]
bridge_variances = {name: [float(row[name]) for row in rows_of_variance] for name in IDENTITIES}
print(f"\n{'t':>6} " + " ".join(f"{name:>10}" for name in IDENTITIES))
for i, t in enumerate(bridge_times):
    print(f"{t:6.2f} " + " ".join(f"{bridge_variances[n][i]:10.3g}" for n in IDENTITIES))


# %%
def bridge_error(model, t):
    _, _, ys = bridge.sample(key_eval, t, N_EVAL)
    return relative_error(model, bridge.marginal(t), ys, t)


bridge_eval_times = [0.01, 0.05, 0.3, 0.7, 0.95, 0.99]
bridge_errors = {}
for name in IDENTITIES:
    network = networks.ScoreMLP(2, hidden=64, depth=3, key=key_net)
    loss = objectives.BridgeMatching(bridge, name, weighting=objectives.weighting.uniform)
    model = train(network, loss, bridge.start, BRIDGE_STEPS)
    bridge_errors[name] = [bridge_error(model, t) for t in bridge_eval_times]
print(f"\n{'t':>6} " + " ".join(f"{name:>10}" for name in IDENTITIES))
for i, t in enumerate(bridge_eval_times):
    print(f"{t:6.2f} " + " ".join(f"{bridge_errors[n][i]:10.4f}" for n in IDENTITIES))

# %% [markdown]
# ## 5. The torus
#
# On a Lie group with a bi-invariant metric, Prop. 3.3 transports the clean score to
# `y` by `dR_{x^-1 y}`; the torus is abelian, so the transport is the identity and TSM's
# target is the clean score itself, while DSM's is the score of the torus's heat kernel
# (a wrapped Gaussian, by its image sum). A mixture of wrapped Gaussians noised by
# `y = wrap(x + sigma w)` is again one, so the noised score is exact at every level. The
# network reads `(cos y, sin y)`: periodic by construction, valued in the tangent space.
# Both train with the same network, optimiser, draws and uniform weighting over VE levels
# `sigma` in `[0.05, 3]`.

# %%
torus = targets.torus_mixture()  # weights 0.5 / 0.3 / 0.2, scales 0.25 to 0.6
torus_process = noise.VE(*TORUS_SIGMAS)
group_sigmas = [0.05, 0.1, 0.2, 0.5, 1.0]  # at 3 the law is nearly uniform, its score ~0


def train_on_group(group_target, process, network_class, tsm_class, dsm_class, steps):
    """TSM and DSM on a group, with the same network, optimiser, draws and uniform
    weighting: the trained models and their relative score errors at ``group_sigmas``."""
    uniform = objectives.weighting.uniform
    losses = {
        "TSM": tsm_class(process, clean_score=group_target.score, weighting=uniform),
        "DSM": dsm_class(process, weighting=uniform),
    }
    models, errors = {}, {}
    for name, loss in losses.items():
        network = network_class(group_target.dim, hidden=64, depth=3, key=key_net)
        models[name] = train(network, loss, group_target, steps)
        errors[name] = []
        for sigma in group_sigmas:
            noised = group_target.noised(1.0, sigma)
            ys, t = noised.sample(key_eval, N_EVAL), process.t_of_sigma(sigma)
            errors[name].append(relative_error(models[name], noised, ys, t))
    print(f"\n{'sigma':>6} {'TSM error':>10} {'DSM error':>10}  ({group_target.group.name})")
    for i, sigma in enumerate(group_sigmas):
        print(f"{sigma:6.2f} {errors['TSM'][i]:10.4f} {errors['DSM'][i]:10.4f}")
    return models, errors


torus_models, torus_errors = train_on_group(
    torus,
    torus_process,
    networks.TorusScoreMLP,
    objectives.TorusTSM,
    objectives.TorusDSM,
    TORUS_STEPS,
)

# %% [markdown]
# Samples from each learned score by annealed Langevin with geodesic steps
# `y <- exp_y(h s + sqrt(2 h) z)`, from the uniform law on the torus, levels from 3 down
# to 0.05 (10 levels, 100 steps each); MMD with an RBF kernel on `(cos y, sin y)` (a
# kernel on the torus, invariant
# under its translations) beside its floor, the MMD between two exact sets.


# %%
def geodesic_samples(model, process, exp_map, start, key):
    """Annealed Langevin along ``exp_map`` on the learned score, one draw per start."""
    levels = annealed_langevin.schedule(
        process, noise.geometric_levels(*TORUS_SIGMAS[::-1], TORUS_LEVELS), TORUS_STEP
    )
    algorithm = annealed_langevin.as_top_level_api(
        model, levels, TORUS_STEPS_PER_LEVEL, denoise=False, exp_map=exp_map
    )
    spec = ss.samplers.make_sampler(algorithm, num_samples=1)
    return ss.samplers.run(spec, key, initial_positions=np.asarray(start), progress=False).flat()


def torus_samples(model, key):
    start = jax.random.uniform(key, (TORUS_PARTICLES, 2), minval=-np.pi, maxval=np.pi)
    return geodesic_samples(model, torus_process, exp_map, start, key)


key_exact, key_exact2, key_torus = next(keys), next(keys), next(keys)
exact_torus = torus.sample(key_exact, TORUS_PARTICLES)
torus_mmd = {
    name: metrics.mmd2(embed(torus_samples(model, key_torus)), embed(exact_torus))
    for name, model in torus_models.items()
}
torus_mmd_floor = metrics.mmd2(embed(torus.sample(key_exact2, TORUS_PARTICLES)), embed(exact_torus))
print(f"torus MMD^2: TSM {torus_mmd['TSM']:.2e}, DSM {torus_mmd['DSM']:.2e}", end=" ")
print(f"[floor {torus_mmd_floor:.2e}]")

# %% [markdown]
# ## 6. SO(3)
#
# Rotations as rotation vectors, tangents as body-frame angular velocities, noise
# `y = x w` with `w ~ IGSO(3)`, the isotropic Gaussian on SO(3) (Brownian motion run for
# time `sigma^2`), whose density is exact by its image sum at small `sigma` and its
# character series at large. A mixture of IGSO(3) components noised this way is again
# one. Prop. 3.3 transports the clean score from `x` to `y` by right multiplication with
# `x^-1 y = w`: in body coordinates, TSM's target is `w^T grad log p(x)`; DSM's is the
# score of IGSO(3). (IGSO(3) is invariant under conjugation, so `x w = (x w x^-1) x` is
# also noise on the left, for which the transport is the identity in body coordinates:
# the untransported clean score is a second valid target; `tests/test_so3.py` checks both
# and that the transport the wrong way fails.) The network reads the rotation matrix;
# training, levels and sampling as on the torus, from Haar-uniform starts, with an RBF
# kernel on the rotation matrices for the MMD (`|R1 - R2|^2 = 4 (1 - cos angle)`, a
# kernel invariant under the group on both sides).

# %%
so3_target = targets.so3_mixture()  # weights 0.5 / 0.3 / 0.2, scales 0.3, 0.5, 0.25
so3_process = noise.VE(*TORUS_SIGMAS)
so3_models, so3_errors = train_on_group(
    so3_target, so3_process, networks.SO3ScoreMLP, objectives.SO3TSM, objectives.SO3DSM, SO3_STEPS
)

key_so3, key_so3_exact, key_so3_exact2 = next(keys), next(keys), next(keys)
haar = so3.IGSO3Mixture([1.0], [[0.0, 0.0, 0.0]], so3.MAX_SCALE)  # Haar's law to 1e-15
exact_so3 = so3_target.sample(key_so3_exact, TORUS_PARTICLES)
so3_mmd = {
    name: metrics.mmd2(
        so3.embed(
            geodesic_samples(
                model, so3_process, so3.exp_map, haar.sample(key_so3, TORUS_PARTICLES), key_so3
            )
        ),
        so3.embed(exact_so3),
    )
    for name, model in so3_models.items()
}
so3_mmd_floor = metrics.mmd2(
    so3.embed(so3_target.sample(key_so3_exact2, TORUS_PARTICLES)), so3.embed(exact_so3)
)
print(f"SO(3) MMD^2: TSM {so3_mmd['TSM']:.2e}, DSM {so3_mmd['DSM']:.2e}", end=" ")
print(f"[floor {so3_mmd_floor:.2e}]")

# %%
fig, axes = plt.subplots(1, 6, figsize=(30, 4))
for name, values in variances.items():
    axes[0].semilogy(times, values, "o-", label=name)
axes[0].set(xlabel="t", ylabel="mean per-draw variance", title="Log-normal noise: estimators")
axes[0].legend()
for name, values in errors.items():
    axes[1].semilogy(eval_times, values, "o-", label=name)
axes[1].set(xlabel="t", ylabel="relative score error", title="Log-normal noise: networks")
axes[1].legend()
for name in IDENTITIES:
    axes[2].semilogy(bridge_times, bridge_variances[name], "o-", label=name)
    axes[3].semilogy(bridge_eval_times, bridge_errors[name], "o-", label=name)
axes[2].set(xlabel="t", ylabel="mean per-draw variance", title="Bridge estimators")
axes[3].set(xlabel="t", ylabel="relative score error", title="Bridge networks")
axes[2].legend()
axes[3].legend()
for name, values in torus_errors.items():
    axes[4].loglog(group_sigmas, values, "o-", label=name)
axes[4].set(xlabel="sigma", ylabel="relative score error", title="Torus networks")
axes[4].legend()
for name, values in so3_errors.items():
    axes[5].loglog(group_sigmas, values, "o-", label=name)
axes[5].set(xlabel="sigma", ylabel="relative score error", title="SO(3) networks")
axes[5].legend()
fig.suptitle("Non-additive noise, bridges, the torus and SO(3)")
fig.tight_layout()
save_figure(fig, OUT / "nonadditive.png", dpi=110)

# %% [markdown]
# ## Findings

# %%
results = {
    "nonadditive_identity_max_abs_z": max(max(checks["TSI"]), max(checks["DSI"])),
    "nonadditive_controls_min_abs_z": min(
        max(checks["control: additive transport"]), max(checks["control: no volume term"])
    ),
    "nonadditive_variance": {"t": times.tolist(), **variances},
    "nonadditive_dsi_over_tsi_at_t_min": ratio_low,
    "nonadditive_tsi_over_dsi_at_t_max": ratio_high,
    "nonadditive_errors": {"t": eval_times, **errors},
    "nonadditive_tsm_error": errors["TSM"][0],
    "nonadditive_dsm_error": errors["DSM"][0],
    "bridge_identity_max_abs_z": max(max(zs) for zs in bridge_z.values()),
    "bridge_variance": {"t": bridge_times.tolist(), **bridge_variances},
    "bridge_errors": {"t": bridge_eval_times, **bridge_errors},
    "torus_errors": {"sigma": group_sigmas, **torus_errors},
    "torus_tsm_error": torus_errors["TSM"][0],
    "torus_dsm_error": torus_errors["DSM"][0],
    "torus_mmd": torus_mmd,
    "torus_mmd_floor": torus_mmd_floor,
    "so3_errors": {"sigma": group_sigmas, **so3_errors},
    "so3_tsm_error": so3_errors["TSM"][0],
    "so3_dsm_error": so3_errors["DSM"][0],
    "so3_mmd": so3_mmd,
    "so3_mmd_floor": so3_mmd_floor,
    "quick": QUICK,
    "seconds": time.perf_counter() - started,
}
(OUT / "results.json").write_text(json.dumps(results, indent=2))
rows = [
    ("identity max |z| (TSI and DSI)", f"{results['nonadditive_identity_max_abs_z']:.2f}", "exact"),
    ("negative controls, smaller max |z|", f"{results['nonadditive_controls_min_abs_z']:.1f}", "-"),
    (f"variance DSI / TSI at t = {times[0]:.2f}", f"{ratio_low:.3g}", "TSI lower at low noise"),
    (f"variance TSI / DSI at t = {times[-1]:.2f}", f"{ratio_high:.3g}", "DSI lower at high noise"),
    (
        f"relative score error at t = {T_MIN} (TSM / DSM)",
        f"{errors['TSM'][0]:.4f} / {errors['DSM'][0]:.4f}",
        "TSM lower at low noise",
    ),
]
rows += [
    (
        "bridge identities max |z| (Eqs. 12-14, DSI)",
        f"{results['bridge_identity_max_abs_z']:.2f}",
        "exact",
    ),
    (
        "bridge variance at t = 0.01: Eq. 12 / Eq. 14",
        f"{bridge_variances['start'][0]:.3g} / {bridge_variances['sum'][0]:.3g}",
        "Eq. 12 exact at t = 0",
    ),
    (
        "bridge variance at t = 0.99: Eq. 13 / Eq. 14",
        f"{bridge_variances['end'][-1]:.3g} / {bridge_variances['sum'][-1]:.3g}",
        "Eq. 13 exact at t = 1",
    ),
    (
        "bridge score error, worst t: Eq. 14 / DSM",
        f"{max(bridge_errors['sum']):.4f} / {max(bridge_errors['dsi']):.4f}",
        "not reported",
    ),
]
rows.append(
    (
        f"torus score error at sigma {group_sigmas[0]} (TSM / DSM)",
        f"{torus_errors['TSM'][0]:.4f} / {torus_errors['DSM'][0]:.4f}",
        "TSM lower at low noise",
    )
)
rows.append(
    (
        f"SO(3) score error at sigma {group_sigmas[0]} (TSM / DSM)",
        f"{so3_errors['TSM'][0]:.4f} / {so3_errors['DSM'][0]:.4f}",
        "TSM lower at low noise",
    )
)
print(f"\n{'finding':<46} {'ours':<20} paper (claim)")
for finding, ours, paper in rows:
    print(f"{finding:<46} {ours:<20} {paper}")
print(f"Total {results['seconds']:.0f} s.")
