"""The HTML report renders in a real browser with its images."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from browser import render

from scoresample.app.report import Figure, Report, format_number, render_html


def test_report_renders_with_images_and_escapes_text(tmp_path):
    (tmp_path / "plots").mkdir()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    fig.savefig(tmp_path / "plots" / "a.png")
    plt.close(fig)
    report = Report(
        title="run <1>",
        columns=[("label", "sampler"), ("mmd", "MMD")],
        rows=[{"label": "mala", "mmd": (0.012, 0.003)}],
        warnings=["R-hat 1.2 > 1.01 for x[0]"],
        figures=[Figure("plots/a.png", "samples"), Figure("plots/missing.png", "gone")],
        config_toml='seed = 0\n[target]\nname = "gmm40"\n',
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(report))
    text = page.read_text()
    assert "run &lt;1&gt;" in text and "floor 0.003" in text and "R-hat 1.2" in text
    result = render(page)
    assert result["title"] == "run <1>"
    assert result["images"] == [["plots/a.png", True], ["plots/missing.png", False]]


def test_format_number():
    assert format_number(None) == "-"
    assert format_number(12345) == "12,345"
    assert format_number(0.000123) == "1.23e-04"
    assert format_number(3.14159) == "3.14"
    assert format_number(1663.7) == "1,664"
    assert format_number(True) == "yes"
