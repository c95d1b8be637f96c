"""No import cycle among `spec_graph` modules, counting late (function-level) imports too.

Imports under ``if TYPE_CHECKING:`` are not counted (they never run). A cycle here means a
module reaches back up the layers (e.g. config -> strategies -> nodes -> config), which is
what the deprecation shims and the registries exist to avoid. The import graph is the one
docs/architecture.py draws (one walker for the doc and the check).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "docs" / "architecture.py"


def _architecture():
    spec = importlib.util.spec_from_file_location("architecture_doc", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_is_no_import_cycle():
    doc = _architecture()
    cycles = doc.cycles(doc.import_graph())
    assert cycles == [], f"import cycles: {cycles}"


def test_the_checker_finds_a_cycle():
    doc = _architecture()
    assert doc.cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_the_walker_sees_late_imports():
    # a function-level import is an edge (it runs), one under TYPE_CHECKING is not
    doc = _architecture()
    graph = doc.import_graph()
    assert "spec_graph.nodes.context" not in graph["spec_graph.judging.contract"]
    assert graph["spec_graph.cli.tune"] >= {"spec_graph.tuning"}
