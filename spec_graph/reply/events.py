"""What `reply_stream` yields: plain, frozen values that any front end can map to its wire.

In order: `ReasoningDelta` (one per kept step, as soon as it is kept), then the reply as
`TextDelta` and/or `ToolCallDelta` pieces (as the target writes them), then exactly one
`ReplyDone` with the usage of the whole run and its telemetry.

The shapes follow OpenAI's streamed chat completion, so an OpenAI-compatible server maps
them one to one (``delta.reasoning_content``, ``delta.content``, ``delta.tool_calls[i]``,
``finish_reason``, ``usage``); the LangChain chat model maps them to ``AIMessageChunk``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ModelTokens",
    "ReasoningDelta",
    "ReplyDone",
    "ReplyEvent",
    "ReplyTelemetry",
    "ReplyTimings",
    "ReplyUsage",
    "TextDelta",
    "ToolCallDelta",
]

_FROZEN = ConfigDict(frozen=True)


class ReasoningDelta(BaseModel):
    """One kept reasoning step, followed by the step delimiter (OpenAI: ``reasoning_content``)."""

    model_config = _FROZEN
    type: Literal["reasoning"] = "reasoning"
    text: str


class TextDelta(BaseModel):
    """A piece of the reply's text (OpenAI: ``delta.content``)."""

    model_config = _FROZEN
    type: Literal["text"] = "text"
    text: str


class ToolCallDelta(BaseModel):
    """A piece of a tool call (OpenAI: ``delta.tool_calls[i]``); ``args`` come in fragments.

    ``index`` numbers the reply's tool calls from 0, as OpenAI does; ``id`` and ``name`` come
    with a call's first piece.
    """

    model_config = _FROZEN
    type: Literal["tool_call"] = "tool_call"
    index: int
    id: str | None = None
    name: str | None = None
    args: str | None = None


class ModelTokens(BaseModel):
    """Tokens of one model over the whole run (reasoning and, for the target, the reply)."""

    model_config = _FROZEN
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ReplyUsage(BaseModel):
    """Usage of the run and its reply, both models together (OpenAI's ``usage`` shape).

    ``completion_tokens`` counts the reasoning (draft and target steps, one token per judge
    call) and the reply; ``reasoning_tokens`` is the reasoning part of it;
    ``cached_tokens`` the prompt tokens served from the servers' prefix caches.
    """

    model_config = _FROZEN
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    draft: ModelTokens = ModelTokens()
    target: ModelTokens = ModelTokens()


class ReplyTimings(BaseModel):
    """Seconds spent per phase."""

    model_config = _FROZEN
    draft_s: float = 0.0
    judge_s: float = 0.0
    correct_s: float = 0.0
    reasoning_s: float = 0.0
    """The whole reasoning run (wall clock)."""
    reply_s: float = 0.0
    """Writing the reply (wall clock)."""


class ReplyTelemetry(BaseModel):
    """The run at a glance: strategy, models, steps, acceptance, its own telemetry, timings."""

    model_config = _FROZEN
    strategy: str
    draft_model: str
    target_model: str
    steps: int
    draft_steps: int
    target_steps: int
    acceptance_rate: float | None
    judge_calls: int
    gated_steps: int
    stop_reason: str | None
    telemetry: dict[str, Any] = Field(default_factory=dict)
    """The strategy's own (e.g. SCoT's selection)."""
    timings: ReplyTimings = ReplyTimings()


class ReplyDone(BaseModel):
    """The last event: usage, why the reply ended, and the run's telemetry."""

    model_config = _FROZEN
    type: Literal["done"] = "done"
    usage: ReplyUsage
    finish_reason: str | None
    """The target's (``stop``, ``length``, ``tool_calls``, ...); None if it gave none."""
    telemetry: ReplyTelemetry


ReplyEvent = Annotated[
    ReasoningDelta | TextDelta | ToolCallDelta | ReplyDone, Field(discriminator="type")
]
"""Any event of `reply_stream` (a discriminated union on ``type``)."""
