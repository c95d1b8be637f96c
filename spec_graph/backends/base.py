"""What a node needs from a model: write a continuation, or show the next token's odds.

Nodes only see `ModelBackend`; servers, wire formats and their quirks live behind it. Two calls
cover the whole algorithm: `generate` (a step, a correction, an answer) and `next_token` (the
judge). Both continue an unfinished assistant message, ``prefix``, after ``messages``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from spec_graph.config import SamplingConfig
from spec_graph.prompts import ChatMessage

__all__ = ["Generation", "ModelBackend", "NextToken", "ReplyChunk", "ToolCallChunk"]


class Generation(BaseModel):
    """A continuation written by a model, with what it cost."""

    model_config = ConfigDict(frozen=True)

    text: str
    """Only the new text (never the prefix)."""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens served from the server's prefix cache (0 if the server doesn't say)."""
    elapsed_s: float = 0.0


class NextToken(BaseModel):
    """The top-k alternatives for the first token after ``prefix`` (greedy, temperature 0)."""

    model_config = ConfigDict(frozen=True)

    top_logprobs: list[tuple[str, float]]
    prompt_logprobs: list[tuple[str, float]] = []
    """When asked for: each prompt token (after the first) and its log-probability."""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    elapsed_s: float = 0.0


class ToolCallChunk(BaseModel):
    """A piece of a streamed tool call (OpenAI delta shape): ``args`` arrive in fragments."""

    model_config = ConfigDict(frozen=True)

    index: int
    id: str | None = None
    name: str | None = None
    args: str | None = None


class ReplyChunk(BaseModel):
    """A piece of a streamed reply: text, tool-call fragments, and at the end usage."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    tool_calls: list[ToolCallChunk] = []
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    has_usage: bool = False


@runtime_checkable
class ModelBackend(Protocol):
    """A model the graph can call. Implementations must be safe to call concurrently."""

    @property
    def model_name(self) -> str:
        """The model's name, for telemetry."""
        ...

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        prefix: str,
        max_tokens: int,
        stop: Sequence[str],
        sampling: SamplingConfig,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Generation:
        """Continue the assistant message ``prefix`` until a stop string or ``max_tokens``.

        ``tools`` are shown to the model (chat template) but never called here.
        """
        ...

    async def next_token(
        self,
        messages: Sequence[ChatMessage],
        *,
        prefix: str,
        top_logprobs: int,
        tools: Sequence[dict[str, Any]] | None = None,
        prompt_logprobs: bool = False,
    ) -> NextToken:
        """The log-probabilities of the first token after ``prefix``.

        ``prompt_logprobs``: also how likely the model finds each token of the prompt (vLLM's
        ``prompt_logprobs``); a backend whose server cannot say raises `BackendError`.
        """
        ...

    def stream_reply(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        max_tokens: int | None,
        stop: Sequence[str],
        sampling: SamplingConfig,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | None = None,
    ) -> AsyncIterator[ReplyChunk]:
        """Stream a normal assistant turn (text or native tool calls) after ``messages``.

        Closing the iterator early closes the request, so the server stops generating.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
