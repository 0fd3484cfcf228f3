"""Running a tutorial in quick mode, shared by the tutorial tests.

A tutorial runs as a script in a subprocess: ``SCORESAMPLE_QUICK=1``, output in a given
folder, cwd the repository root, rank promotion raising as in the tests, optionally with
the tests' quick XLA compilation (``compile_flags``: it cuts the time of runs bound by
compilation, and slows those bound by execution). Its findings are then read from its
``results.json``. With ``notebook=True`` the subprocess converts it with jupytext and
executes it in a Jupyter kernel (nbclient), as a notebook user would, and writes the
executed notebook beside its outputs (``<name>.ipynb``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import compile_flags

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 900
#: Run in a subprocess with the tutorial's path and the executed notebook's path: the
#: kernel inherits the subprocess's environment and runs in the repository root.
_AS_NOTEBOOK = """
import sys, jupytext, nbclient, nbformat
notebook = jupytext.read(sys.argv[1])
nbclient.NotebookClient(notebook, timeout=None, resources={"metadata": {"path": "."}}).execute()
nbformat.write(notebook, sys.argv[2])
"""


def start(
    name: str, out: Path, log: IO, cheap_compilation: bool, notebook: bool = False
) -> subprocess.Popen:
    """Start ``tutorials/<name>.py`` in quick mode (as a script, or as a notebook),
    writing into ``out`` and ``log``."""
    env = os.environ | {
        "SCORESAMPLE_QUICK": "1",
        "SCORESAMPLE_OUT": str(out),
        "JAX_NUMPY_RANK_PROMOTION": "raise",
    }
    flags = os.environ.get("XLA_FLAGS", "")
    quick = cheap_compilation and os.environ.get("SCORESAMPLE_TEST_XLA_DEFAULTS") != "1"
    set_flags = compile_flags.with_quick if quick else compile_flags.without_quick
    env["XLA_FLAGS"] = set_flags(flags)
    script = f"tutorials/{name}.py"
    command = [sys.executable, script]
    if notebook:
        command = [sys.executable, "-c", _AS_NOTEBOOK, script, str(out / f"{name}.ipynb")]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def finish(process: subprocess.Popen, name: str, out: Path, log_path: Path) -> tuple[dict, Path]:
    """Wait for a started tutorial; return its results and output folder."""
    returncode = process.wait(timeout=TIMEOUT_S)
    assert returncode == 0, log_path.read_text()[-4000:]
    folder = out / name
    return json.loads((folder / "results.json").read_text()), folder


def run(name: str, out: Path, cheap_compilation: bool, notebook: bool = False) -> tuple[dict, Path]:
    """Run ``tutorials/<name>.py`` in quick mode to the end (as a notebook: see ``start``)."""
    log_path = out / f"{name}.log"
    with open(log_path, "w") as log:
        process = start(name, out, log, cheap_compilation, notebook)
        return finish(process, name, out, log_path)


def notebook_images(path: Path) -> int:
    """The number of PNG images among the outputs of the executed notebook at ``path``."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    outputs = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return sum("image/png" in o.get("data", {}) for o in outputs)


def assert_figures(folder: Path, names: list[str]) -> None:
    """Each named figure was written and is not empty."""
    for name in names:
        path = folder / f"{name}.png"
        assert path.exists() and path.stat().st_size > 10_000, path
