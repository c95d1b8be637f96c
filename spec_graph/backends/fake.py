"""`ScriptedFakeBackend`: a scripted *fake* model backend, for unit tests of graph logic.

`ScriptedFakeBackend` is a fake, not a model: it replays the steps and judge scores it is
given, records every call, and never touches the network. Use it to test your own nodes or
routing; use a real server (`spec_graph.EmbeddedModels("tiny")`) to test behaviour.
`spec_graph.testing` re-exports it.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from spec_graph.backends.base import (
    BackendBase,
    BackendCapabilities,
    GenerateRequest,
    Generation,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
    ToolCallChunk,
)
from spec_graph.usage import Usage

__all__ = ["FakeCall", "ScriptedFakeBackend"]

Scripted = int | None | list[tuple[str, float]]
ScriptedReply = str | list[dict[str, Any]]
"""A reply: text (streamed word by word) or tool calls ``[{"name": ..., "args": {...}}]``.

Past the request's ``max_tokens`` (a token is a word: of the text, or of the calls' JSON
arguments) the reply is cut there, with ``finish_reason="length"``, as a server cuts it."""
ScriptedLogprobs = float | list[float]
"""Per-token logprobs of one generation: one value for every token, or the list itself."""

Request = GenerateRequest | ScoreRequest | ReplyRequest
T = TypeVar("T")


@dataclass(frozen=True)
class FakeCall:
    """One call the fake received: its kind and the request itself."""

    kind: str
    """``generate``, ``next_token`` or ``stream_reply`` (``generate_many`` records n
    ``generate`` calls)."""
    request: Request

    @property
    def messages(self) -> list[Any]:
        """The request's messages."""
        return list(self.request.messages)

    @property
    def prefix(self) -> str:
        """The continued prefix ("" for ``stream_reply``)."""
        return getattr(self.request, "prefix", "")

    @property
    def max_tokens(self) -> int | None:
        """The token cap (1 for ``next_token``)."""
        if isinstance(self.request, ScoreRequest):
            return 1
        return self.request.max_tokens

    @property
    def stop(self) -> tuple[str, ...]:
        """The stop strings (none for ``next_token``)."""
        return tuple(getattr(self.request, "stop", ()))

    @property
    def extra(self) -> dict[str, Any]:
        """The request's other options (tools, tool choice, logprobs, ...), by name."""
        fields = {
            "tools",
            "logprobs",
            "prompt_logprobs",
            "tool_choice",
            "response_format",
            "parallel_tool_calls",
        }
        return {k: v for k, v in self.request.__dict__.items() if k in fields}


class _Script(Generic[T]):
    """Scripted values handed out in *call* order, even when calls finish out of order.

    A call reserves a ticket when it starts and takes its value when its simulated latency is
    over: the value is the one at the position of its ticket among the calls still waiting.
    A call cancelled before it takes one takes nothing (the next call gets that value).
    """

    def __init__(self, values: deque[T]) -> None:
        self.values = values
        self._waiting: list[int] = []
        self._next = 0

    def reserve(self) -> int:
        self._next += 1
        self._waiting.append(self._next)
        return self._next

    def release(self, ticket: int) -> None:
        if ticket in self._waiting:
            self._waiting.remove(ticket)

    def take(self, ticket: int, default: T) -> T:
        position = self._waiting.index(ticket)
        del self._waiting[position]
        if position >= len(self.values):
            return default
        value = self.values[position]
        del self.values[position]
        return value


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


def _words(messages: Iterable[Any]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in messages)


