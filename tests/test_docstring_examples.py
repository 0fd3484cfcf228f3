"""The docstring examples of the public entry points run, as doctests, and show what they say.

Examples assume ``import jax``, ``import jax.numpy as jnp`` and ``import numpy as np``
(as the documentation's pages do) and the names of their own module; anything else they
import themselves, so a reader can paste them. The examples that compile a sampler or a
training loop (several seconds each on 2 cores) run with the slow tests.
"""

from __future__ import annotations

import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

#: Public entry points whose examples run in the default suite (under a second each)...
QUICK = [
    "scoresample.samplers.make_sampler",
    "scoresample.targets.from_log_prob",
    "scoresample.targets.from_numpyro",
    "scoresample.noise.VE",
    "scoresample.datasets.two_moons",
    "scoresample.ledger.EnergyLedger",
    "scoresample.objectives.make_objective",
    "scoresample.networks.ScoreMLP",
    "scoresample.networks.EGNNScore",
    "scoresample.networks.EGNNEnergy",
    "scoresample.diagnostics.summary",
    "scoresample.diagnostics.to_inference_data",
    "scoresample.estimators.laplace_scale",
]
#: ... and those that compile a sampler or a training loop.
SLOW = [
    "scoresample.samplers.run",
    "scoresample.samplers.refine",
    "scoresample.samplers.reweight",
    "scoresample.training.fit",
    "scoresample.data_free.fit_data_free",
    "scoresample.diagnostics.sample_quality",
]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(path: str) -> list[doctest.DocTest]:
    module_name, name = path.rsplit(".", 1)
    module = importlib.import_module(module_name)
    obj = getattr(module, name)
    home = importlib.import_module(obj.__module__)
    globs = vars(home) | {"jax": jax, "jnp": jnp, "np": np}
    found = doctest.DocTestFinder(recurse=False).find(obj, path, globs=globs)
    return [test for test in found if test.examples]


def check_examples(path: str) -> None:
    tests = _examples(path)
    assert tests, f"{path} has no example in its docstring"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


@pytest.mark.parametrize("path", QUICK)
def test_quick_examples(path):
    check_examples(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", SLOW)
def test_examples_that_compile(path):
    check_examples(path)


def test_a_wrong_example_fails():
    """Negative control: an example whose shown output is wrong is reported."""

    def wrong():
        """
        >>> 1 + 1
        3
        """

    test = doctest.DocTestFinder().find(wrong, "wrong", globs={})[0]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=lambda _: None)
    assert runner.failures == 1
