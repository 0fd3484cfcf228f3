"""The architecture's one rule: dependencies point down, and the library never imports
the application layer (``scoresample.app``)."""

import ast
from pathlib import Path

import scoresample

PACKAGE = Path(scoresample.__file__).parent


def _imports(path: Path) -> list[str]:
    """Absolute module names that ``path`` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module
            found += [name] + [f"{name}.{alias.name}" for alias in node.names]
    return found


def test_the_library_never_imports_the_application_layer():
    offenders = {
        str(path.relative_to(PACKAGE)): name
        for path in PACKAGE.rglob("*.py")
        if "app" not in path.relative_to(PACKAGE).parts
        for name in _imports(path)
        if name == "scoresample.app" or name.startswith("scoresample.app.")
    }
    assert not offenders, offenders


def test_the_import_resolver_sees_relative_imports_of_the_app():
    # Negative control: the application layer itself imports the library relatively.
    cli = _imports(PACKAGE / "app" / "cli.py")
    assert "scoresample.errors.ScoresampleError" in cli
    assert "scoresample.app.pipeline.console.diagnose_path" in cli