class ScriptedFakeBackend(BackendBase):
    """A fake backend that replays scripted outputs.

    Scripted values go to calls in the order the calls were made, also when calls run
    concurrently (``generate_many`` is n concurrent ``generate`` calls, with seeds
    ``seed + i`` when the request has a seed).

    Usage of every call: ``calls=1``, prompt tokens = words of the messages, completion
    tokens = words written (1 for ``next_token``), seconds = the simulated delay.

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
        step_logprobs: per-token logprobs for successive ``generate`` calls that ask for
            ``logprobs``: a float is every token's logprob, a list is returned as it is; once
            exhausted, 0.0 per token. Calls that do not ask take none of them.
        delay_s: simulated latency per call (and per streamed chunk).
        capabilities: what the fake claims it can do (default: everything it scripts, no
            batched ``n=``), e.g. ``BackendCapabilities(batched_n=True, preferred_width=5)``
            to stand in for a vLLM server.
    """

    default_capabilities = BackendCapabilities(
        token_logprobs=True, prompt_logprobs=True, native_tool_calls=True
    )

    def __init__(
        self,
        name: str = "fake",
        *,
        steps: Iterable[str] = (),
        scores: Iterable[Scripted] = (),
        answers: Iterable[str] = (),
        replies: Iterable[ScriptedReply] = (),
        step_logprobs: Iterable[ScriptedLogprobs] = (),
        delay_s: float = 0.0,
        capabilities: BackendCapabilities | None = None,
    ) -> None:
        self.name = name
        self._capabilities = capabilities or self.default_capabilities
        self.steps: deque[str] = deque(steps)
        self.scores: deque[Scripted] = deque(scores)
        self.answers: deque[str] = deque(answers)
        self.replies: deque[ScriptedReply] = deque(replies)
        self.step_logprobs: deque[ScriptedLogprobs] = deque(step_logprobs)
        self._scripts: dict[str, _Script[Any]] = {
            "steps": _Script(self.steps),
            "scores": _Script(self.scores),
            "answers": _Script(self.answers),
            "logprobs": _Script(self.step_logprobs),
        }
        self.closed_streams = 0
        self.delay_s = delay_s
        self.calls: list[FakeCall] = []

    @property
    def model_name(self) -> str:
        """The fake's name."""
        return self.name

    async def capabilities(self) -> BackendCapabilities:
        """What the fake was told to claim."""
        return self._capabilities

    async def _after_delay(self, *names: str) -> list[Any]:
        """Wait the simulated latency, then take one value from each named script."""
        scripts = [self._scripts[name] for name in names]
        tickets = [script.reserve() for script in scripts]
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        except BaseException:
            for script, ticket in zip(scripts, tickets, strict=True):
                script.release(ticket)
            raise
        return [s.take(t, None) for s, t in zip(scripts, tickets, strict=True)]

    async def generate(self, request: GenerateRequest) -> Generation:
        """Return the next scripted step (or the answer, when the prefix opens a boxed answer)."""
        self.calls.append(FakeCall("generate", request))
        queue = "answers" if request.prefix.endswith("\\boxed{") else "steps"
        names = (queue, "logprobs") if request.logprobs else (queue,)
        taken = await self._after_delay(*names)
        text = taken[0] or ""
        tokens = text.split()[: request.max_tokens]
        text = " ".join(tokens) if len(text.split()) > request.max_tokens else text
        logprobs: list[float] | None = None
        if request.logprobs:
            scripted = taken[1] if taken[1] is not None else 0.0
            logprobs = list(scripted) if isinstance(scripted, list) else [scripted] * len(tokens)
        usage = Usage(
            calls=1,
            prompt_tokens=_words(request.messages),
            completion_tokens=len(tokens),
            seconds=self.delay_s,
        )
        return Generation(text=text, finish_reason="stop", usage=usage, token_logprobs=logprobs)

    async def next_token(self, request: ScoreRequest) -> NextToken:
        """Return the next scripted judge output."""
        self.calls.append(FakeCall("next_token", request))
        (scripted,) = await self._after_delay("scores")
        if scripted is None:
            tops = [("The", -0.1), ("I", -2.5)]
        elif isinstance(scripted, int):
            tops = _score_tokens(scripted)
        else:
            tops = list(scripted)
        scored: list[tuple[str, float]] = []
        if request.prompt_logprobs:  # the prefix's words (with their spaces) are the "tokens"
            p = max(scripted / 9, 1e-9) if isinstance(scripted, int) else 0.5
            scored = [(word, math.log(p)) for word in re.findall(r"\s*\S+", request.prefix)]
        usage = Usage(
            calls=1,
            prompt_tokens=_words(request.messages),
            completion_tokens=1,
            seconds=self.delay_s,
        )
        return NextToken(
            top_logprobs=tops[: request.top_logprobs], prompt_logprobs=scored, usage=usage
        )

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        """Stream the next scripted reply; counts streams closed before their end.

        The last chunk's usage: seconds = the delays slept (one per text chunk).
        """
        self.calls.append(FakeCall("stream_reply", request))
        reply = self.replies.popleft() if self.replies else ""
        finished = False
        slept = 0.0
        limit, cut = request.max_tokens, False
        try:
            if isinstance(reply, str):
                words = reply.split(" ")
                cut = limit is not None and len(words) > limit
                words = words[:limit] if cut else words
                for i, word in enumerate(words):
                    if self.delay_s:
                        await asyncio.sleep(self.delay_s)
                        slept += self.delay_s
                    yield ReplyChunk(text=word if i == 0 else " " + word)
                completion = len(words)
            else:
                left = limit
                for i, call in enumerate(reply):
                    words = re.findall(r"\S+\s*", json.dumps(call["args"]))
                    cut = left is not None and len(words) > left
                    args = "".join(words[:left] if cut else words)
                    if cut and not left:
                        break  # the cut came before this call
                    piece = ToolCallChunk(index=i, id=f"call_{i}", name=call["name"], args=args)
                    yield ReplyChunk(tool_calls=[piece])
                    left = None if left is None else left - len(words)
                    if cut:
                        break
                completion = limit if cut and limit is not None else 10 * len(reply)
            usage = Usage(
                calls=1,
                prompt_tokens=_words(request.messages),
                completion_tokens=completion,
                seconds=slept,
            )
            finish = "tool_calls" if isinstance(reply, list) else "stop"
            yield ReplyChunk(finish_reason="length" if cut else finish, usage=usage)
            finished = True
        finally:
            if not finished:
                self.closed_streams += 1

    async def aclose(self) -> None:
        """Nothing to close."""

    def count(self, kind: str) -> int:
        """How many calls of ``kind`` were made."""
        return sum(call.kind == kind for call in self.calls)
