"""LangChain <-> the reply pipeline: messages to OpenAI dicts, events to message chunks."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from spec_graph.reply import ReplyDone, ReplyEvent, ReplyUsage, TextDelta, ToolCallDelta
from spec_graph.reply.pipeline import check_messages

__all__ = ["ChunkMapper", "response_metadata", "to_wire", "usage_metadata"]


def to_wire(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> OpenAI dicts; only text content is supported.

    An AI message's own reasoning and tool-call content blocks (``output_version="v1"``) are
    dropped from its content: the reasoning is not fed back, and the calls travel in
    ``tool_calls``.
    """
    messages = [
        m.model_copy(update={"content": m.text}) if isinstance(m, AIMessage) else m
        for m in messages
    ]
    return check_messages(convert_to_openai_messages(messages, text_format="string"))


def usage_metadata(usage: ReplyUsage) -> UsageMetadata:
    """LangChain's usage: both models, reasoning and reply together."""
    return {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "input_token_details": {"cache_read": usage.cached_tokens},
        "output_token_details": {"reasoning": usage.reasoning_tokens},
    }


def response_metadata(model_name: str, done: ReplyDone) -> dict[str, Any]:
    """The run at a glance: strategy, steps, acceptance, its telemetry, timings, per model."""
    telemetry = done.telemetry.model_dump()
    return {
        "model_name": model_name,
        "model_provider": "spec-graph",
        "finish_reason": done.finish_reason,
        **telemetry,
        "usage_by_model": {
            role: {"input_tokens": tokens.prompt_tokens, "output_tokens": tokens.completion_tokens}
            for role, tokens in (("draft", done.usage.draft), ("target", done.usage.target))
        },
    }


class ChunkMapper:
    """Maps one reply's events to ``ChatGenerationChunk`` (keeps the block numbering)."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self._reasoning = False
        self._text = False

    def chunk(self, event: ReplyEvent) -> ChatGenerationChunk:
        """The chunk for ``event`` (the last one, ``chunk_position="last"``, for `ReplyDone`)."""
        if isinstance(event, TextDelta):
            self._text = True
            return ChatGenerationChunk(message=AIMessageChunk(content=event.text))
        if isinstance(event, ToolCallDelta):
            # Tool-call indexes double as content-block indexes in output_version="v1":
            # number them after the reasoning and text blocks so blocks never merge.
            offset = int(self._reasoning) + int(self._text)
            piece = tool_call_chunk(
                name=event.name, args=event.args, id=event.id, index=event.index + offset
            )
            return ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[piece]))
        if isinstance(event, ReplyDone):
            message = AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(event.usage),
                response_metadata=response_metadata(self.model_name, event),
                chunk_position="last",
            )
            return ChatGenerationChunk(message=message)
        self._reasoning = True
        return ChatGenerationChunk(
            message=AIMessageChunk(content="", additional_kwargs={"reasoning_content": event.text})
        )
