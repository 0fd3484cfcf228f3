"""The documentation site builds with ``docs/build`` (warnings as errors) and renders in
headless Chromium: the index, the API page of ``make_sampler``, a tutorial with its figure.

Slow: the build takes 1-2 minutes on 2 cores. CI builds the site before the slow tests;
where it is not built, the fixture builds it (the docs extra must be installed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import render

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
API = SITE / "_generated" / "api" / "generated"
TUTORIALS = SITE / "_generated" / "tutorials"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        env = os.environ | {"PYTHON": sys.executable}
        subprocess.run([str(ROOT / "docs" / "build")], env=env, check=True, timeout=1200)
    return SITE


def _loaded(found: dict) -> dict[str, bool]:
    return {Path(src).name: ok for src, ok in found["images"]}


def test_index_renders_with_its_image(site):
    found = render(site / "index.html")
    assert found["h1"].startswith("scoresample")
    assert _loaded(found) == {"demo_report.png": True}


def test_api_page_of_make_sampler(site):
    found = render(API / "scoresample.samplers.make_sampler.html")
    assert found["h1"].startswith("make_sampler")
    assert "make_sampler" in found["title"]


def test_every_public_package_has_a_page(site):
    pages = {p.stem for p in (site / "_generated" / "api").glob("scoresample*.html")}
    assert {"scoresample", "scoresample.samplers", "scoresample.targets"} <= pages


def test_tutorial_page_shows_its_figure(site):
    found = render(TUTORIALS / "07_boltzmann_tsm.html")
    assert found["h1"].startswith("7. Boltzmann sampling")
    assert _loaded(found).get("07_boltzmann_tsm.png") is True


def test_every_tutorial_has_a_page_with_a_figure(site):
    scripts = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    for script in scripts:
        page = (TUTORIALS / f"{script.stem}.html").read_text()
        figure = rf'<img[^>]* src="[^"]*/{script.stem[:2]}_\w+\.png"'
        assert re.search(figure, page), f"{script.stem}: no figure on its page"


def test_cli_reference_lists_every_command(site):
    from scoresample.app.cli import build_parser

    page = (site / "cli.html").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f'id="{name}"' in page, f"the CLI page lacks {name}"
