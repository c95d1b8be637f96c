"""The whole ``chat.completion`` object of a non-streamed request, from the same events.

Reasoning in ``message.reasoning_content`` and ``message.reasoning``, the reply in
``message.content`` (None when the reply is only tool calls), the calls in
``message.tool_calls``, ``usage`` and the ``spec_graph`` extension as in the stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from spec_graph.reply import ReasoningDelta, ReplyDone, ReplyEvent, TextDelta
from spec_graph.serve.sse import completion_id, extension, finish_reason, usage_body

__all__ = ["collect"]


async def collect(model: str, events: AsyncIterator[ReplyEvent]) -> dict[str, Any]:
    """Read ``events`` to the end and write the ``chat.completion`` answer."""
    reasoning: list[str] = []
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    done: ReplyDone | None = None
    async for event in events:
        if isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
        elif isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReplyDone):
            done = event
        else:
            call = calls.setdefault(
                event.index,
                {
                    "id": event.id or f"call_{event.index}",
                    "type": "function",
                    "function": {"name": event.name or "", "arguments": ""},
                },
            )
            call["function"]["name"] = call["function"]["name"] or event.name or ""
            call["function"]["arguments"] += event.args or ""
    if done is None:  # pragma: no cover - the pipeline always ends with ReplyDone
        raise RuntimeError("the reply ended without ReplyDone")
    thought = "".join(reasoning) or None
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
        "reasoning_content": thought,
        "reasoning": thought,
    }
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(done, bool(calls)),
            }
        ],
        "usage": usage_body(done.usage),
        "spec_graph": extension(done),
    }
