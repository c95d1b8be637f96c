"""Graph state and the run's result: every step with who wrote it, its score and its cost.

The state is a ``TypedDict`` of plain, serialisable values (pydantic records inside) so any
LangGraph checkpointer can persist a long chain and resume it.
"""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.prompts import ChatMessage

__all__ = [
    "Candidate",
    "ReasoningResult",
    "RunTotals",
    "SpecState",
    "Step",
    "StopReason",
    "summarize",
]

StepSource = Literal["draft", "target"]
StopReason = Literal["boxed", "finished", "budget", "max_steps", "repetition"]


class Candidate(BaseModel):
    """A step the draft has written and the judge has (maybe) scored; not yet in the chain."""

    model_config = ConfigDict(frozen=True)

    text: str
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    draft_s: float = 0.0
    score: float | None = None
    digit_probs: dict[str, float] = Field(default_factory=dict)
    judged: bool = False
    judge_prompt_tokens: int = 0
    judge_cached_tokens: int = 0
    judge_s: float = 0.0


class Step(BaseModel):
    """One step of the chain of thought, as kept."""

    model_config = ConfigDict(frozen=True)

    index: int
    text: str
    source: StepSource
    """``draft``: accepted draft step; ``target``: written by the target (correction/warm-up)."""
    judged: bool = False
    """The judge scored the draft for this step (accepted or rejected)."""
    score: float | None = None
    """The judge's score of the draft step (None if not judged or no digit in its top-k)."""
    digit_probs: dict[str, float] = Field(default_factory=dict)
    rejected_draft: str | None = None
    """The draft's text when the judge rejected it and the target rewrote the step."""
    draft_tokens: int = 0
    target_tokens: int = 0
    draft_prompt_tokens: int = 0
    draft_cached_tokens: int = 0
    judge_prompt_tokens: int = 0
    judge_cached_tokens: int = 0
    correct_prompt_tokens: int = 0
    correct_cached_tokens: int = 0
    draft_s: float = 0.0
    judge_s: float = 0.0
    correct_s: float = 0.0

    @property
    def tokens(self) -> int:
        """Tokens of the kept text (what counts against the budget)."""
        return self.draft_tokens if self.source == "draft" else self.target_tokens


class SpecState(TypedDict, total=False):
    """LangGraph state of one reasoning run."""

    question: str
    messages: list[ChatMessage]
    """The conversation both models continue; built from ``question`` when absent."""
    steps: Annotated[list[Step], operator.add]
    candidate: Candidate | None
    answer: str | None
    answer_tokens: int
    answer_prompt_tokens: int
    answer_s: float
    stop_reason: StopReason | None


class RunTotals(BaseModel):
    """Totals over a run, derived from its steps."""

    steps: int
    draft_steps: int
    target_steps: int
    judged_steps: int
    accepted_steps: int
    rejected_steps: int
    acceptance_rate: float | None
    """Accepted / judged draft steps (None when nothing was judged)."""
    draft_tokens: int
    target_tokens: int
    draft_prompt_tokens: int
    target_prompt_tokens: int
    """Prompt tokens of every target call: judge, correct and answer."""
    cached_prompt_tokens: int
    """Prompt tokens served from the servers' prefix caches (both models)."""
    judge_calls: int
    judge_prompt_tokens: int
    judge_cached_tokens: int
    draft_s: float
    judge_s: float
    correct_s: float
    answer_s: float
    wall_s: float


class ReasoningResult(BaseModel):
    """What a run returns: the chain, the answer, and what it cost."""

    question: str
    strategy: str
    draft_model: str
    target_model: str
    steps: list[Step]
    answer: str | None
    stop_reason: StopReason | None
    totals: RunTotals


def summarize(state: SpecState, wall_s: float) -> RunTotals:
    """Aggregate telemetry over the steps (one definition of every total)."""
    steps = state.get("steps", [])
    judged = [s for s in steps if s.judged]
    accepted = [s for s in judged if s.source == "draft"]
    return RunTotals(
        steps=len(steps),
        draft_steps=sum(s.source == "draft" for s in steps),
        target_steps=sum(s.source == "target" for s in steps),
        judged_steps=len(judged),
        accepted_steps=len(accepted),
        rejected_steps=len(judged) - len(accepted),
        acceptance_rate=len(accepted) / len(judged) if judged else None,
        draft_tokens=sum(s.draft_tokens for s in steps),
        target_tokens=sum(s.target_tokens for s in steps) + state.get("answer_tokens", 0),
        draft_prompt_tokens=sum(s.draft_prompt_tokens for s in steps),
        target_prompt_tokens=sum(s.judge_prompt_tokens + s.correct_prompt_tokens for s in steps)
        + state.get("answer_prompt_tokens", 0),
        cached_prompt_tokens=sum(
            s.draft_cached_tokens + s.judge_cached_tokens + s.correct_cached_tokens for s in steps
        ),
        judge_calls=len(judged),
        judge_prompt_tokens=sum(s.judge_prompt_tokens for s in steps),
        judge_cached_tokens=sum(s.judge_cached_tokens for s in steps),
        draft_s=sum(s.draft_s for s in steps),
        judge_s=sum(s.judge_s for s in steps),
        correct_s=sum(s.correct_s for s in steps),
        answer_s=state.get("answer_s", 0.0),
        wall_s=wall_s,
    )
