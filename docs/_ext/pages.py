"""Pages generated from the repository when the build starts (into ``docs/_generated``).

- ``api/``: one page per subpackage, listing every public name it exports (``dir`` of the
  package, without private names and submodules), each documented from its docstring by
  autosummary; so a name added to a package's ``__init__`` appears without editing here.
- ``tutorials/``: each ``tutorials/NN_*.py`` (jupytext percent format) as a notebook
  without outputs, followed by the figure and findings table of its full-size run from
  ``tutorials/README.md``, so the page shows what the tutorial measured.
- ``models.md``: the zoo, each config's header comment as prose and the config itself.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
from pathlib import Path

import jupytext
import nbformat

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
OUT = DOCS / "_generated"

#: Subpackages documented, in reading order, with one line each for the index.
PACKAGES = {
    "scoresample": "the names most code needs, re-exported at the top level",
    "scoresample.targets": "exact targets and their capabilities",
    "scoresample.noise": "noise processes (VE, VP) and fixed levels",
    "scoresample.networks": "equinox score and energy networks, the EGNN",
    "scoresample.objectives": "score-matching objectives and weightings",
    "scoresample.estimators": "Monte Carlo score identities, exact and importance-sampled",
    "scoresample.samplers": "BlackJAX samplers, many chains, refinement and reweighting",
    "scoresample.diagnostics": "ArviZ diagnostics, metrics beside their floors, plots",
    "scoresample.diagnostics.metrics": "sample-quality metrics and their floors",
    "scoresample.diagnostics.plots": "plots of chains, samples, scores and training",
    "scoresample.groups": "the torus and SO(3)",
    "scoresample.nonadditive": "target score matching beyond additive noise",
    "scoresample.bridges": "score identities on bridges between two laws",
    "scoresample.reference": "long-MCMC reference sets in the user cache",
    "scoresample.roles": "the protocols of what a sampler drives on",
    "scoresample.notebook": "figures that show inline in notebooks and save in scripts",
}
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
TUTORIAL_HEADING = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def public_names(package: str) -> list[str]:
    """Every public function or class that ``package`` defines or re-exports from its own
    modules (for the top-level package: from anywhere in scoresample)."""
    module = importlib.import_module(package)
    listed = getattr(module, "__all__", None) or dir(module)
    names = []
    for name in listed:
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        origin = getattr(value, "__module__", None) or ""
        home = "scoresample" if package == "scoresample" else package
        if origin != home and not origin.startswith(home + "."):
            continue  # a helper imported from elsewhere
        if not callable(value) and not isinstance(value, type):
            continue  # constants are documented where they are defined
        names.append(name)
    return sorted(names, key=str.lower)


def page_names(package: str) -> list[str]:
    """The names on ``package``'s page: its public names, less those a more specific
    listed subpackage also exports (documented once, there; the top-level page keeps its
    re-exports, which are the names most code needs)."""
    names = public_names(package)
    if package == "scoresample":
        return names
    module = importlib.import_module(package)
    deeper = [p for p in PACKAGES if p.startswith(package + ".")]
    elsewhere = {
        id(getattr(importlib.import_module(p), n)) for p in deeper for n in public_names(p)
    }
    return [n for n in names if id(getattr(module, n)) not in elsewhere]


def api_page(package: str) -> str:
    """The MyST page of ``package``: its docstring, then one autosummary table."""
    items = "\n".join(page_names(package))
    return (
        f"# `{package}`\n\n"
        f"```{{eval-rst}}\n.. automodule:: {package}\n   :no-members:\n```\n\n"
        f"```{{eval-rst}}\n.. autosummary::\n   :toctree: generated\n   :nosignatures:\n\n"
        + "\n".join(f"   {line}" for line in items.splitlines())
        + "\n```\n"
    )


def write_api() -> None:
    api = OUT / "api"
    api.mkdir(parents=True, exist_ok=True)
    entries = []
    for package, line in PACKAGES.items():
        (api / f"{package}.md").write_text(api_page(package))
        entries.append(f"- [`{package}`]({package}.md): {line}")
    toc = "\n".join(f"{p}" for p in PACKAGES)
    (api / "index.md").write_text(
        "# API reference\n\nGenerated from the docstrings: each page lists the public names "
        "of one subpackage.\n\n" + "\n".join(entries) + "\n\n"
        f"```{{toctree}}\n:hidden:\n\n{toc}\n```\n"
    )


def tutorial_sections(readme: str) -> dict[int, str]:
    """The full-size results of each tutorial: README's ``## N. Title`` sections' bodies."""
    starts = list(TUTORIAL_HEADING.finditer(readme))
    sections = {}
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(readme)
        body = readme[match.end() : end].split("\n", 1)[1]  # without the title line
        sections[int(match.group(1))] = body.strip()
    return sections


def _link_pages(text: str) -> str:
    """Links to tutorial scripts (``NN_name.py``) point to their pages."""
    return re.sub(r"\]\((\d\d_\w+)\.py\)", r"](\1.ipynb)", text)


def write_tutorials() -> None:
    src = ROOT / "tutorials"
    out = OUT / "tutorials"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src / "figures", out / "figures", dirs_exist_ok=True)
    readme = (src / "README.md").read_text()
    sections = tutorial_sections(readme)
    pages = []
    for script in sorted(src.glob("[0-9][0-9]_*.py")):
        notebook = jupytext.read(script, fmt="py:percent")
        notebook.metadata["kernelspec"] = KERNEL
        notebook.metadata["language_info"] = {"name": "python"}
        results = sections.get(int(script.name[:2]))
        if results:
            cell = "## Measured at full size\n\n" + _link_pages(results)
            notebook.cells.append(nbformat.v4.new_markdown_cell(cell))
        nbformat.write(notebook, out / f"{script.stem}.ipynb")
        pages.append(script.stem)
    intro = _link_pages(readme.split("\n## 1. ", 1)[0])
    intro = intro.replace("# Tutorials: the published experiments, reproduced", "# Tutorials", 1)
    toc = "\n".join(pages)
    (out / "index.md").write_text(intro + f"\n```{{toctree}}\n:hidden:\n\n{toc}\n```\n")


def header_and_body(path: Path) -> tuple[str, str]:
    """A config's leading comment block (as prose) and the rest of the file."""
    lines = path.read_text().splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line[1:].removeprefix(" "))
    return "\n".join(header), "\n".join(lines[len(header) :]).strip()


def write_models() -> None:
    parts = [
        "# Model zoo\n",
        "Ready-to-run configs in `models/`: `scoresample run models/NAME.toml` runs one and "
        "writes its HTML report. Each header says what the config shows and what it "
        "measured at its size.\n",
    ]
    for path in sorted((ROOT / "models").iterdir()):
        if path.suffix == ".toml":
            header, body = header_and_body(path)
            parts.append(f"## `{path.name}`\n\n{header}\n\n```toml\n{body}\n```\n")
        elif path.suffix == ".py":
            module = path.read_text()
            parts.append(f"## `{path.name}`\n\n```python\n{module.strip()}\n```\n")
    (OUT / "models.md").write_text("\n".join(parts))


def generate(app=None, config=None) -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    write_api()
    write_tutorials()
    write_models()


def skip_field_aliases(app, what, name, obj, skip, options):
    """A NamedTuple's fields are described in its docstring's Attributes, not again as the
    properties Python makes for them ("Alias for field number 0")."""
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return None


def setup(app):
    app.connect("config-inited", generate)
    app.connect("autodoc-skip-member", skip_field_aliases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
