"""Test helpers: a scripted *fake* model backend, for unit tests of graph logic.

`ScriptedFakeBackend` is a fake, not a model: it replays the steps and judge scores it is
given, records every call, and never touches the network. Use it to test your own nodes or
routing; use a real server (`spec_graph.EmbeddedModels("tiny")`) to test behaviour.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spec_graph.backends.base import Generation, NextToken
from spec_graph.config import SamplingConfig
from spec_graph.prompts import ChatMessage

__all__ = ["FakeCall", "ScriptedFakeBackend"]

Scripted = int | None | list[tuple[str, float]]


@dataclass(frozen=True)
class FakeCall:
    """One call the fake received."""

    kind: str
    """``generate`` or ``next_token``."""
    messages: list[ChatMessage]
    prefix: str
    max_tokens: int
    stop: tuple[str, ...]


class ScriptedFakeBackend:
    """A fake backend that replays scripted outputs.

    Args:
        name: model name reported in telemetry.
        steps: texts returned by successive ``generate`` calls ("" once exhausted).
        scores: successive judge outputs: a digit (returned as the only top token, logprob 0),
            ``None`` (a top-k without any digit), or explicit ``(token, logprob)`` pairs.
        answers: texts returned when the answer node asks for the final answer.
        delay_s: simulated latency per call.
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        steps: Iterable[str] = (),
        scores: Iterable[Scripted] = (),
        answers: Iterable[str] = (),
        delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self.steps = deque(steps)
        self.scores = deque(scores)
        self.answers = deque(answers)
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
    ) -> Generation:
        """Return the next scripted step (or the answer, when the prefix opens a boxed answer)."""
        self.calls.append(FakeCall("generate", list(messages), prefix, max_tokens, tuple(stop)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        is_answer = prefix.endswith("\\boxed{")
        queue = self.answers if is_answer else self.steps
        text = queue.popleft() if queue else ""
        tokens = text.split()[:max_tokens]
        text = " ".join(tokens) if len(text.split()) > max_tokens else text
        return Generation(text=text, finish_reason="stop", completion_tokens=len(tokens))

    async def next_token(
        self, messages: Sequence[ChatMessage], *, prefix: str, top_logprobs: int
    ) -> NextToken:
        """Return the next scripted judge output."""
        self.calls.append(FakeCall("next_token", list(messages), prefix, 1, ()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        scripted = self.scores.popleft() if self.scores else None
        if scripted is None:
            tops = [("The", -0.1), ("I", -2.5)]
        elif isinstance(scripted, int):
            tops = [(str(scripted), 0.0)]
        else:
            tops = list(scripted)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return NextToken(top_logprobs=tops[:top_logprobs], prompt_tokens=prompt_tokens)

    async def aclose(self) -> None:
        """Nothing to close."""

    def count(self, kind: str) -> int:
        """How many calls of ``kind`` were made."""
        return sum(call.kind == kind for call in self.calls)
