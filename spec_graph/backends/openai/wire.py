"""Reading OpenAI-shaped responses (chat, completions, stream chunks) into plain values.

Pure functions, no I/O: `spec_graph.backends.openai.backend` sends the requests and uses these
to read what came back, whatever the server (vLLM, SGLang, llama.cpp, ...) filled in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spec_graph.backends.base import Generation, ReplyChunk, ToolCallChunk
from spec_graph.backends.openai.text_tools import cut_tool_call, reply_tool_calls
from spec_graph.usage import Usage

__all__ = [
    "Choice",
    "Reply",
    "chat_reply",
    "generations_of",
    "prompt_logprobs",
    "raw_reply",
    "reply_chunk",
    "resolve_text_tools",
    "root_cause",
    "short",
    "shown_tools",
    "usage_of",
]


@dataclass(frozen=True)
class Choice:
    """One choice of a response: its new text and, when asked for, its logprobs."""

    text: str
    finish_reason: str | None
    token_logprobs: list[float] | None = None
    """Each generated token's logprob; None when the response carried none."""
    top_logprobs: list[tuple[str, float]] = field(default_factory=list)
    """The first token's top-k alternatives."""


@dataclass(frozen=True)
class Reply:
    """A whole (non-streamed) response: its choices in index order and its usage."""

    choices: list[Choice]
    usage: Usage
    """For the whole request (all choices), ``calls=1`` and no seconds yet."""
    prompt_logprobs: list[tuple[str, float]] = field(default_factory=list)


def chat_reply(response: Any, prefix: str, echoes_prefix: bool) -> Reply:
    """A ``/chat/completions`` response; strips the echoed ``prefix`` from each choice.

    A choice whose ``content`` is empty but whose reasoning field is not (a server running a
    reasoning parser, e.g. vLLM ``--reasoning-parser``, moves a continuation written inside
    the think block there) reads as that text: it is the step that was asked for.
    """
    choices = []
    for choice in sorted(response.choices, key=lambda c: c.index or 0):
        text = choice.message.content or _parsed_reasoning(choice.message)
        if prefix and echoes_prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        content = choice.logprobs.content if choice.logprobs else None
        choices.append(
            Choice(
                text=text,
                finish_reason=choice.finish_reason,
                token_logprobs=None if content is None else [t.logprob for t in content],
                top_logprobs=[(t.token, t.logprob) for t in content[0].top_logprobs]
                if content
                else [],
            )
        )
    return Reply(
        choices=choices,
        usage=usage_of(response.usage),
        prompt_logprobs=prompt_logprobs(getattr(response, "prompt_logprobs", None)),
    )


def _parsed_reasoning(message: Any) -> str:
    """The text a reasoning parser moved out of ``content``; ``""`` if there is none.

    ``reasoning`` is vLLM's name since late 2025, ``reasoning_content`` the older one (also
    SGLang's, llama.cpp's and DeepSeek's).
    """
    extra = getattr(message, "model_extra", None) or {}
    for name in ("reasoning", "reasoning_content"):
        value = getattr(message, name, None) or extra.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def raw_reply(response: Any) -> Reply:
    """A ``/completions`` response, its logprobs in either shape servers use."""
    choices = []
    for choice in sorted(response.choices, key=lambda c: c.index or 0):
        data = _dump(choice.logprobs)
        choices.append(
            Choice(
                text=choice.text or "",
                finish_reason=choice.finish_reason,
                token_logprobs=_raw_token_logprobs(data),
                top_logprobs=_raw_top_logprobs(data),
            )
        )
    return Reply(choices=choices, usage=usage_of(response.usage))


def _dump(logprobs: Any) -> dict[str, Any] | None:
    if logprobs is None:
        return None
    return logprobs.model_dump() if hasattr(logprobs, "model_dump") else dict(logprobs)


def _raw_token_logprobs(data: dict[str, Any] | None) -> list[float] | None:
    if data is None:
        return None
    content = data.get("content")  # llama.cpp: the chat-style list
    if content is not None:
        return [float(t["logprob"]) for t in content]
    legacy = data.get("token_logprobs")  # vLLM / OpenAI legacy: one float per token
    return None if legacy is None else [float(lp) for lp in legacy]


def _raw_top_logprobs(data: dict[str, Any] | None) -> list[tuple[str, float]]:
    """Top-k of the first token from a completions response."""
    if data is None:
        return []
    content = data.get("content")
    if content:
        return [(t["token"], t["logprob"]) for t in content[0]["top_logprobs"]]
    legacy = data.get("top_logprobs")  # [{token: logprob}, ...]
    if legacy:
        return list(legacy[0].items())
    return []


