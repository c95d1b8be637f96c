"""Test helpers: a scripted *fake* model backend, for unit tests of graph logic.

`ScriptedFakeBackend` is a fake, not a model: it replays the steps and judge scores it is
given, records every call, and never touches the network. Use it to test your own nodes or
routing; use a real server (`spec_graph.EmbeddedModels("tiny")`) to test behaviour.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spec_graph.backends.base import Generation, NextToken, ReplyChunk, ToolCallChunk
from spec_graph.config import SamplingConfig
from spec_graph.prompts import ChatMessage

__all__ = ["FakeCall", "ScriptedFakeBackend"]

Scripted = int | None | list[tuple[str, float]]
ScriptedReply = str | list[dict[str, Any]]
"""A reply: text (streamed word by word) or tool calls ``[{"name": ..., "args": {...}}]``."""


@dataclass(frozen=True)
class FakeCall:
    """One call the fake received."""

    kind: str
    """``generate`` or ``next_token``."""
    messages: list[ChatMessage]
    prefix: str
    max_tokens: int | None
    stop: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    """For ``stream_reply``: tools, tool_choice, response_format."""


def _score_tokens(score: int) -> list[tuple[str, float]]:
    """Top tokens that every judge in `spec_graph.judges` reads as ``score``."""
    if not 0 <= score <= 9:
        raise ValueError(f"a scripted score is 0-9, got {score}")
    tops = [(str(score), 0.0)]
    p_yes = score / 9
    if p_yes > 0:
        tops.append(("Yes", math.log(p_yes)))
    if p_yes < 1:
        tops.append(("No", math.log(1 - p_yes)))
    return tops


class ScriptedFakeBackend:
    """A fake backend that replays scripted outputs.

    Args:
        name: model name reported in telemetry.
        steps: texts returned by successive ``generate`` calls ("" once exhausted).
        scores: successive judge outputs: a score ``n`` in 0-9 (the digit ``n`` with logprob 0,
            "Yes"/"No" with probabilities n/9 and 1 - n/9, and when prompt logprobs are asked
            for, every prompt word at probability n/9, so every judge formulation reads the
            score ``n`` with the ``average`` method), ``None`` (a top-k with neither a digit
            nor yes/no), or explicit ``(token, logprob)`` pairs.
        answers: texts returned when the answer node asks for the final answer.
        replies: successive ``stream_reply`` outputs (see `ScriptedReply`).
        delay_s: simulated latency per call (and per streamed chunk).
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        steps: Iterable[str] = (),
        scores: Iterable[Scripted] = (),
        answers: Iterable[str] = (),
        replies: Iterable[ScriptedReply] = (),
        delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self.steps = deque(steps)
        self.scores = deque(scores)
        self.answers = deque(answers)
        self.replies = deque(replies)
        self.closed_streams = 0
        self.delay_s = delay_s
        self.calls: list[FakeCall] = []

    @property
    def model_name(self) -> str:
        """The fake's name."""
        return self.name

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
        """Return the next scripted step (or the answer, when the prefix opens a boxed answer)."""
        self.calls.append(
            FakeCall("generate", list(messages), prefix, max_tokens, tuple(stop), {"tools": tools})
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        is_answer = prefix.endswith("\\boxed{")
        queue = self.answers if is_answer else self.steps
        text = queue.popleft() if queue else ""
        tokens = text.split()[:max_tokens]
        text = " ".join(tokens) if len(text.split()) > max_tokens else text
        return Generation(text=text, finish_reason="stop", completion_tokens=len(tokens))

    async def next_token(
        self,
        messages: Sequence[ChatMessage],
        *,
        prefix: str,
        top_logprobs: int,
        tools: Sequence[dict[str, Any]] | None = None,
        prompt_logprobs: bool = False,
    ) -> NextToken:
        """Return the next scripted judge output."""
        extra = {"tools": tools, "prompt_logprobs": prompt_logprobs}
        self.calls.append(FakeCall("next_token", list(messages), prefix, 1, (), extra))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        scripted = self.scores.popleft() if self.scores else None
        if scripted is None:
            tops = [("The", -0.1), ("I", -2.5)]
        elif isinstance(scripted, int):
            tops = _score_tokens(scripted)
        else:
            tops = list(scripted)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        scored: list[tuple[str, float]] = []
        if prompt_logprobs:  # the prefix's words (with their spaces) are the "tokens"
            p = max(scripted / 9, 1e-9) if isinstance(scripted, int) else 0.5
            scored = [(word, math.log(p)) for word in re.findall(r"\s*\S+", prefix)]
        return NextToken(
            top_logprobs=tops[:top_logprobs], prompt_logprobs=scored, prompt_tokens=prompt_tokens
        )

    async def stream_reply(
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
        """Stream the next scripted reply; counts streams closed before their end."""
        extra = {"tools": tools, "tool_choice": tool_choice, "response_format": response_format}
        self.calls.append(
            FakeCall(
                "stream_reply", [dict(m) for m in messages], "", max_tokens, tuple(stop), extra
            )  # type: ignore[misc]
        )
        reply = self.replies.popleft() if self.replies else ""
        finished = False
        try:
            if isinstance(reply, str):
                words = reply.split(" ")
                for i, word in enumerate(words):
                    if self.delay_s:
                        await asyncio.sleep(self.delay_s)
                    yield ReplyChunk(text=word if i == 0 else " " + word)
                completion = len(words)
            else:
                for i, call in enumerate(reply):
                    yield ReplyChunk(
                        tool_calls=[
                            ToolCallChunk(
                                index=i,
                                id=f"call_{i}",
                                name=call["name"],
                                args=json.dumps(call["args"]),
                            )
                        ]
                    )
                completion = 10 * len(reply)
            prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
            yield ReplyChunk(
                finish_reason="stop" if isinstance(reply, str) else "tool_calls",
                prompt_tokens=prompt,
                completion_tokens=completion,
                has_usage=True,
            )
            finished = True
        finally:
            if not finished:
                self.closed_streams += 1

    async def aclose(self) -> None:
        """Nothing to close."""

    def count(self, kind: str) -> int:
        """How many calls of ``kind`` were made."""
        return sum(call.kind == kind for call in self.calls)
