"""What ``invoke`` returns, shaped like ``ChatOpenAI``'s: one `ChatResult` from the chunks.

- Tool calls are read strictly, as ChatOpenAI reads a whole (non-streamed) response: a call
  whose arguments are not a JSON object (above all one cut off by ``max_tokens``, finish
  reason ``length``) lands in ``invalid_tool_calls`` with its text as it came, never in
  ``tool_calls`` with half its arguments, nor as the reply's text. A stream is merged by
  LangChain itself, leniently, as ChatOpenAI's is.
- ``llm_output`` has ``token_usage`` (OpenAI's ``prompt_tokens`` / ``completion_tokens`` /
  ``total_tokens`` with cached and reasoning details), ``model_name`` and the response ``id``:
  callback handlers read them in ``on_llm_end``, and LangChain copies them into the message's
  ``response_metadata`` as it does for ChatOpenAI.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    InvalidToolCall,
    ToolCall,
    message_chunk_to_message,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

__all__ = ["chat_result", "combine_llm_outputs", "response_id", "token_usage"]

_CUT = "the call was cut off by max_tokens (finish_reason 'length'): "


def response_id() -> str:
    """A fresh id for one reply (``chatcmpl-...``, as OpenAI-compatible servers name theirs)."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def chat_result(chunks: Sequence[ChatGenerationChunk]) -> ChatResult:
    """The reply's chunks as one `ChatResult` (strict tool calls, ``llm_output``)."""
    if not chunks:
        raise ValueError("the reply produced no chunks")
    merged = chunks[0]
    if len(chunks) > 1:
        merged += list(chunks[1:])
    chunk = merged.message
    message = message_chunk_to_message(chunk)
    if isinstance(chunk, AIMessageChunk) and isinstance(message, AIMessage):
        calls, invalid = _strict_tool_calls(chunk, message.response_metadata.get("finish_reason"))
        message = message.model_copy(update={"tool_calls": calls, "invalid_tool_calls": invalid})
    metadata = message.response_metadata
    llm_output = {
        "token_usage": token_usage(getattr(message, "usage_metadata", None)),
        "model_name": metadata.get("model_name"),
        "model_provider": metadata.get("model_provider"),
        "id": message.id,
    }
    generation = ChatGeneration(message=message, generation_info=merged.generation_info)
    return ChatResult(generations=[generation], llm_output=llm_output)


def _strict_tool_calls(
    chunk: AIMessageChunk, finish_reason: str | None
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """The merged chunk's calls, each parsed as ChatOpenAI parses a response's calls."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []  # the lenient merge's own are redone here
    pieces = chunk.tool_call_chunks
    for piece in pieces:
        raw = {
            "id": piece.get("id"),
            "type": "function",
            "function": {"name": piece.get("name") or "", "arguments": piece.get("args") or ""},
        }
        cut = finish_reason == "length" and piece is pieces[-1]
        try:
            if cut and not (piece.get("args") or "").strip():
                raise ValueError("it ended before its arguments")  # not a call without any
            calls.append(cast("ToolCall", parse_tool_call(raw, return_id=True)))
        except Exception as e:  # what ChatOpenAI catches: any failure makes the call invalid
            invalid.append(make_invalid_tool_call(raw, (_CUT if cut else "") + str(e)))
    return calls, invalid


def token_usage(usage: UsageMetadata | None) -> dict[str, Any]:
    """OpenAI's ``usage`` of the reply, from LangChain's (both models, reasoning included)."""
    if not usage:
        return {}
    cached = (usage.get("input_token_details") or {}).get("cache_read", 0)
    reasoning = (usage.get("output_token_details") or {}).get("reasoning", 0)
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def combine_llm_outputs(outputs: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """``generate``'s ``llm_output`` over several replies: token usage summed, as ChatOpenAI's.

    A streamed reply has none (its chunks carry ``usage_metadata``), as with ChatOpenAI.
    """
    total: dict[str, Any] = {}
    model_name = None
    for output in outputs:
        if output is None:
            continue
        total = _added(total, output.get("token_usage") or {})
        model_name = model_name or output.get("model_name")
    return {"token_usage": total, "model_name": model_name}


def _added(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    summed = dict(left)
    for key, value in right.items():
        if isinstance(value, dict):
            summed[key] = _added(summed.get(key) or {}, value)
        elif isinstance(value, int):
            summed[key] = summed.get(key, 0) + value
    return summed
