"""What a node needs from a model: write a continuation, or show the next token's odds.

Nodes only see `ModelBackend`; servers, wire formats and their quirks live behind it. Two calls
cover the whole algorithm: `generate` (a step, a correction, an answer) and `next_token` (the
judge). Both continue an unfinished assistant message, ``prefix``, after ``messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from spec_graph.config import SamplingConfig
from spec_graph.prompts import ChatMessage

__all__ = ["Generation", "ModelBackend", "NextToken"]


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
    prompt_tokens: int = 0
    cached_tokens: int = 0
    elapsed_s: float = 0.0


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
    ) -> Generation:
        """Continue the assistant message ``prefix`` until a stop string or ``max_tokens``."""
        ...

    async def next_token(
        self, messages: Sequence[ChatMessage], *, prefix: str, top_logprobs: int
    ) -> NextToken:
        """The log-probabilities of the first token after ``prefix``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