def generations_of(reply: Reply, logprobs: bool, seconds: float) -> list[Generation]:
    """One `Generation` per choice of an ``n=`` reply, their usage adding up to the reply's.

    Each choice is one call; the first carries the prompt (and cached) tokens; completion
    tokens are each choice's logprobs' length when asked for, else the total split evenly;
    every choice gets the request's full ``seconds`` (the choices were decoded together).
    """
    total = reply.usage
    even, rest = divmod(total.completion_tokens, len(reply.choices))
    generations = []
    for i, choice in enumerate(reply.choices):
        if logprobs and choice.token_logprobs is not None:
            completion = len(choice.token_logprobs)
        else:  # the server reports one total for all choices: split it evenly
            completion = even + (1 if i < rest else 0)
        usage = Usage(
            calls=1,
            prompt_tokens=total.prompt_tokens if i == 0 else 0,
            cached_tokens=total.cached_tokens if i == 0 else 0,
            completion_tokens=completion,
            seconds=seconds,
        )
        generations.append(
            Generation(
                text=choice.text,
                finish_reason=choice.finish_reason,
                usage=usage,
                token_logprobs=choice.token_logprobs if logprobs else None,
            )
        )
    return generations


def prompt_logprobs(entries: Any) -> list[tuple[str, float]]:
    """The prompt's tokens and their logprobs, from vLLM's ``prompt_logprobs``.

    One entry per prompt token: None (the first), or ``{id: {logprob, decoded_token, ...}}``
    holding just the prompt's own token when 0 alternatives were asked for.
    """
    pairs: list[tuple[str, float]] = []
    for entry in entries or []:
        if not entry:
            continue  # the first token has no logprob
        info = next(iter(entry.values()))
        pairs.append((str(info.get("decoded_token") or ""), float(info["logprob"])))
    return pairs


def usage_of(usage: Any) -> Usage:
    """One request's usage (``calls=1``); zeros where the server said nothing."""
    if usage is None:
        return Usage(calls=1)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return Usage(
        calls=1,
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_tokens=cached or 0,
    )


def shown_tools(tools: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    """Request fields that show ``tools`` to the model without letting it call one.

    Reasoning steps and the judge then see the same prompt (tools in the template) as the reply.
    """
    return {"tools": list(tools), "tool_choice": "none"} if tools else {}


def resolve_text_tools(
    text: str,
    tools: Sequence[dict[str, Any]],
    tool_choice: Any = None,
    finish_reason: str | None = None,
) -> ReplyChunk:
    """Held-back reply text: tool calls if it is one (servers without native parsing).

    A reply cut off by ``max_tokens`` (``finish_reason="length"``) while it wrote a call is
    that call, its arguments as far as they came (`cut_tool_call`), as a server that parses
    calls streams it: never the call's JSON as the reply's text.
    """
    calls = reply_tool_calls(text, tools)
    if not calls and finish_reason == "length":
        cut = cut_tool_call(text, tools, forced=tool_choice == "required")
        if cut is not None:
            return ReplyChunk(tool_calls=[ToolCallChunk(index=0, **cut)])
    if not calls:
        return ReplyChunk(text=text)
    return ReplyChunk(
        tool_calls=[
            ToolCallChunk(index=i, id=c["id"], name=c["name"], args=json.dumps(c["args"]))
            for i, c in enumerate(calls)
        ],
        finish_reason="tool_calls",
    )


def reply_chunk(chunk: Any) -> ReplyChunk:
    """One streamed chunk; ``usage`` is set (without seconds) on the chunk that has it."""
    text, finish, calls = "", None, []
    if chunk.choices:
        choice = chunk.choices[0]
        finish = choice.finish_reason
        delta = choice.delta
        if delta is not None:
            text = delta.content or ""
            for call in delta.tool_calls or []:
                function = call.function
                calls.append(
                    ToolCallChunk(
                        index=call.index,
                        id=call.id,
                        name=function.name if function else None,
                        args=function.arguments if function else None,
                    )
                )
    usage = None if chunk.usage is None else usage_of(chunk.usage)
    return ReplyChunk(text=text, tool_calls=calls, finish_reason=finish, usage=usage)


def root_cause(error: BaseException) -> str:
    """The innermost cause's message, shortened."""
    cause: BaseException = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return short(str(cause) or type(cause).__name__)


def short(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
