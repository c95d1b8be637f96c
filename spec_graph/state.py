"""Graph state and the run's result: every step with who wrote it, its score and its cost.

The state is a ``TypedDict`` of plain, serialisable values (pydantic records inside) so any
LangGraph checkpointer can persist a long chain and resume it. Strategies that need more
channels extend `SpecState` in their own module (SCoT's drafts, best-of-n's candidates).

Cost is kept as `spec_graph.usage.Usage` per role on every step (``draft``, ``judge``,
``target``) and summed, never copied field by field: `summarize` is the one place totals are
derived, and the chat model and the benchmark report read `RunTotals`.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.prompts import ChatMessage
from spec_graph.usage import Usage

__all__ = [
    "Candidate",
    "CandidatesState",
    "ChainsState",
    "ContextItem",
    "DraftChain",
    "NodeRole",
    "ReasoningResult",
    "RunTotals",
    "SpecState",
    "Step",
    "StopReason",
    "summarize",
]

StepSource = Literal["draft", "target", "tool"]
NodeRole = Literal["draft", "judge", "correct", "answer"]
"""Who reads the conversation: the draft writing, the judge scoring, the target writing a step
(correction, warm-up, hand-off span), the target answering."""


class ContextItem(BaseModel):
    """Text that joins the conversation for the rest of the run: a retrieved document, a note.

    Items live in the ``context`` channel (appended, never replaced) and are rendered into the
    conversation by one function (`spec_graph.nodes.conversation`), so the draft, the judge
    and the target see the same prompt unless an item says otherwise with ``roles``.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    source: str = ""
    """Where it came from (a document id, ``retriever``, a hook's name), shown with the text."""
    roles: tuple[NodeRole, ...] | None = None
    """Who sees it; None: every role. E.g. ``("judge",)`` for a reference only the judge uses."""


StopReason = Literal["boxed", "finished", "budget", "max_steps", "repetition"]


class Candidate(BaseModel):
    """A step the draft has written and the judge has (maybe) scored; not yet in the chain."""

    model_config = ConfigDict(frozen=True)

    text: str
    draft: Usage = Usage()
    judge: Usage = Usage()
    """The judge call(s) spent on this candidate (a best-of-n pick is shared by all k)."""
    token_logprobs: list[float] | None = None
    """The draft's own per-token log-probabilities, when the strategy asked for them."""
    token_ids: list[int] | None = None
    """The draft's own tokens for the step and its delimiter (see `Step.token_ids`)."""
    token_model: str | None = None
    score: float | None = None
    digit_probs: dict[str, float] = Field(default_factory=dict)
    judged: bool = False

    @property
    def tokens(self) -> int:
        """Tokens the draft wrote."""
        return self.draft.completion_tokens


class Step(BaseModel):
    """One step of the chain of thought, as kept."""

    model_config = ConfigDict(frozen=True)

    index: int
    text: str
    source: StepSource
    """``draft``: a kept draft step; ``target``: written by the target (correction, warm-up,
    hand-off span, rethinking); ``tool``: the results of the tool calls in the step before."""
    judged: bool = False
    """The judge scored the draft for this step (accepted or rejected)."""
    score: float | None = None
    """The judge's score of the draft step (None if not judged or no verdict in its top-k)."""
    digit_probs: dict[str, float] = Field(default_factory=dict)
    rejected_draft: str | None = None
    """The draft's text when it was discarded and the target wrote the step."""
    draft: Usage = Usage()
    """Draft calls spent on this step (including a rejected draft's)."""
    judge: Usage = Usage()
    target: Usage = Usage()
    """Target calls that wrote this step (correction, hand-off span)."""
    kept_tokens: int | None = None
    """Tokens of the kept text when the role's usage covers more than it (best-of-n's k
    candidates, SCoT's n chains); None: the writing role's completion tokens."""
    note: dict[str, Any] = Field(default_factory=dict)
    """Strategy telemetry for this step, e.g. ``{"gated": True}`` or ``{"handoff": "cue"}``."""
    token_ids: list[int] | None = None
    """The exact tokens the writing model generated for this step, up to and including the
    one that completed the step delimiter: later requests continue from them instead of
    re-tokenizing ``text`` (token-exact continuation). None: unknown (a text-only server, a
    step that ended otherwise, or text edited after it was written)."""
    token_model: str | None = None
    """The model (backend ``model_name``) whose tokenizer ``token_ids`` belong to."""

    @property
    def tokens(self) -> int:
        """Tokens of the kept text (what counts against the budget)."""
        if self.kept_tokens is not None:
            return self.kept_tokens
        usage = self.draft if self.source == "draft" else self.target
        return usage.completion_tokens


