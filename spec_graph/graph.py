"""Build the speculate -> judge -> correct `StateGraph`.

::

    START -> draft -> judge --score >= threshold: keep it-----+
      |        |        +----score < threshold---> correct --+
      |        +--(draft-only: keep it)----------------------+--> next step ... --> answer -> END
      +--(warm-up, target-only)--> correct ------------------+

Strategies (``specreason``, ``target-only``, ``draft-only``) are settings of this one graph,
read from the run's context, so baselines and the speculative run share every line of code.

Nodes route themselves with `langgraph.types.Command` (`spec_graph.nodes.keep` and
`spec_graph.nodes.decide`) instead of conditional edges, and the judge keeps what it accepts
instead of handing it to a node of its own: an accepted step is two supersteps (draft, judge)
and no branch re-reads the state. That took the graph's own cost from ~2.3 ms to under 1 ms
per step on a 2-core CPU (``benchmarks/overhead.py``).
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
    correct: Any = None,
    answer: Any = None,
    checkpointer: Checkpointer = None,
    name: str = "spec-graph",
) -> CompiledStateGraph[SpecState, SpecContext, SpecState, SpecState]:
    """Compile the graph, with any node replaced by your own.

    A replacement is anything LangGraph accepts as a node (an async function of ``(state)``
    or ``(state, runtime)``, a Runnable) that returns what the node it replaces returns: a
    `Command` saying where the chain goes next. Wrapping the default is the easy way (e.g.
    retrieve documents, then ``return await spec_graph.nodes.draft(state, runtime)``); a judge
    of your own scores the candidate and ends with `spec_graph.nodes.decide`. ``answer`` is
    the exception: it returns a plain update and the run ends after it.

    Args:
        draft, judge, correct, answer: node overrides (default: `spec_graph.nodes`).
        checkpointer: a LangGraph checkpointer, to persist and resume long chains.
        name: the compiled graph's name (shown in traces).
    """
    builder = StateGraph(SpecState, context_schema=SpecContext)
    after_step = ("draft", "correct", "answer")  # where `nodes.keep` may send the chain
    builder.add_node("draft", draft or nodes.draft, destinations=("judge", *after_step))
    builder.add_node("judge", judge or nodes.judge, destinations=after_step)
    builder.add_node("correct", correct or nodes.correct, destinations=after_step)
    builder.add_node("answer", answer or nodes.answer)
    builder.add_conditional_edges(START, nodes.start_condition)
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer, name=name)
