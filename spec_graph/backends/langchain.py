"""`LangChainBackend`: any LangChain chat model as a draft or target (steps, corrections, replies).

The OpenAI-compatible backend continues the chain as an unfinished assistant message, which
needs a server that continues a prefix (vLLM, llama.cpp). A LangChain chat model cannot be
assumed to: here the chain so far is sent as the model's own turn and a short user turn asks
for the next step only, and the reply's first step is the continuation. It costs prefix-cache
reuse and some faithfulness (the model may restate), and buys any provider LangChain supports
as a node of the graph: ``build_graph(draft=ChatOpenAI(...))`` or
``SpeculativeReasoner(LangChainBackend(model), target)``. ``ChatModelBackend`` is its old
name.

It cannot judge by log-probabilities (``next_token``): use `spec_graph.judging.LLMJudge` with
the same model for that.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from spec_graph.backends.base import (
    BackendBase,
    BackendCapabilities,
    GenerateRequest,
    Generation,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
)
from spec_graph.errors import BackendError, UserError
from spec_graph.usage import Usage, usage_from_metadata

__all__ = ["NEXT_STEP_INSTRUCTION", "ChatModelBackend", "LangChainBackend"]

NEXT_STEP_INSTRUCTION = (
    "Continue your reasoning above with the next step only (one short paragraph). Do not "
    "repeat earlier steps."
)


def _usage(message: AIMessage, seconds: float) -> Usage:
    usage = usage_from_metadata(message.usage_metadata, seconds)
    if usage.completion_tokens:
        return usage
    # A model that reports no usage: count words, so budgets still advance.
    return usage.model_copy(update={"completion_tokens": len(message.text.split())})


class LangChainBackend(BackendBase):
    """A LangChain chat model behind the backend protocol (``generate`` and replies)."""

    default_capabilities = BackendCapabilities(
        continues_prefix=False,  # the chain is sent as its own turn, then "next step"
        top_logprobs=False,
        token_logprobs=False,
        prompt_logprobs=False,
        native_tool_calls=False,
    )

    def __init__(self, model: BaseChatModel, name: str | None = None) -> None:
        if not isinstance(model, BaseChatModel):
            raise UserError(f"LangChainBackend needs a LangChain chat model, not {model!r}")
        self.model = model
        self.name = name or str(
            getattr(model, "model_name", None) or getattr(model, "model", None) or model._llm_type
        )

    @property
    def model_name(self) -> str:
        """The chat model's name (its ``model``/``model_name`` field, else its type)."""
        return self.name

    def _messages(self, request: GenerateRequest) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        chain = request.prefix.strip()
        if chain:
            messages.append({"role": "assistant", "content": chain})
            messages.append({"role": "user", "content": NEXT_STEP_INSTRUCTION})
        return messages

    async def generate(self, request: GenerateRequest) -> Generation:
        """The next step: the reply, cut at the first stop string (the step delimiter)."""
        started = time.perf_counter()
        try:
            reply = await self.model.ainvoke(self._messages(request))
        except Exception as e:
            raise BackendError(f"chat model {self.name!r} failed: {e}") from e
        seconds = time.perf_counter() - started
        message = reply if isinstance(reply, AIMessage) else AIMessage(str(reply))
        text = message.text.strip()
        for stop in request.stop:
            if stop and stop in text:
                text = text[: text.index(stop)]
        return Generation(text=text, finish_reason="stop", usage=_usage(message, seconds))

    async def next_token(self, request: ScoreRequest) -> NextToken:
        """Not available: a chat model gives no log-probabilities of a prefilled reply."""
        msg = (
            f"chat model {self.name!r} cannot be a logprob judge; judge with "
            "spec_graph.judging.LLMJudge(model) instead"
        )
        raise UserError(msg)

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        """The chat model's reply, streamed as text (tool calls: use the model directly)."""
        started = time.perf_counter()
        last: AIMessage | None = None
        async for chunk in self.model.astream([dict(m) for m in request.messages]):
            last = chunk if last is None else last + chunk  # type: ignore[assignment]
            if chunk.text:
                yield ReplyChunk(text=chunk.text)
        if last is not None:
            usage = _usage(AIMessage(content=last.text, usage_metadata=last.usage_metadata), 0.0)
            seconds = time.perf_counter() - started
            yield ReplyChunk(
                finish_reason="stop", usage=usage.model_copy(update={"seconds": seconds})
            )

    async def aclose(self) -> None:
        """Nothing to release (the chat model owns its clients)."""


ChatModelBackend = LangChainBackend
"""The old name of `LangChainBackend`."""
