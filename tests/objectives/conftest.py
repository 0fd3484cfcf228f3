"""Shared pieces of the objective tests: a 3-D mixture, untrained networks, batch evaluation.

Exposed as fixtures because test modules cannot import each other. Every objective is
evaluated for every network inside one compiled function per noise process, so the
identity tests compile twice in total.
"""

from types import SimpleNamespace

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

from scoresample.networks import EnergyMLP, ScoreMLP
from scoresample.noise import VE, VP
from scoresample.objectives import DSM, ISM, SSM, TSM
from scoresample.targets import GaussianMixture

DIM = 3
N = 20_000
MIXTURE = GaussianMixture(
    [0.3, 0.7], [[1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], [[0.5, 0.6, 0.7], [0.8, 0.8, 0.9]]
)
#: (process, t) pairs of the identity tests.
CASES = [(VE(0.05, 5.0), 0.3), (VE(0.05, 5.0), 0.7), (VP(), 0.4)]


@eqx.filter_jit
def evaluate(objective, score_fn, xs, t, keys):
    """Per-example ``(values, aux)`` of ``objective`` over ``xs`` at one time ``t``."""
    return jax.vmap(lambda x, k: objective(score_fn, x, t, k))(xs, keys)


@eqx.filter_jit
def evaluate_table(pairs: dict, xs, t, keys) -> dict:
    """``{name: (values, aux)}`` for ``pairs = {name: (objective, net)}``, compiled once."""
    return {
        name: jax.vmap(lambda x, k, o=objective, f=net: o(f, x, t, k))(xs, keys)
        for name, (objective, net) in pairs.items()
    }


def draws(key, n):
    """``n`` exact samples of the mixture and ``n`` per-example keys."""
    key_x, key_k = jax.random.split(key)
    return MIXTURE.sample(key_x, n), jax.random.split(key_k, n)


def _offset_score(x):
    """The clean score off by the constant vector ``(1, ..., 1)``: a wrong TSM target."""
    return MIXTURE.score(x) + 1.0


class Offset(eqx.Module):
    """``net(y, t) + (1, ..., 1)``: a network that differs from ``net`` by a known constant."""

    net: eqx.Module

    def __call__(self, y, t):
        return self.net(y, t) + 1.0


def standard_normal_score(y, t):
    """``-y``, the score of ``N(0, I)``: a field with a known norm ``|y|^2 / 2`` and
    Jacobian ``-I``."""
    return -y


def pairs_for(process, nets: dict) -> dict:
    """The (objective, network) pairs the identity tests need, keyed ``(objective, net)``.

    Besides ``nets``, ``"normal"`` is :func:`standard_normal_score`.
    """
    nets = nets | {"normal": standard_normal_score}
    objectives = {
        "dsm": DSM(process),
        "ism": ISM(process),
        "tsm": TSM(process, clean_score=MIXTURE.score),
        "tsm_wrong": TSM(process, clean_score=_offset_score),
    }
    if isinstance(process, VE):
        objectives |= {
            "ssm_gaussian": SSM(process, probes="gaussian"),
            "ssm_vr_rademacher": SSM(process, n_probes=3, variance_reduced=True),
            "hutchinson_rademacher": ISM(process, divergence="hutchinson", n_probes=2),
            "hutchinson_gaussian": ISM(process, divergence="hutchinson", probes="gaussian"),
        }
    without_tsm = [name for name in objectives if not name.startswith("tsm")]
    wanted = {
        "a": list(objectives),
        "b": ["dsm", "tsm"],
        "a+1": ["dsm", "tsm_wrong"],
        "energy": without_tsm,
        "normal": without_tsm,
    }
    return {(o, net): (objectives[o], nets[net]) for net, names in wanted.items() for o in names}


def untrained_networks(key) -> dict:
    """Two score networks (the second with a 10x larger output layer), the first plus a
    constant (``"a+1"``), and an energy network."""
    key_a, key_b, key_e = jax.random.split(key, 3)
    net_a = ScoreMLP(DIM, hidden=32, depth=2, activation="tanh", key=key_a)
    net_b = ScoreMLP(DIM, hidden=32, depth=2, activation="tanh", key=key_b)
    net_b = eqx.tree_at(lambda m: m.body.mlp.layers[-1].weight, net_b, replace_fn=lambda w: 10 * w)
    return {
        "a": net_a,
        "b": net_b,
        "a+1": Offset(net_a),
        "energy": EnergyMLP(DIM, hidden=32, depth=2, activation="tanh", key=key_e),
    }


@pytest.fixture(scope="session")
def nets():
    return untrained_networks(jax.random.PRNGKey(7))


@pytest.fixture(scope="session")
def tables(nets):
    """Per case: ``(xs, table)`` with every objective for every network on the same draws."""
    out = []
    for i, (process, t) in enumerate(CASES):
        xs, keys = draws(jax.random.fold_in(jax.random.PRNGKey(11), i), N)
        table = evaluate_table(pairs_for(process, nets), xs, jnp.asarray(t), keys)
        out.append((process, t, xs, keys, table))
    return out


def clean_score(y, t):
    """The clean score used as if it were the noised one (wrong for t > 0)."""
    return MIXTURE.score(y)


@pytest.fixture(scope="session")
def kit():
    """The mixture, its dimension and the helpers above."""
    return SimpleNamespace(
        dim=DIM,
        n=N,
        cases=CASES,
        mixture=MIXTURE,
        evaluate=evaluate,
        evaluate_table=evaluate_table,
        draws=draws,
        clean_score=clean_score,
    )
