"""Render an HTML file in headless Chromium and report which images loaded.

The page is copied beside the original with a small script that records, after the
load event, every image's ``src`` and whether it decoded (``naturalWidth > 0``);
``--dump-dom`` then prints the DOM with that record.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=5000",
]
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images].map(
    i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);
  const h1 = document.querySelector('h1');
  document.body.setAttribute('data-render', JSON.stringify(
    {images: imgs, title: document.title, h1: h1 ? h1.textContent : null}));
});</script>"""


def chromium() -> str:
    """Path of a Chromium binary, or skip the test where none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium installed (.ci/run installs Debian's chromium)")


def render(page: Path) -> dict:
    """``{"images": [[src, loaded], ...], "title": ..., "h1": ...}`` for ``page`` in
    Chromium (``h1``: the first heading's text, or None)."""
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        with tempfile.TemporaryDirectory() as profile:
            out = subprocess.run(
                [
                    chromium(),
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--dump-dom",
                    probe.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            ).stdout
    finally:
        probe.unlink(missing_ok=True)
    match = re.search(r'data-render="([^"]*)"', out)
    assert match, "the page did not finish loading in Chromium"
    return json.loads(html.unescape(match.group(1)))
