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

from pydantic import Field

from spec_graph import nodes
from spec_graph.judging.picker import MAX_OPTIONS
from spec_graph.nodes.settings import CandidateSettings, SampledSettings
from spec_graph.state import CandidatesState
from spec_graph.strategies.base import StepLevelStrategy, StrategySettings

__all__ = ["BestOfN", "BestOfNSettings", "BestOfNState", "CandidatesState"]


class BestOfNSettings(CandidateSettings, SampledSettings, StrategySettings):
    """How many candidates per step and how they are sampled."""

    k: int = Field(default=2, ge=1, le=MAX_OPTIONS)
    temperature: float = Field(default=0.6, ge=0.0, le=2.0)
    """Sampling of the candidates (at 0 all k would be the same text)."""


class BestOfNState(CandidatesState, total=False):
    """Best-of-n's channels: the shared ones plus the candidates of the current step."""


class BestOfN(StepLevelStrategy):
    """k candidates per step; the target picks one or writes the step."""

    name = "best-of-n"
    summary = "draft writes k candidates per step; the target picks one or writes the step"
    Settings = BestOfNSettings
    State = BestOfNState
    check = "select"
    draft_node = staticmethod(nodes.draft_candidates)
    check_node = staticmethod(nodes.select_candidate)
    draft_routes = ("select", "correct")
