"""Build the speculate -> judge -> correct `StateGraph`.

::

    START -> draft -> judge --score >= threshold--> accept --+
      |        |        +----score < threshold---> correct --+
      |        +--(draft-only)--> accept                     +--> next step ... --> answer -> END
      +--(warm-up, target-only)--> correct ------------------+

Strategies (``specreason``, ``target-only``, ``draft-only``) are settings of this one graph,
read from the run's context, so baselines and the speculative run share every line of code.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from spec_graph import nodes
from spec_graph.nodes import SpecContext
from spec_graph.state import SpecState

__all__ = ["build_graph"]


def build_graph(
    *,
    draft: Any = None,
    judge: Any = None,
    accept: Any = None,
    correct: Any = None,
    answer: Any = None,
    checkpointer: Checkpointer = None,
    name: str = "spec-graph",
) -> CompiledStateGraph[SpecState, SpecContext, SpecState, SpecState]:
    """Compile the graph, with any node replaced by your own.

    A replacement is anything LangGraph accepts as a node (an async or sync function of
    ``(state)`` or ``(state, runtime)``, a Runnable) returning the same state update as the
    node it replaces; e.g. wrap `spec_graph.nodes.draft` to retrieve documents first.

    Args:
        draft, judge, accept, correct, answer: node overrides (default: `spec_graph.nodes`).
        checkpointer: a LangGraph checkpointer, to persist and resume long chains.
        name: the compiled graph's name (shown in traces).
    """
    builder = StateGraph(SpecState, context_schema=SpecContext)
    builder.add_node("draft", draft or nodes.draft)
    builder.add_node("judge", judge or nodes.judge)
    builder.add_node("accept", accept or nodes.accept)
    builder.add_node("correct", correct or nodes.correct)
    builder.add_node("answer", answer or nodes.answer)

    builder.add_conditional_edges(START, nodes.next_step_condition)
    builder.add_conditional_edges("draft", nodes.after_draft_condition)
    builder.add_conditional_edges("judge", nodes.verdict_condition)
    builder.add_conditional_edges("accept", nodes.next_step_condition)
    builder.add_conditional_edges("correct", nodes.next_step_condition)
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer, name=name)
