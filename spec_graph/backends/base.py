"""What a node needs from a model, as request and result values.

Nodes only see `ModelBackend`; servers, wire formats and their quirks live behind it. Each call
takes one request value (`GenerateRequest`, `ScoreRequest`, `ReplyRequest`), so a new option is
one new field here, not a signature copied into every backend:

- `ModelBackend.generate`: continue an unfinished assistant message (a step, a correction, a
  whole chain, an answer);
- `ModelBackend.generate_many`: ``n`` independent continuations of the same request (SCoT's
  drafts, best-of-n candidates), batched by the server where it can;
- `ModelBackend.next_token`: the odds of the first token after a prefix (every judge);
- `ModelBackend.stream_reply`: a normal assistant turn, streamed (the chat model's reply);
- `ModelBackend.capabilities`: what the backend can do (`BackendCapabilities`), so callers
  ask instead of guessing from its class.

`BackendBase` gives ``generate_many`` a default (concurrent requests into the server's
parallel slots) and ``capabilities`` a default (its class's ``default_capabilities``), so a
backend of your own needs only the four core methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.config import SamplingConfig
from spec_graph.prompts import ChatMessage
from spec_graph.usage import Usage

__all__ = [
    "BackendBase",
    "BackendCapabilities",
    "GenerateRequest",
    "Generation",
    "ModelBackend",
    "NextToken",
    "PrefixStep",
    "ReplyChunk",
    "ReplyRequest",
    "ScoreRequest",
    "ToolCallChunk",
    "seeded_copies",
]

_FROZEN = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class PrefixStep(BaseModel):
    """One kept step of the prefix: its text (with its delimiter) and, if known, its tokens.

    ``token_ids`` are the exact tokens model ``token_model`` generated for the step, up to and
    including the token that completed the step delimiter. A backend serving that model may
    send them instead of re-tokenizing ``text`` (token-exact continuation); any other backend
    uses ``text``.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    """The step as it appears in the request's ``prefix``, its delimiter included."""
    token_ids: list[int] | None = None
    token_model: str | None = None
    """Whose tokenizer ``token_ids`` belong to (a backend's ``model_name``)."""


class GenerateRequest(BaseModel):
    """Continue ``prefix`` (an unfinished assistant message) after ``messages``."""

    model_config = _FROZEN

    messages: list[ChatMessage]
    prefix: str = ""
    prefix_steps: list[PrefixStep] | None = None
    """``prefix`` step by step (their texts join to ``prefix``), with the tokens each step was
    written in where known. A backend that can take a prompt as token ids continues from
    those exact tokens (and returns `Generation.token_ids`); None: text only."""
    max_tokens: int = Field(ge=1)
    stop: list[str] = Field(default_factory=list)
    sampling: SamplingConfig = SamplingConfig()
    tools: list[dict[str, Any]] | None = None
    """Shown to the model (chat template) but never called here."""
    logprobs: bool = False
    """Also return each generated token's log-probability (confidence gating, hand-off)."""


class ScoreRequest(BaseModel):
    """Read the odds of the first token after ``prefix`` (greedy, temperature 0)."""

    model_config = _FROZEN

    messages: list[ChatMessage]
    prefix: str = ""
    top_logprobs: int = Field(default=10, ge=1, le=20)
    tools: list[dict[str, Any]] | None = None
    prompt_logprobs: bool = False
    """Also how likely the model finds each prompt token (vLLM's ``prompt_logprobs``); a
    backend whose server cannot say raises `BackendError`."""


class ReplyRequest(BaseModel):
    """A normal assistant turn after ``messages`` (text or native tool calls), streamed."""

    model_config = _FROZEN

    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    stop: list[str] = Field(default_factory=list)
    sampling: SamplingConfig = SamplingConfig()
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    """OpenAI's ``parallel_tool_calls`` (False: at most one call); None: the server's default."""


class Generation(BaseModel):
    """A continuation written by a model, with what it cost."""

    model_config = ConfigDict(frozen=True)

    text: str
    """Only the new text (never the prefix)."""
    finish_reason: str | None = None
    usage: Usage = Usage()
    token_logprobs: list[float] | None = None
    """Per generated token, when the request asked for ``logprobs``."""
    token_ids: list[int] | None = None
    """Every token generated, the one that completed a stop string included; None when the
    backend cannot say (text-only servers, or the request had no ``prefix_steps``)."""
    stop: str | None = None
    """The stop string that ended the generation; None: end of turn, length, or unknown."""

    @property
    def tokens(self) -> int:
        """Tokens generated."""
        return self.usage.completion_tokens


