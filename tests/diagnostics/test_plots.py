"""Every plot function writes a non-empty PNG; bad inputs raise errors naming the field."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scoresample.chains import Chains
from scoresample.diagnostics import plots
from scoresample.diagnostics.plots.chains import chain_ranks
from scoresample.diagnostics.plots.training import smooth
from scoresample.errors import DataError
from scoresample.targets import banana, gmm40, many_well, ncsn_toy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


@pytest.fixture
def chains(key):
    positions = np.asarray(jax.random.normal(key, (3, 200, 3))) + np.array([0.0, 1.0, 2.0])
    diverging = np.zeros((3, 200), bool)
    diverging[1, 50] = True
    return Chains(positions, {"diverging": diverging}, sampler="mala")


def test_samples_over_density_in_2d(key, tmp_path):
    target = gmm40()
    path = tmp_path / "samples.png"
    fig = plots.plot_samples(target.sample(key, 500), target, path)
    assert_png(path)
    assert "500 samples" in fig._suptitle.get_text()


def test_pairs_grid_with_and_without_closed_form(key, tmp_path):
    target = many_well(6)
    xs = target.sample(key, 300)
    plots.plot_samples(xs, target, tmp_path / "a" / "wells.png", dims=[0, 1, 2])
    assert_png(tmp_path / "a" / "wells.png")
    # banana has no closed-form pair marginal in 3-D: a reference cloud is drawn instead.
    curved = banana()
    reference = np.asarray(jax.random.normal(key, (300, curved.dim)))
    plots.plot_samples(reference + 0.5, None, tmp_path / "b" / "ref.png", reference=reference)
    assert_png(tmp_path / "b" / "ref.png")


def test_draws_far_out_are_plotted_without_contours(key, tmp_path):
    """Draws of a diverged sampler (|x| ~ 1e12) span a box where the top contour levels
    round to one value: the panel keeps its points and drops the contours, as a
    matplotlib error there would end the run; nearer draws keep theirs."""
    target = many_well(4)

    def first_pair_panel(x, name):
        fig = plots.plot_samples(x, target, tmp_path / name / "samples.png", dims=[0, 1])
        assert_png(tmp_path / name / "samples.png")
        return fig.axes[2].collections[0].__class__.__name__  # contours come first

    far = 1e12 * np.asarray(jax.random.normal(key, (200, 4)))
    assert first_pair_panel(far, "far") == "PathCollection"  # the points alone
    assert first_pair_panel(np.asarray(target.sample(key, 200)), "near") != "PathCollection"


def test_marginals_against_exact_and_reference(key, tmp_path):
    target = ncsn_toy()
    plots.plot_marginals(target.sample(key, 400), target, tmp_path / "a" / "m.png")
    assert_png(tmp_path / "a" / "m.png")
    xs = np.asarray(jax.random.normal(key, (400, 5)))
    plots.plot_marginals(xs, None, tmp_path / "b" / "m.png", reference=xs[::-1] * 1.1)
    assert_png(tmp_path / "b" / "m.png")


def test_trace_and_rank(chains, tmp_path):
    plots.plot_trace(chains, tmp_path / "a" / "trace.png")
    assert_png(tmp_path / "a" / "trace.png")
    plots.plot_rank(chains, tmp_path / "b" / "rank.png", dims=[0, 2])
    assert_png(tmp_path / "b" / "rank.png")


def test_chain_ranks_are_a_permutation(chains):
    ranks = chain_ranks(chains.positions[:, :, 0])
    assert ranks.shape == (3, 200)
    np.testing.assert_array_equal(np.sort(ranks.ravel()), np.arange(600))


def test_training_curves(tmp_path):
    steps = np.arange(500)
    rng = np.random.default_rng(0)
    history = {
        "loss": 1 + np.exp(-steps / 100) + 0.1 * rng.random(500),
        "grad_norm": np.exp(rng.normal(size=500)) * (1 + 20 * np.exp(-steps / 50)),
        "fitting": -1 + np.exp(-steps / 100),
        "norm": 2 + np.exp(-steps / 100),
    }
    history["loss"][10] = np.nan  # a non-finite step must not break the plot
    plots.plot_training(history, tmp_path / "training.png")
    assert_png(tmp_path / "training.png")
    with pytest.raises(DataError, match=r"history\['loss'\]"):
        plots.plot_training({"loss": np.zeros((5, 2))})


def test_smooth_is_a_trailing_mean_that_skips_nan():
    values = np.array([1.0, np.nan, 3.0, 5.0])
    np.testing.assert_allclose(smooth(values, 2), [1.0, 1.0, 3.0, 4.0])


def test_score_field(tmp_path):
    toy = ncsn_toy()

    def exact(y, t):
        return toy.noised(1.0, t).score(y)

    def learned(y, t):
        return exact(y, t) + 0.2 * jnp.sin(y)

    plots.plot_score_field(learned, exact, [0.5, 2.0], tmp_path / "field.png", arrows=9)
    assert_png(tmp_path / "field.png")


def test_estimator_variance(tmp_path):
    t = np.linspace(0.05, 0.95, 10)
    plots.plot_estimator_variance(t, {"DSI": 1 / t, "TSI": 1 / (1 - t)}, tmp_path / "var.png")
    assert_png(tmp_path / "var.png")
    with pytest.raises(DataError, match="TSI"):
        plots.plot_estimator_variance(t, {"TSI": np.ones(3)})
