"""The package's shape, checked: small modules, tests that use only public names, and a
fresh docs/architecture.md (import cycles: test_no_import_cycles.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "spec_graph"
TESTS = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_400_lines(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (split it by job)"


def test_tests_import_only_public_names():
    private = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spec_graph"):
                module = node.module or ""
                names = [alias.name for alias in node.names]
                if any(part.startswith("_") for part in module.split(".")) or any(
                    n.startswith("_") for n in names
                ):
                    private.append(f"{path.relative_to(TESTS)}:{node.lineno} {module} {names}")
    assert private == [], "tests import private names:\n" + "\n".join(private)


def test_the_architecture_doc_is_generated_from_this_code():
    proc = subprocess.run(
        [sys.executable, "docs/architecture.py", "--check"],
        cwd=PACKAGE.parent, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
