"""EGNN score and energy networks: equivariance to rotations, reflections and
permutations, translation invariance, mean-free outputs, time dependence and
``score == -grad E`` (by finite differences), at random weights and generic inputs. A
ScoreMLP put through the same checks fails them (negative control). Also the config's
particle-target check and a few ``fit`` steps on DW-4.

Every check compares outputs relative to their size; all transformed inputs of one
model go through one compiled, vmapped call.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scoresample import fit
from scoresample.app.config import NetworkConfig, ScoreConfig
from scoresample.app.pipeline.build import build_network
from scoresample.errors import ConfigError, DataError
from scoresample.networks import EGNNEnergy, EGNNScore, ScoreMLP
from scoresample.noise import VE
from scoresample.objectives import DSM, TSM
from scoresample.targets import Gaussian, dw4

M, N = 5, 3  # particles, space dimension: generic rotations and permutations
SMALL = {"hidden": 16, "n_layers": 2, "embed": 8}
TOL = 1e-4  # relative, float32
PROCESS = VE(0.05, 5.0)


def with_random_weights(cls, key, *args, **options):
    """``cls(*args, **options)`` with Gaussian noise of scale 0.1 added to every float
    array: weights away from the small coordinate initialisation, zero and identity."""
    rng = np.random.default_rng(np.asarray(jax.random.fold_in(key, 1)))
    params, static = eqx.partition(cls(*args, **options, key=key), eqx.is_inexact_array)
    noisy = jax.tree_util.tree_map(
        lambda x: jnp.asarray(np.float32(x + 0.1 * rng.standard_normal(x.shape))), params
    )
    return eqx.combine(noisy, static)


def orthogonal(draws, det):
    """A Haar-random orthogonal ``(N, N)`` matrix with determinant ``det`` (+1 or -1)."""
    q, r = np.linalg.qr(draws.reshape(N, N))
    q = q * np.sign(np.diag(r))[None, :]
    q[:, 0] *= np.sign(np.linalg.det(q)) * det
    np.testing.assert_allclose(np.linalg.det(q), det, rtol=1e-10)
    return q


def transforms(key):
    """Named maps of flat configurations: ``(g, h)`` with ``f(g y) = h f(y)`` expected."""
    draws = np.asarray(jax.random.normal(key, (2 * N * N + N,)), np.float64)
    rotation, reflection = orthogonal(draws[: N * N], 1.0), orthogonal(draws[N * N : -N], -1.0)
    perm, shift = np.array([2, 0, 4, 1, 3]), draws[-N:]

    def particles(fn):
        return lambda y: fn(y.reshape(M, N)).reshape(-1)

    return {
        "rotation": (particles(lambda p: p @ rotation.T),) * 2,
        "reflection": (particles(lambda p: p @ reflection.T),) * 2,
        "permutation": (particles(lambda p: p[perm]),) * 2,
        "translation": (particles(lambda p: p + shift[None, :]), lambda s: s),
    }


def generic_position(key):
    return 1.5 * np.asarray(jax.random.normal(key, (M * N,)), np.float64)


@eqx.filter_jit
def outputs(model, ys, ts):
    return jax.vmap(model)(ys, ts)


def evaluate(model, ys, ts):
    """``model`` on a batch of NumPy inputs at times ``ts``, in float32, back in NumPy."""
    ts = np.broadcast_to(np.float32(ts), (len(ys),))
    return np.asarray(outputs(model, jnp.asarray(np.float32(ys)), jnp.asarray(ts)))


def symmetry_errors(model, key):
    """Relative errors ``|f(g y) - h f(y)| / |f(y)|`` for every transform, the mean over
    particles, and the relative change between two times."""
    k_y, k_g = jax.random.split(key)
    y, named = generic_position(k_y), transforms(k_g)
    ys = np.stack([y, y, *(g(y) for g, _ in named.values())])
    out = np.float64(evaluate(model, ys, np.array([0.37, 0.81] + [0.37] * len(named))))
    size = np.linalg.norm(out[0])
    errors = {
        name: np.linalg.norm(out[2 + i] - h(out[0])) / size
        for i, (name, (_, h)) in enumerate(named.items())
    }
    errors["mean"] = np.linalg.norm(out[0].reshape(M, N).sum(axis=0)) / size
    errors["time"] = np.linalg.norm(out[1] - out[0]) / size
    return errors


@pytest.fixture(params=[EGNNScore, EGNNEnergy])
def egnn(request, key):
    return with_random_weights(request.param, key, M, N, **SMALL)


def test_egnn_outputs_are_equivariant_invariant_mean_free_and_depend_on_time(egnn, key):
    errors = symmetry_errors(egnn, jax.random.fold_in(key, 2))
    assert errors.pop("time") > 1e-2
    assert all(e < TOL for e in errors.values()), errors


def test_a_score_mlp_fails_the_same_checks(key):
    """Negative control: the checks above catch a network without the symmetries."""
    mlp = with_random_weights(ScoreMLP, key, M * N, hidden=16, depth=2, embed=8)
    errors = symmetry_errors(mlp, jax.random.fold_in(key, 2))
    assert all(e > 1e-2 for e in errors.values()), errors


def test_egnn_energy_is_invariant(key):
    model = with_random_weights(EGNNEnergy, key, M, N, **SMALL)
    y, named = generic_position(jax.random.fold_in(key, 2)), transforms(jax.random.fold_in(key, 3))
    ys = np.stack([y, *(g(y) for g, _ in named.values())])
    energies = evaluate(eqx.Partial(EGNNEnergy.energy, model), ys, 0.37)
    assert abs(energies[0]) > 1e-2
    np.testing.assert_allclose(energies[1:], energies[0], rtol=TOL)


def test_egnn_energy_score_is_minus_its_finite_difference_gradient(key):
    """Central differences of ``E`` in float64 (no autodiff) against ``model(y, t)``."""
    model = with_random_weights(EGNNEnergy, key, M, N, **SMALL)
    y, h = generic_position(jax.random.fold_in(key, 2)), 1e-5
    ys = np.concatenate([y[None, :] + h * np.eye(M * N), y[None, :] - h * np.eye(M * N)])
    with jax.enable_x64(True):
        model = jax.tree_util.tree_map(
            lambda x: jnp.asarray(np.float64(x)) if eqx.is_inexact_array(x) else x, model
        )
        energy = eqx.Partial(EGNNEnergy.energy, model)
        energies = np.asarray(outputs(energy, jnp.asarray(ys), jnp.asarray(np.full(len(ys), 0.37))))
        score = np.asarray(outputs(model, jnp.asarray(y[None, :]), jnp.asarray([0.37])))[0]
    assert score.dtype == np.float64
    grad = (energies[: M * N] - energies[M * N :]) / (2 * h)
    np.testing.assert_allclose(score, -grad, rtol=1e-6, atol=1e-8 * np.abs(grad).max())


def test_shapes_batches_and_errors(key):
    model = with_random_weights(EGNNScore, key, M, N, **SMALL)
    assert model.dim == M * N and len(model.body.layers) == 2
    assert evaluate(model, np.ones((3, M * N)), 0.5).shape == (3, M * N)
    with pytest.raises(DataError, match="EGNNScore input"):
        model(jnp.ones(M * N + 1), 0.3)
    with pytest.raises(ConfigError, match="n_particles"):
        EGNNEnergy(1, N, key=key)
    plain = eqx.filter_eval_shape(EGNNScore, 2, 2, hidden=8, n_layers=1, embed=0, key=key)
    assert plain.body.embedding is None
    assert eqx.filter_eval_shape(plain, jnp.ones(4), 0.3).shape == (4,)


def network_config(kind, hidden=(16, 16)):
    return ScoreConfig(network=NetworkConfig(kind=kind, hidden=list(hidden), embed=8))


def test_config_builds_egnns_for_particle_targets_only(key):
    """``hidden = [16, 16]`` means two EGNN layers of width 16; a Gaussian target is an
    error that names the field (traced only: nothing is computed)."""
    gaussian = Gaussian(jnp.zeros(8), jnp.eye(8))

    def build(kind, target, hidden=(16, 16)):
        cfg = network_config(kind, hidden)
        return eqx.filter_eval_shape(build_network, cfg, 8, PROCESS, None, key, target=target)

    for kind, cls in (("egnn_score", EGNNScore), ("egnn_energy", EGNNEnergy)):
        model = build(kind, dw4())
        assert isinstance(model, cls)
        assert (model.body.n_particles, model.body.space_dim) == (4, 2)
        assert len(model.body.layers) == 2 and model.body.encoder.out_features == 16
        with pytest.raises(ConfigError, match="score.network.kind.*particle target"):
            build(kind, gaussian)
    with pytest.raises(ConfigError, match="score.network.hidden"):
        build("egnn_score", dw4(), hidden=(16, 32))


@pytest.mark.parametrize("objective", [TSM, DSM])
def test_fit_trains_an_egnn_score_on_dw4(objective, key):
    """A few steps of TSM (with the exact clean scores) and DSM on mean-free draws."""
    target = dw4()
    draws = 2.0 * np.asarray(jax.random.normal(key, (64, target.dim)))
    samples = draws - np.tile(draws.reshape(64, 4, 2).mean(axis=1), 4)
    data = (samples, jax.jit(jax.vmap(target.score))(samples)) if objective is TSM else samples
    model = EGNNScore(4, 2, hidden=16, n_layers=1, embed=8, key=key)  # compiles in half the time
    result = fit(
        model, objective(PROCESS), data, optimizer=optax.adam(1e-3), steps=10, batch_size=32,
        chunk_size=10, progress=False, key=key,
    )  # fmt: skip
    losses = result.history["loss"]
    assert losses.shape == (10,) and np.all(np.isfinite(losses))
    assert result.model.process == PROCESS
    assert not eqx.tree_equal(result.model, model.with_process(PROCESS))
