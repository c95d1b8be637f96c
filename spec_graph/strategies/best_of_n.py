"""Step-level best-of-n (SpecCoT-style): k draft candidates per step, the target picks one.

Per step the draft writes ``k`` candidates in one batch (sampled, so they differ); the target
sees the chain so far and the candidates as options 1..k plus "none is correct" and names one
with a single greedy token. None correct (or no option number read): the target writes the
step itself.

Graph::

    START -> draft (k candidates) -> select --picked: keep--> draft ... --> answer -> END
               |                       +--none--> correct --+
               +--(all empty)--------------------> correct
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from typing_extensions import override

from spec_graph import nodes
from spec_graph.nodes import SpecContext
from spec_graph.nodes.choices import CandidatesState
from spec_graph.selection import MAX_OPTIONS
from spec_graph.state import SpecState
from spec_graph.strategies._base import NodeSpec, SpeedBound, Strategy, StrategySettings
from spec_graph.strategies.specreason import step_bound

__all__ = ["BestOfN", "BestOfNSettings", "BestOfNState"]

_AFTER = ("draft", "correct", "answer")


class BestOfNSettings(StrategySettings):
    """How many candidates per step and how they are sampled."""

    k: int = Field(default=2, ge=1, le=MAX_OPTIONS)
    temperature: float = Field(default=0.6, ge=0.0, le=2.0)
    """Sampling of the candidates (at 0 all k would be the same text)."""


class BestOfNState(CandidatesState, total=False):
    """Best-of-n's channels: the shared ones plus the candidates of the current step."""


class BestOfN(Strategy):
    """k candidates per step; the target picks one or writes the step."""

    name = "best-of-n"
    summary = "draft writes k candidates per step; the target picks one or writes the step"
    Settings = BestOfNSettings
    State = BestOfNState
    entries = ("draft", "correct")

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "draft": (nodes.draft_candidates, ("select", "correct")),
            "select": (nodes.select_candidate, _AFTER),
            "correct": (nodes.correct, _AFTER),
            "answer": (nodes.answer, ()),
        }

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "correct" if nodes.warming_up(state, ctx) else "draft"

    @override
    def bound(self, mode: Any, base: Any, draft_tok_s: float | None) -> SpeedBound | None:
        """The step bound, with the draft's speed measured in this mode (k in one batch)."""
        return step_bound(mode, base, mode.draft_tok_s)
