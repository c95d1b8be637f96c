"""`build_graph`: compile a strategy's graph with any of its nodes replaced or wrapped.

Each strategy (`spec_graph.strategies`) wires the shared node library into its own
`StateGraph`; this is the short way to get one::

    graph = build_graph(draft=my_draft)                    # SpecReason with your draft node
    graph = build_graph("scot", select=my_selector)         # SCoT with your own selector

Nodes route themselves with `langgraph.types.Command` (`spec_graph.nodes.keep`,
`spec_graph.nodes.decide`) instead of conditional edges, and the judge keeps what it accepts:
an accepted SpecReason step is two supersteps (draft, judge) and no branch re-reads the
state, which keeps the graph's own cost under ~1 ms per step on a 2-core CPU
(``benchmarks/overhead.py``).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from spec_graph.strategies import get_strategy

__all__ = ["build_graph"]


def build_graph(
    strategy: str = "specreason",
    *,
    checkpointer: Checkpointer = None,
    name: str | None = None,
    **nodes: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile ``strategy``'s graph with the given nodes replaced (by node name).

    A replacement is anything LangGraph accepts as a node that returns what the node it
    replaces returns: a `Command` saying where the chain goes next (wrap the default, or end
    with `spec_graph.nodes.keep` / `spec_graph.nodes.decide`); ``answer`` returns a plain
    update and the run ends after it. An unknown node name is a `UserError` listing the
    strategy's nodes.

    Args:
        strategy: a registered strategy name (default ``specreason``).
        checkpointer: a LangGraph checkpointer, to persist and resume long chains.
        name: the compiled graph's name (shown in traces).
        **nodes: node overrides, e.g. ``draft=...``, ``judge=...``, ``select=...``.
    """
    return get_strategy(strategy).build(checkpointer=checkpointer, name=name, **nodes)
