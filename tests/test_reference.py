"""Reference sets: the checks catch chains that disagree, the cache stores and reuses,
the halves are disjoint, and the command reports and exits by the checks."""

import json

import jax
import numpy as np
import pytest

from scoresample import reference as R
from scoresample.app.cli import main
from scoresample.errors import ConfigError, DataError
from scoresample.targets import dw4

#: A tiny MALA reference (compiles fast; its checks need not pass).
TINY = R.ReferenceSettings(sampler="mala", n_chains=4, num_warmup=50, num_samples=20, thinning=2)


def _configurations(key, shape, scale=1.0):
    """Centred DW-4 configurations ``(chain, draw, 8)``: particles on a square of side
    4 (the pair minimum), jittered with ``N(0, (0.3 scale)^2)``."""
    square = np.array([[0, 0], [4, 0], [0, 4], [4, 4]], float).reshape(-1)
    x = square + 0.3 * scale * np.asarray(jax.random.normal(key, (*shape, 8)))
    return np.asarray(dw4().remove_mean(x.reshape(-1, 8))).reshape(*shape, 8)


def test_chains_from_one_distribution_pass(key):
    chains = _configurations(key, (8, 250))
    checks = R.check_reference(chains, dw4(), jax.random.PRNGKey(1))
    assert checks.passed, checks
    assert max(checks.r_hat.values()) < 1.01


def test_halves_from_different_distributions_fail(key):
    good = _configurations(key, (4, 250))
    wider = _configurations(jax.random.fold_in(key, 1), (4, 250), scale=1.5)
    checks = R.check_reference(np.concatenate([good, wider]), dw4(), jax.random.PRNGKey(1))
    assert not checks.passed
    assert any("R-hat of energy" in f for f in checks.failures)
    assert any("energy_w1" in f for f in checks.failures)
    assert "FAILED" in str(checks)


@pytest.mark.parametrize(("r_hat", "ratio", "n_failures"), [(1.0099, 1.49, 0), (1.0101, 1.51, 2)])
def test_limits_inside_and_outside(r_hat, ratio, n_failures):
    halves = {"energy_w1": {"value": ratio * 0.2, "floor": 0.2}}
    assert len(R.check_failures({"energy": r_hat}, halves)) == n_failures


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="reference.n_chains"):
        R.ReferenceSettings(n_chains=5)
    with pytest.raises(ConfigError, match="reference.sampler"):
        R.ReferenceSettings(sampler="ula")
    with pytest.raises(ConfigError, match="reference.target"):
        R.reference("gmm40", TINY)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    return root, R.reference("dw4", TINY, root=root)


def test_a_reference_is_stored_with_its_settings_and_reused(stored, monkeypatch):
    root, ref = stored
    assert ref.chains.shape == (4, 20, 8)
    np.testing.assert_allclose(ref.chains.reshape(-1, 4, 2).mean(axis=1), 0.0, atol=1e-5)
    record = json.loads((ref.path / "reference.json").read_text())
    assert record["settings"]["n_chains"] == 4 and record["target"] == "dw4"
    assert record["energy_evals"] == ref.energy_evals >= 4 * (50 + 2 * 20)

    def fail(*args, **kwargs):
        raise AssertionError("a stored reference was made again")

    monkeypatch.setattr(R, "make_reference", fail)
    again = R.reference("dw4", TINY, root=root)
    np.testing.assert_array_equal(again.chains, ref.chains)
    assert again.checks == ref.checks
    with pytest.raises(AssertionError, match="made again"):
        R.reference("dw4", TINY, root=root, force=True)
    assert (
        R.load_reference("dw4", R.ReferenceSettings(**{**TINY.__dict__, "seed": 1}), root) is None
    )


def test_split_takes_the_halves_from_different_chains(stored):
    _, ref = stored
    first, second = ref.split(30, jax.random.PRNGKey(0))
    rows = {tuple(np.round(r, 6)) for r in ref.chains[:2].reshape(-1, 8)}
    assert all(tuple(np.round(r, 6)) in rows for r in first)
    assert not any(tuple(np.round(r, 6)) in rows for r in second)
    with pytest.raises(DataError, match="fewer than n = 41"):
        ref.split(41, jax.random.PRNGKey(0))


def test_require_passed_names_the_failures(stored):
    _, ref = stored
    failed = R.Reference(
        **{**ref.__dict__, "checks": R.ReferenceChecks({"energy": 1.2}, {}, ["x"])}
    )
    with pytest.raises(DataError, match="failed its checks: x"):
        R.require_passed(failed)


def test_the_command_reuses_the_store_and_exits_by_the_checks(stored, capsys):
    root, ref = stored
    argv = ["reference", "dw4", "--sampler", "mala", "--chains", "4", "--warmup", "50"]
    argv += ["--samples", "20", "--thin", "2", "--cache-dir", str(root), "--quiet"]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == (0 if ref.checks.passed else 1)
    assert "80 draws of dim 8" in out and str(ref.path) in out
    assert main(["reference", "dw4", "--chains", "3", "--cache-dir", str(root)]) == 2
