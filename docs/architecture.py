"""Regenerate the generated parts of docs/architecture.md from the code as it is.

    python docs/architecture.py           # rewrite the generated sections in place
    python docs/architecture.py --check   # exit 1 if they are stale (the tests run this)

Two sections are generated, between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``:
``modules`` (every module with the first line of its docstring) and ``layers`` (the
package-level import graph in layers, each importing only from the ones below it, plus the
module-level import graph's cycles, late imports counted). The prose around them is written
by hand. It reads the source with `ast`, imports nothing, so it also works on a broken tree.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spec_graph"
DOC = ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    """``spec_graph/a/b.py`` -> ``spec_graph.a.b``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name, sorted."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _typing_only(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return skipped


def import_graph(known: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at module level or inside functions.

    Imports under ``if TYPE_CHECKING:`` are left out (they never run). ``from a import b``
    lands on module ``a.b`` when that is a module, else on ``a``.
    """
    known = modules() if known is None else known
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text())
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skipped = _typing_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                owner = _owner(target, known) if target.startswith("spec_graph") else None
                if owner and owner != name:
                    graph[name].add(owner)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def unit(name: str) -> str:
    """The unit a module belongs to in the layer view: its subpackage, or itself."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else name


def unit_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between units (subpackages and top-level modules), the root left out.

    ``spec_graph/__init__`` re-exports the public API, so it imports everything and nothing
    inside imports it; leaving it out keeps the layers readable.
    """
    units: dict[str, set[str]] = {}
    for source, targets in graph.items():
        if source == "spec_graph":
            continue
        mine = units.setdefault(unit(source), set())
        mine |= {unit(t) for t in targets if t != "spec_graph" and unit(t) != unit(source)}
    return units


def layers(units: dict[str, set[str]]) -> list[list[str]]:
    """Units by layer: layer 0 imports no unit, layer k only units of layers below k.

    A unit in a package-level cycle gets no layer; `cycles` of the unit graph names it.
    """
    level: dict[str, int] = {}
    remaining = dict(units)
    while remaining:
        ready = [u for u, deps in remaining.items() if all(d in level for d in deps)]
        if not ready:
            break
        for u in ready:
            level[u] = 1 + max((level[d] for d in remaining[u]), default=-1)
            del remaining[u]
    by_level: dict[int, list[str]] = {}
    for u, k in level.items():
        by_level.setdefault(k, []).append(u)
    return [sorted(by_level[k]) for k in sorted(by_level)]


def first_line(path: Path) -> str:
    """The first line of a module's docstring (what it is for), or a marker when missing."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or "(no docstring)"
    return doc.strip().splitlines()[0]


def _short(name: str) -> str:
    return name.removeprefix("spec_graph.") if name != "spec_graph" else "spec_graph"


def modules_section(known: dict[str, Path]) -> str:
    """The module map: one row per module and its docstring's first line."""
    rows = ["| module | what it is for |", "|---|---|"]
    for name, path in known.items():
        summary = first_line(path).replace("|", "\\|")
        rows.append(f"| `{_short(name)}` | {summary} |")
    return "\n".join(rows)


def layers_section(graph: dict[str, set[str]]) -> str:
    """The layers of the unit graph and the cycles of the module graph, as markdown."""
    units = unit_graph(graph)
    out = [
        "Each row imports only from rows above it (the root package, which re-exports the",
        "public API, is left out). Counted: module-level and function-level imports.",
        "",
        "| layer | units | imports |",
        "|---:|---|---|",
    ]
    for k, row in enumerate(layers(units)):
        for u in row:
            deps = ", ".join(f"`{_short(d)}`" for d in sorted(units[u])) or "-"
            out.append(f"| {k} | `{_short(u)}` | {deps} |")
    placed = {u for row in layers(units) for u in row}
    unplaced = sorted(set(units) - placed)
    if unplaced:
        out.append(
            f"| - | on or above a cycle: {', '.join(f'`{_short(u)}`' for u in unplaced)} | |"
        )
    module_cycles = cycles(graph)
    unit_cycles = cycles(units)
    out.append("")
    out.append(f"Import cycles between modules: {len(module_cycles)}"
               f" (largest: {max((len(c) for c in module_cycles), default=0)} modules); "
               f"between units: {len(unit_cycles)}.")  # fmt: skip
    for c in module_cycles + unit_cycles:
        out.append(f"- cycle: {', '.join(f'`{_short(m)}`' for m in c)}")
    return "\n".join(out)


def render(text: str) -> str:
    """``text`` (the doc) with its generated sections replaced by fresh ones."""
    known = modules()
    graph = import_graph(known)
    sections = {"modules": modules_section(known), "layers": layers_section(graph)}
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end: {name} -->)", flags=re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC} has no '<!-- generated: {name} -->' section")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    """Rewrite the doc, or with ``--check`` say whether it is up to date (exit 1 if not)."""
    current = DOC.read_text()
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print(f"{DOC} is stale: run `python docs/architecture.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
