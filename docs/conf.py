"""Sphinx configuration of the scoresample documentation (``docs/build``).

The API reference, the tutorial pages and the model zoo are generated from the repository
at build time (``_ext/pages.py``): docstrings, the tutorials' jupytext scripts with the
figures and tables of their full-size runs, and each ``models/`` config with its header.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import scoresample  # noqa: E402

project = "scoresample"
author = "scoresample developers"
copyright = "2026, scoresample developers"
release = version = scoresample.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
    "sphinxarg.ext",
    "sphinx_copybutton",
    "pages",
]

templates_path = ["_templates"]  # autosummary pages titled by the short name
# "--out" stays two hyphens in the command-line reference.
smartquotes = False
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
# .rst first: autosummary writes its stub pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# MyST: $...$ and $$...$$ as in the tutorials' markdown cells.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# Tutorial pages are rendered from the scripts, not executed: their figures and tables are
# those of the full-size runs the tutorials README records (executing them takes an hour).
nb_execution_mode = "off"

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# Signatures carry jaxtyping annotations (Float[Array, "n d"]); keep them as written.
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

html_theme = "sphinx_book_theme"
html_title = f"scoresample {version}"
html_theme_options = {
    "repository_url": "https://github.com/scoresample/scoresample",
    "use_repository_button": False,
    "show_toc_level": 2,
}
html_static_path = []