class SpecState(TypedDict, total=False):
    """LangGraph state of one reasoning run (the channels every strategy shares)."""

    question: str
    messages: list[ChatMessage]
    """The conversation both models continue; built from ``question`` when absent."""
    steps: Annotated[list[Step], operator.add]
    context: Annotated[list[ContextItem], operator.add]
    """Retrieved documents and notes every prompt shows (see `ContextItem`); appended to."""
    candidate: Candidate | None
    answer: str | None
    answer_usage: Usage
    stop_reason: StopReason | None
    telemetry: dict[str, Any]
    """Strategy-level telemetry (SCoT's selection, ...), copied to the result."""


class DraftChain(BaseModel):
    """One whole chain of thought the draft wrote (SCoT)."""

    model_config = ConfigDict(frozen=True)

    text: str
    usage: Usage
    finish_reason: str | None = None


class ChainsState(SpecState, total=False):
    """The channel `spec_graph.nodes.draft_chains` fills and ``select_chain`` reads (SCoT).

    A graph using those nodes must include it: LangGraph hands a node only the channels its
    annotation names.
    """

    drafts: list[DraftChain]


class CandidatesState(SpecState, total=False):
    """The channel `spec_graph.nodes.draft_candidates` fills, ``select_candidate`` reads."""

    candidates: list[Candidate]


class RunTotals(BaseModel):
    """Totals over a run, derived from its steps (field names are the benchmark's columns)."""

    steps: int
    draft_steps: int
    target_steps: int
    judged_steps: int
    accepted_steps: int
    rejected_steps: int
    acceptance_rate: float | None
    """Accepted / judged draft steps (None when nothing was judged)."""
    gated_steps: int = 0
    """Draft steps kept without a judge call (confidence gating)."""
    tool_steps: int = 0
    """Steps carrying tool results into the chain (each may hold several calls)."""
    tool_calls: int = 0
    tool_s: float = 0.0
    """Seconds spent running tools."""
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
    """Seconds the target spent writing steps (corrections, spans, rethinking)."""
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
    telemetry: dict[str, Any] = Field(default_factory=dict)
    """The strategy's own telemetry (e.g. SCoT: per-draft tokens, selection probabilities)."""
    context: list[ContextItem] = Field(default_factory=list)
    """What hooks and retrievers added to the conversation (the ``context`` channel)."""


def summarize(state: SpecState, wall_s: float) -> RunTotals:
    """Aggregate telemetry over the steps (the one definition of every total)."""
    steps = state.get("steps", [])
    judged = [s for s in steps if s.judged]
    tools = [s for s in steps if s.source == "tool"]
    accepted = [s for s in judged if s.source == "draft"]
    draft = sum((s.draft for s in steps), Usage())
    judge = sum((s.judge for s in steps), Usage())
    written = sum((s.target for s in steps), Usage())
    answer = state.get("answer_usage", Usage())
    target = written + answer
    return RunTotals(
        steps=len(steps),
        draft_steps=sum(s.source == "draft" for s in steps),
        target_steps=sum(s.source == "target" for s in steps),
        judged_steps=len(judged),
        accepted_steps=len(accepted),
        rejected_steps=len(judged) - len(accepted),
        acceptance_rate=len(accepted) / len(judged) if judged else None,
        gated_steps=sum(bool(s.note.get("gated")) for s in steps),
        tool_steps=len(tools),
        tool_calls=sum(len(s.note.get("calls", ())) for s in tools),
        tool_s=sum(s.note.get("seconds", 0.0) for s in tools),
        draft_tokens=draft.completion_tokens,
        target_tokens=target.completion_tokens,
        draft_prompt_tokens=draft.prompt_tokens,
        target_prompt_tokens=judge.prompt_tokens + target.prompt_tokens,
        cached_prompt_tokens=draft.cached_tokens + judge.cached_tokens + target.cached_tokens,
        judge_calls=judge.calls,
        judge_prompt_tokens=judge.prompt_tokens,
        judge_cached_tokens=judge.cached_tokens,
        draft_s=draft.seconds,
        judge_s=judge.seconds,
        correct_s=written.seconds,
        answer_s=answer.seconds,
        wall_s=wall_s,
    )
