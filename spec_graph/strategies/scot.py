"""SCoT, Speculative Chain-of-Thought: n whole draft chains, the target picks one or rethinks.

The draft writes ``n`` chains of thought in one batch (temperature 0.6, each until it is done
or ``max_chain_tokens``). The target sees the problem and the chains as options 1..n plus
"n+1: all of the above are wrong" and names one with a single greedy token
(`spec_graph.judging.picker.OptionPicker`). Chosen: the chain is kept and the target writes the
final answer after it. All wrong (or no option number read): the target reasons from scratch
itself, then answers.

Graph::

    START -> draft (n chains) -> select --chosen--> answer (by the target) -> END
                  |                 +--all wrong--> correct -> correct ... -> answer
                  +--(no usable draft)------------> correct
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from pydantic import Field
from typing_extensions import override

from spec_graph import nodes
from spec_graph.judging.picker import MAX_OPTIONS
from spec_graph.nodes import SpecContext
from spec_graph.nodes.settings import ChainSettings, SampledSettings
from spec_graph.state import ChainsState, DraftChain, SpecState
from spec_graph.strategies.base import NodeSpec, Strategy, StrategySettings

__all__ = ["ChainsState", "DraftChain", "SCoT", "SCoTSettings", "SCoTState"]


class SCoTSettings(ChainSettings, SampledSettings, StrategySettings):
    """How many chains, how they are sampled, how long each may be."""

    n: int | None = Field(default=None, ge=1, le=MAX_OPTIONS)
    """Draft chains per question; None: 5 when the draft is served by vLLM, else 2 (a 2-core
    CPU gains little from batching more)."""
    temperature: float = Field(default=0.6, ge=0.0, le=2.0)
    """Sampling of the drafts (diversity is the point; SCoT uses 0.6)."""
    max_chain_tokens: int = Field(default=1024, ge=1)
    """Per-chain token cap (also bounded by ``token_budget``)."""


class SCoTState(ChainsState, total=False):
    """SCoT's channels: the shared ones plus the drafted chains."""


async def answer(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """After a chosen draft chain the target writes the answer; after rethinking, as usual."""
    if not (state.get("telemetry") or {}).get("rethought", True):
        return await nodes.target_answer(state, runtime)
    return await nodes.answer(state, runtime)


class SCoT(Strategy):
    """Thought-level speculation: select among whole draft chains."""

    name = "scot"
    summary = "draft writes n whole chains; the target picks one or rethinks from scratch"
    Settings = SCoTSettings
    State = SCoTState
    entries = ("draft",)
    tool_steps = False  # whole chains, no single kept steps

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "draft": (nodes.draft_chains, ("select", "correct")),
            "select": (nodes.select_chain, ("answer", "correct")),
            "correct": (nodes.correct, ("correct", "answer")),
            "answer": (answer, ()),
        }

    @override
    def first_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "draft"

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "correct"  # only rethinking writes step by step

    @override
    def telemetry(self, state: Mapping[str, Any]) -> dict[str, Any]:
        found = dict(state.get("telemetry") or {})
        found.pop("draft_wall_s", None)
        return found
