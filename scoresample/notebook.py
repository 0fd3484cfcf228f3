"""Figures that are saved to a file always and shown inline when run in a notebook.

The tutorials are scripts in jupytext's percent format. As a script a tutorial draws
with Agg (no window) and saves its figures; opened as a notebook (``jupytext --to
ipynb``, ``pip install 'scoresample[notebooks]'``) it keeps the kernel's inline backend
and each saved figure is also displayed in its cell.

Example:
    >>> from scoresample.notebook import save_figure, use_backend
    >>> use_backend()  # before importing matplotlib.pyplot
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> save_figure(fig, "out/figure.png", dpi=110)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell started by ``IPKernelApp``)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


def use_backend() -> None:
    """Agg (files only) in a script; the kernel's inline backend in a notebook. Call it
    before ``import matplotlib.pyplot``."""
    if not in_notebook():
        matplotlib.use("Agg")


def save_figure(fig, path: str | Path, **savefig_options) -> None:
    """Save ``fig`` to ``path`` (``savefig_options`` such as ``dpi`` go to
    ``Figure.savefig``), display it inline in a notebook, then close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, **savefig_options)
    if in_notebook():
        from IPython.display import display

        display(fig)
    plt.close(fig)
