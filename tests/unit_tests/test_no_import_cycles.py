"""No import cycle among `spec_graph` modules, counting late (function-level) imports too.

Imports under ``if TYPE_CHECKING:`` are not counted (they never run). A cycle here means a
module reaches back up the layers (e.g. config -> strategies -> nodes -> config), which is
what the deprecation shims and the registries exist to avoid.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import spec_graph

ROOT = Path(spec_graph.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        base = module if path.name == "__init__.py" else module.rpartition(".")[0]
        skipped = {
            id(x)
            for n in ast.walk(tree)
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
            for b in n.body
            for x in ast.walk(b)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                name = node.module or ""
                if node.level:
                    up = base
                    for _ in range(node.level - 1):
                        up = up.rpartition(".")[0]
                    name = f"{up}.{name}" if name else up
                subs = [f"{name}.{a.name}" for a in node.names]
                named = [t for t in subs if t in modules]  # submodules imported by name
                targets = named if len(named) == len(subs) else [*named, name]
            else:
                continue
            for target in targets:
                if target.startswith("spec_graph"):
                    resolved = resolve(target)
                    if resolved and resolved != module:
                        edges[module].add(resolved)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_there_is_no_import_cycle():
    cycles = _cycles(_edges(_modules()))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
