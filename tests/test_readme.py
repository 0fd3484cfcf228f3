"""The README's set-up commands and CI stay in step."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    assert text.index("```bash") < text.index("\n## ")
    assert len(_readme_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _readme_commands()[1]
    assert "pytest" in test_command
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_python_example_runs(tmp_path, monkeypatch):
    """The README's Python examples run, in order, in one namespace (at a small size:
    fewer samples and steps)."""
    text = (ROOT / "README.md").read_text()
    code = "".join(block.split("```", 1)[0] for block in text.split("```python\n")[1:])
    small = {
        "20_000": "500",
        "steps=4000": "steps=20",
        "n_steps_per_level=50": "n_steps_per_level=2",
        '"nuts")': '"nuts", num_warmup=50, num_samples=50)',
        "num_warmup=500, num_samples=500, num_chains=4": (
            "num_warmup=50, num_samples=50, num_chains=2, progress_bar=False"
        ),
    }
    for big, little in small.items():
        assert big in code, big
        code = code.replace(big, little)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
