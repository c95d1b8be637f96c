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

from spec_graph.chat_models._results import response_id
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
    """The run at a glance: strategy, steps, acceptance, its telemetry, timings, per model.

    ``model_name`` is the served model's (the target's, which writes the reply);
    ``draft_model`` and ``target_model`` name both.
    """
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
    """Maps one reply's events to ``ChatGenerationChunk`` (one response id, block numbering).

    Args:
        model_name: the ``model_name`` reported; None: the target model's, the one that was
            served (as ChatOpenAI reports the model the server answered with).
        block_indexes: ``output_version="v1"``, where a tool call's index is also its content
            block's: number the calls after the reasoning and text blocks so that LangChain
            never merges a call into them. Otherwise the calls count from 0, as OpenAI's do.
    """

    def __init__(self, model_name: str | None = None, *, block_indexes: bool = False) -> None:
        self.model_name = model_name
        self.id = response_id()
        """The reply's id, on every chunk (ChatOpenAI's is the server's ``chatcmpl-...``)."""
        self._block_indexes = block_indexes
        self._reasoning = False
        self._text = False

    def chunk(self, event: ReplyEvent) -> ChatGenerationChunk:
        """The chunk for ``event`` (the last one, ``chunk_position="last"``, for `ReplyDone`)."""
        if isinstance(event, TextDelta):
            self._text = True
            return self._chunk(content=event.text)
        if isinstance(event, ToolCallDelta):
            offset = int(self._reasoning) + int(self._text) if self._block_indexes else 0
            piece = tool_call_chunk(
                name=event.name, args=event.args, id=event.id, index=event.index + offset
            )
            return self._chunk(tool_call_chunks=[piece])
        if isinstance(event, ReplyDone):
            name = self.model_name or event.telemetry.target_model
            return self._chunk(
                usage_metadata=usage_metadata(event.usage),
                response_metadata=response_metadata(name, event),
                chunk_position="last",
            )
        self._reasoning = True
        return self._chunk(additional_kwargs={"reasoning_content": event.text})

    def _chunk(self, content: str = "", **fields: Any) -> ChatGenerationChunk:
        return ChatGenerationChunk(message=AIMessageChunk(content=content, id=self.id, **fields))
