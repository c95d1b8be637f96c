"""The baselines: the target alone, and the draft alone (nobody judges).

They run through the same nodes as the speculative strategies (``correct`` is the target
writing a step, ``draft`` the draft writing one), so a speedup compares code paths that
differ only in who writes.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command
from typing_extensions import override

from spec_graph import nodes
from spec_graph.nodes import SpecContext
from spec_graph.state import SpecState
from spec_graph.strategies.base import NodeSpec, Strategy

__all__ = ["DraftOnly", "TargetOnly", "keep_draft"]


class TargetOnly(Strategy):
    """The target writes every step: the baseline for speed and accuracy."""

    name = "target-only"
    summary = "the target writes every step (the baseline)"
    entries = ("correct",)

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "correct": (nodes.correct, ("correct", "answer")),
            "answer": (nodes.answer, ()),
        }

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "correct"


async def keep_draft(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft writes the next step and it is kept as is."""
    ctx = runtime.context
    generation = await ctx.draft.generate(nodes.step_request(state, ctx, "draft"))
    candidate = nodes.draft_candidate(generation, ctx)
    return nodes.keep(state, nodes.draft_step(state, candidate), ctx)


class DraftOnly(Strategy):
    """The draft writes every step, nobody judges: the lower baseline."""

    name = "draft-only"
    summary = "the draft writes every step, unjudged (the lower baseline)"
    entries = ("draft",)

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "draft": (keep_draft, ("draft", "answer")),
            "answer": (nodes.answer, ()),
        }

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "draft"
