"""The pipeline's events as OpenAI ``chat.completion.chunk`` objects (one per SSE event).

| event | chunk |
|---|---|
| `ReasoningDelta` | ``delta.reasoning_content`` and ``delta.reasoning`` (the same text) |
| `TextDelta` | ``delta.content`` |
| `ToolCallDelta` | ``delta.tool_calls[0]`` (``index``; ``id``, ``type`` and ``name`` on a call's first piece) |
| `ReplyDone` | ``finish_reason`` and the ``spec_graph`` extension; then, with ``stream_options.include_usage``, a chunk with ``choices: []`` and ``usage`` |

The first chunk carries ``delta.role = "assistant"``, as OpenAI's does, together with the first
reasoning (or reply) piece, as vLLM sends it: a load tool that times the first chunk (``vllm
bench serve``) then measures the time to the first reasoning, not to an empty opening chunk. `usage_body` and
`extension` are shared with the non-streamed answer (`spec_graph.serve.completion`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from spec_graph.reply import ReasoningDelta, ReplyDone, ReplyEvent, ReplyUsage, TextDelta

__all__ = ["ChunkWriter", "completion_id", "extension", "finish_reason", "usage_body"]


def completion_id() -> str:
    """A fresh response id (``chatcmpl-...``)."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage_body(usage: ReplyUsage) -> dict[str, Any]:
    """OpenAI's ``usage``: both models, reasoning and reply (`ReplyUsage` renamed)."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def extension(done: ReplyDone) -> dict[str, Any]:
    """The ``spec_graph`` field: the run's telemetry, timings, and tokens per model."""
    return {
        **done.telemetry.model_dump(),
        "usage_by_model": {
            "draft": done.usage.draft.model_dump(),
            "target": done.usage.target.model_dump(),
        },
    }


def finish_reason(done: ReplyDone, called_tools: bool) -> str:
    """The target's finish reason; ``tool_calls`` when the reply is calls, else ``stop``."""
    if called_tools and done.finish_reason in (None, "stop"):
        return "tool_calls"
    return done.finish_reason or "stop"


class ChunkWriter:
    """Writes one response's chunks: the same id, ``created`` and model on every one."""

    def __init__(self, model: str, *, include_usage: bool = False) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self._tool_ids: set[int] = set()
        self._opened = False

    def _chunk(self, choices: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
            **more,
        }

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self._opened:  # the role rides on the first real delta, as vLLM sends it
            self._opened = True
            delta = {"role": "assistant", **delta}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._chunk([choice])

    def chunks(self, event: ReplyEvent) -> list[dict[str, Any]]:
        """The chunks for ``event`` (two for `ReplyDone` with ``include_usage``)."""
        if isinstance(event, ReasoningDelta):
            return [self._delta({"reasoning_content": event.text, "reasoning": event.text})]
        if isinstance(event, TextDelta):
            return [self._delta({"content": event.text})]
        if isinstance(event, ReplyDone):
            finish = finish_reason(event, bool(self._tool_ids))
            last = [self._delta({}, finish)]
            last[0]["spec_graph"] = extension(event)
            if self.include_usage:
                last.append(self._chunk([], usage=usage_body(event.usage)))
            return last
        piece: dict[str, Any] = {"index": event.index}
        if event.index not in self._tool_ids:
            self._tool_ids.add(event.index)
            piece |= {"id": event.id or f"call_{self.id[9:21]}_{event.index}", "type": "function"}
            piece["function"] = {"name": event.name or "", "arguments": event.args or ""}
        else:
            piece["function"] = {"arguments": event.args or ""}
            if event.name:
                piece["function"]["name"] = event.name
        return [self._delta({"tool_calls": [piece]})]
