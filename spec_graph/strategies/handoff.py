"""Hand-off (Speculative Thinking): the draft reasons; the target takes over for a span.

The draft writes each step with its own token log-probabilities. Two triggers hand the pen
to the target for one span (a step of at most ``span_tokens``), after which the draft
continues:

- a reflection cue: the draft's new step starts with one of ``cues`` ("wait",
  "alternatively", "hmm", "let me check", ...); the draft's step is discarded and the target
  writes that step (the reflection) itself;
- low confidence: the step's mean token log-probability is below ``min_mean_logprob``; the
  step is kept and the target writes the next span.

No judge call is ever made.

Graph::

    START -> draft --plain: keep--> draft ... --> answer -> END
               |--cue--> span (target) --+
               +--low confidence: keep--> span --+
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import Field
from typing_extensions import override

from spec_graph import nodes
from spec_graph.nodes import SpecContext
from spec_graph.state import Candidate, SpecState
from spec_graph.strategies.base import NodeSpec, Strategy, StrategySettings

__all__ = ["HandOff", "HandOffSettings", "cue_in"]

_AFTER = ("draft", "span", "answer")


class HandOffSettings(StrategySettings):
    """When the target takes over, and for how long."""

    cues: tuple[str, ...] = ("wait", "alternatively", "hmm", "let me check", "let me verify")
    """A step starting with one of these (any case) goes to the target."""
    min_mean_logprob: float | None = Field(default=-0.25, le=0.0)
    """Below this mean token log-probability the target writes the next span; None: off.

    -0.25 was the fastest hand-off on the frontier at the best hand-off accuracy (GSM8K
    300-349, default pair, greedy; docs/frontier.md): at -0.5 the 0.5B's greedy steps never
    triggered a hand-off."""
    span_tokens: int = Field(default=128, ge=1)
    """Longest span the target writes per hand-off."""


def cue_in(text: str, cues: tuple[str, ...]) -> str | None:
    """The reflection cue ``text`` starts with, or None."""
    head = re.sub(r"^[\W_]+", "", text.lower())
    for cue in cues:
        if head.startswith(cue.lower()) and not head[len(cue) : len(cue) + 1].isalpha():
            return cue
    return None


async def draft(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft writes a step; a cue or low confidence hands the next span to the target."""
    ctx = runtime.context
    options: HandOffSettings = ctx.options  # type: ignore[assignment]
    generation = await ctx.draft.generate(nodes.step_request(state, ctx, "draft", logprobs=True))
    candidate = Candidate(
        text=generation.text.strip(),
        draft=generation.usage,
        token_logprobs=generation.token_logprobs,
    )
    if not candidate.text or cue_in(candidate.text, options.cues):
        return Command(update={"candidate": candidate}, goto="span")
    logprobs = generation.token_logprobs or []
    mean = sum(logprobs) / len(logprobs) if logprobs else 0.0
    low = options.min_mean_logprob is not None and mean < options.min_mean_logprob
    note = {"mean_logprob": mean, **({"low_confidence": True} if low else {})}
    return nodes.keep(state, nodes.draft_step(state, candidate, **note), ctx)


async def span(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The target writes one bounded span, then the draft continues."""
    ctx = runtime.context
    options: HandOffSettings = ctx.options  # type: ignore[assignment]
    pending = state.get("candidate")
    reason = "low-confidence" if pending is None else ("cue" if pending.text else "empty-draft")
    step = await nodes.write_target_step(state, ctx, max_tokens=options.span_tokens, handoff=reason)
    return nodes.keep(state, step, ctx)


class HandOff(Strategy):
    """The draft reasons; the target writes a span at reflection cues or low confidence."""

    name = "handoff"
    summary = "draft reasons; the target writes a span at reflection cues or low confidence"
    Settings = HandOffSettings
    entries = ("draft",)

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "draft": (draft, _AFTER),
            "span": (span, ("draft", "answer")),  # after a span the draft always goes on
            "answer": (nodes.answer, ()),
        }

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        steps = state.get("steps", [])
        if steps and steps[-1].source == "draft" and steps[-1].note.get("low_confidence"):
            return "span"
        return "draft"

    @override
    def telemetry(self, state: Any) -> dict[str, Any]:
        handoffs = [s.note.get("handoff") for s in state.get("steps", []) if s.source == "target"]
        return {
            "handoffs": len(handoffs),
            "by_cue": handoffs.count("cue"),
            "by_low_confidence": handoffs.count("low-confidence"),
        }
