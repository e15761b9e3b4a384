"""The ecosystem's linters and formatters, run by the test command (and so by CI)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "snakefmt"), "--check", "workflow"],
        [sys.executable, "-m", "snakemake", "--lint", "--cores", "1"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt", "snakemake-lint"],
)
def test_clean(command):
    r = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    if "--lint" in command:
        assert "Congratulations, your workflow is in a good condition!" in r.stdout + r.stderr


def package_imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports (at any depth of its code)."""
    import ast

    src = ROOT / "src" / "backprop86"
    names = {}
    for f in src.rglob("*.py"):
        parts = ("backprop86", *f.relative_to(src).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {}
    for name, f in names.items():
        here = name.split(".") if f.name == "__init__.py" else name.split(".")[:-1]
        graph[name] = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for t in (target, *(f"{target}.{a.name}" for a in node.names)):
                    if t in names and t != name:
                        graph[name].add(t)
    return graph


def test_no_import_cycles():
    graph = package_imports()
    assert graph["backprop86.experiments"] >= {"backprop86.learning", "backprop86.tasks"}, (
        "the check sees imports"
    )
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for dep in sorted(graph[name]):
            assert dep not in path, "import cycle: " + " -> ".join(path[path.index(dep) :] + [dep])
            if dep not in done:
                visit(dep, path + [dep])
        done.add(name)

    for name in sorted(graph):
        visit(name, [name])
