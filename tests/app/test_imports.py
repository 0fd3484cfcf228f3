"""``import scoresample`` and the command's ``--help`` load no heavy dependency: the
package's names load on first use (PEP 562), and each one resolves."""

import ast
import subprocess
import sys

import pytest

import scoresample

#: In a fresh interpreter: import, ask for help, then use a name that needs JAX, printing
#: after each step which heavy modules are loaded.
PROBE = """
import sys
def loaded():
    print("loaded:", sorted({"jax", "arviz", "matplotlib", "numpyro"} & set(sys.modules)))
import scoresample
loaded()
from scoresample.app.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
loaded()
scoresample.VE
loaded()
"""


def test_import_and_help_load_no_heavy_dependency():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("loaded: ")]
    after_import, after_help, after_use = (ast.literal_eval(line[8:]) for line in lines)
    assert after_import == after_help == []
    assert after_use == ["jax"]  # negative control: the probe sees what a first use loads


def test_every_public_name_resolves():
    for name in scoresample.__all__:
        assert getattr(scoresample, name) is not None, name
    assert set(scoresample.__all__) <= set(dir(scoresample))
    assert scoresample.run is scoresample.samplers.run
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        scoresample.no_such_name  # noqa: B018