class NextToken(BaseModel):
    """The top-k alternatives for the first token after the prefix."""

    model_config = ConfigDict(frozen=True)

    top_logprobs: list[tuple[str, float]]
    prompt_logprobs: list[tuple[str, float]] = []
    """When asked for: each prompt token (after the first) and its log-probability."""
    usage: Usage = Usage()


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
    usage: Usage | None = None
    """Set on the chunk that carries the request's usage (usually the last)."""


class BackendCapabilities(BaseModel):
    """What a backend can do, declared by the backend (never guessed from its class).

    The defaults describe the least a backend must do: continue a prefix (``generate``) and
    answer ``next_token`` with top-k alternatives. Anything more is declared.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    batched_n: bool = False
    """``generate_many`` decodes the n continuations as one batched request (vLLM ``n=``);
    otherwise it is n concurrent requests."""
    preferred_width: int = Field(default=2, ge=1)
    """Chains per question a strategy should draft when the user did not say (SCoT's ``n``,
    best-of-n's ``k``): high where extra sequences are nearly free (batched servers)."""
    continues_prefix: bool = True
    """``generate`` continues the request's prefix as the same assistant message (token for
    token where the server allows). A backend that instead answers with a new turn (the
    LangChain one) says False."""
    token_logprobs: bool = False
    """``generate`` can return per-token log-probabilities (confidence gating, hand-off)."""
    top_logprobs: bool = True
    """``next_token`` returns the first token's top-k alternatives (every logprob judge)."""
    prompt_logprobs: bool = False
    """``next_token`` can also score the prompt's own tokens (the ``likelihood`` judge)."""
    native_tool_calls: bool = False
    """``stream_reply`` returns tool calls as structured chunks (natively or parsed by the
    backend from text), not just text."""


@runtime_checkable
class ModelBackend(Protocol):
    """A model the graph can call. Implementations must be safe to call concurrently."""

    @property
    def model_name(self) -> str:
        """The model's name, for telemetry."""
        ...

    async def generate(self, request: GenerateRequest) -> Generation:
        """Continue the request's prefix until a stop string or ``max_tokens``."""
        ...

    async def generate_many(self, request: GenerateRequest, n: int) -> list[Generation]:
        """``n`` independent continuations of ``request`` (sampled), each with its own usage."""
        ...

    async def next_token(self, request: ScoreRequest) -> NextToken:
        """The log-probabilities of the first token after the request's prefix."""
        ...

    def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        """Stream an assistant turn; closing the iterator early stops the server too."""
        ...

    async def capabilities(self) -> BackendCapabilities:
        """What this backend can do (it may ask its server once, so it is awaited)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def seeded_copies(request: GenerateRequest, n: int) -> list[GenerateRequest]:
    """``n`` copies of ``request``; with a fixed seed, copy ``i`` gets ``seed + i``."""
    seed = request.sampling.seed
    if seed is None:
        return [request] * n
    return [
        request.model_copy(
            update={"sampling": request.sampling.model_copy(update={"seed": seed + i})}
        )
        for i in range(n)
    ]


class BackendBase:
    """Shared defaults for backends: ``generate_many`` as concurrent ``generate`` calls.

    Concurrent requests land in the server's parallel slots (llama.cpp ``n_parallel``, vLLM's
    continuous batching), so the n continuations are decoded as one batch. ``capabilities``
    returns ``default_capabilities``: set it on your class (or override the method when the
    answer depends on the server).
    """

    default_capabilities: ClassVar[BackendCapabilities] = BackendCapabilities()

    async def capabilities(self) -> BackendCapabilities:
        """``default_capabilities`` (a subclass may ask its server instead)."""
        return self.default_capabilities

    async def generate(self, request: GenerateRequest) -> Generation:  # pragma: no cover
        """Implemented by each backend."""
        raise NotImplementedError

    async def generate_many(self, request: GenerateRequest, n: int) -> list[Generation]:
        """``n`` concurrent `generate` calls; if one fails, the others are cancelled.

        With a fixed seed, continuation ``i`` uses ``seed + i``: n identical seeded requests
        would otherwise sample n identical texts.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        tasks = [asyncio.ensure_future(self.generate(r)) for r in seeded_copies(request, n)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
