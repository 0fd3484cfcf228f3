"""Tutorial figures outside a notebook: saved, closed, nothing displayed (inside a
Jupyter kernel the slow test of tutorial 5 checks that each is shown inline)."""

import matplotlib.pyplot as plt

from scoresample.notebook import in_notebook, save_figure


def test_a_script_saves_and_closes_its_figures(tmp_path):
    assert not in_notebook()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "figure.png", dpi=50)
    assert (tmp_path / "figure.png").stat().st_size > 1000
    assert fig.number not in plt.get_fignums()
