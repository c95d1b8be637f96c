"""`reply_stream`: a reasoning run turned into a reply, as framework-neutral events.

The one code path behind every front end (the LangChain chat model; an OpenAI-compatible
server): the conversation (OpenAI-style ``role``/``content`` dicts) goes to the reasoner with
the step-by-step instruction, each kept step is yielded as it is kept, then the target writes
the reply (text or native tool calls) after the reasoning, then one `ReplyDone` carries the
usage of both models and the run's telemetry.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

from langgraph.constants import TAG_NOSTREAM

from spec_graph.backends import ReplyChunk, ReplyRequest
from spec_graph.errors import UserError
from spec_graph.prompts import ChatMessage
from spec_graph.reply.events import (
    ModelTokens,
    ReasoningDelta,
    ReplyDone,
    ReplyEvent,
    ReplyTelemetry,
    ReplyTimings,
    ReplyUsage,
    TextDelta,
    ToolCallDelta,
)
from spec_graph.reply.prompts import (
    notes_in_user_turn,
    reply_graph,
    reply_messages,
    with_reasoning_instruction,
)
from spec_graph.reply.scaffold import ScaffoldFilter
from spec_graph.reply.settings import CallSettings
from spec_graph.state import ReasoningResult, Step
from spec_graph.strategies import get_strategy
from spec_graph.usage import Usage

if TYPE_CHECKING:
    from spec_graph.reasoner import SpeculativeReasoner

__all__ = ["check_messages", "reply_stream", "reply_telemetry", "reply_usage", "run_reply"]


async def reply_stream(
    reasoner: SpeculativeReasoner,
    messages: list[dict[str, Any]],
    *,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: Any = None,
    response_format: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
    temperature: float | None = None,
    caller: str = "reply_stream",
    **overrides: Any,
) -> AsyncGenerator[ReplyEvent, None]:
    """Reason about ``messages`` with ``reasoner``, then reply; yield the events in order.

    Args:
        reasoner: the draft/target pair and its config (a prebuilt graph is kept; otherwise
            the call's strategy runs with a graph that ends without an answer).
        messages: the conversation, OpenAI-style dicts with text ``content``.
        tools: OpenAI-format tool schemas (shown while reasoning, callable in the reply).
        tool_choice: ``"auto"``, ``"none"`` or ``"required"`` (with ``tools``).
        response_format: OpenAI ``response_format`` for the reply (JSON schema / object).
        max_tokens: longest reply (the reasoning has ``token_budget``); None: the server's.
        stop: the reply's stop sequences.
        temperature: the reply's temperature (default: the target's step sampling).
        caller: the front end's name, for the error on an unknown argument.
        **overrides: `ReasoningConfig` fields and the call's strategy's own settings.

    Yields:
        `ReasoningDelta` per kept step, then `TextDelta` / `ToolCallDelta` pieces, then one
        `ReplyDone`. Closing the iterator early stops the servers' work.

    Raises:
        UserError: empty conversation, non-text content, unknown arguments or settings.
    """
    call = CallSettings.resolve(
        reasoner.config,
        stop=stop,
        temperature=temperature,
        max_tokens=max_tokens,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
        overrides=overrides,
        caller=caller,
    )
    async with aclosing(run_reply(reasoner, check_messages(messages), call)) as events:
        async for event in events:
            yield event


async def run_reply(
    reasoner: SpeculativeReasoner, messages: list[dict[str, Any]], call: CallSettings
) -> AsyncGenerator[ReplyEvent, None]:
    """`reply_stream` with its settings already resolved (`CallSettings.resolve`).

    For a front end that validates a request before it starts (an HTTP server answering
    4xx, the chat model before it starts its embedded models); ``messages`` as
    `check_messages` returns them.
    """
    reasoning_messages = with_reasoning_instruction(messages, call.tools)
    runner = _runner(reasoner, call)
    steps: list[str] = []
    result: ReasoningResult | None = None
    async for item in runner.astream(
        messages=cast("list[ChatMessage]", reasoning_messages),
        thread_id=call.thread_id,
        run_config={"tags": [TAG_NOSTREAM], "callbacks": None},
    ):
        if isinstance(item, Step):
            if item.text.strip():
                steps.append(item.text)
                yield ReasoningDelta(text=item.text + call.config.step_delimiter)
        else:
            result = item
    if result is None:  # pragma: no cover - astream always ends with the result
        raise RuntimeError("the reasoning run ended without a result")
    request = ReplyRequest(
        messages=reply_messages(messages, reasoning_messages, steps, call),
        max_tokens=call.max_tokens,
        stop=call.stop,
        sampling=call.sampling(),
        tools=call.tools,
        tool_choice=call.tool_choice,
        parallel_tool_calls=call.parallel_tool_calls,
        # with tools, the schema constrains only a final answer (`_tools_then_schema`)
        response_format=None if call.tools else call.response_format,
    )
    usage = Usage()
    finish_reason = None
    started = time.perf_counter()
    pieces = (
        _tools_then_schema(runner.target, request, call.response_format)
        if call.tools and call.response_format is not None
        else runner.target.stream_reply(request)
    )
    scaffold = ScaffoldFilter() if steps and notes_in_user_turn(call) else None
    try:
        async for piece in pieces:
            if piece.usage is not None:
                usage = piece.usage
            finish_reason = piece.finish_reason or finish_reason
            text = scaffold.feed(piece.text) if scaffold and piece.text else piece.text
            if text:
                yield TextDelta(text=text)
            for t in piece.tool_calls:
                if t.index > 0 and call.parallel_tool_calls is False:
                    continue  # one call asked for: a server that wrote more is cut to one
                yield ToolCallDelta(index=t.index, id=t.id, name=t.name, args=t.args)
    finally:
        await _closed(pieces)
    if scaffold is not None and (rest := scaffold.flush()):
        yield TextDelta(text=rest)
    reply_s = time.perf_counter() - started
    yield ReplyDone(
        usage=reply_usage(result, usage),
        finish_reason=finish_reason,
        telemetry=reply_telemetry(result, reply_s),
    )


async def _tools_then_schema(
    target: Any, request: ReplyRequest, response_format: dict[str, Any]
) -> AsyncGenerator[ReplyChunk, None]:
    """A reply that may call a tool, or else answers in ``response_format``.

    A JSON-schema grammar bound together with tools would constrain every reply to the schema,
    so no tool could ever be called (``create_agent(..., response_format=Schema)`` silently
    lost its tools). So the model first replies with the tools and no schema; a reply that
    calls a tool is passed on as it is, and one that does not is replaced by a second reply
    constrained to the schema (without tools). Usage counts both requests.
    """
    held: list[ReplyChunk] = []
    calls_tool = False
    first_usage = Usage()
    pieces = target.stream_reply(request)
    try:
        async for piece in pieces:
            if piece.tool_calls and not calls_tool:
                calls_tool = True
                for waiting in held:
                    yield waiting
                held = []
            if calls_tool:
                yield piece
            elif piece.usage is not None:
                first_usage = piece.usage
            else:
                held.append(piece)
    finally:
        await _closed(pieces)
    if calls_tool:
        return
    answer = request.model_copy(
        update={"tools": None, "tool_choice": None, "response_format": response_format}
    )
    pieces = target.stream_reply(answer)
    try:
        async for piece in pieces:
            if piece.usage is not None:
                piece = piece.model_copy(update={"usage": first_usage + piece.usage})
            yield piece
    finally:
        await _closed(pieces)


async def _closed(pieces: Any) -> None:
    aclose = getattr(pieces, "aclose", None)
    if aclose is not None:
        await aclose()  # stops the server's work when the caller closes early


def check_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``messages`` with text content (None -> ""); `UserError` otherwise."""
    if not messages:
        raise UserError("no messages to reply to")
    checked = []
    for message in messages:
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            kinds = sorted({str(b.get("type")) for b in content if isinstance(b, dict)})
            raise UserError(f"only text content is supported; got content blocks of type {kinds}")
        checked.append({**message, "content": content or ""})
    return checked


def _runner(reasoner: SpeculativeReasoner, call: CallSettings) -> SpeculativeReasoner:
    """The reasoner for one call: its config, and a graph that ends without an answer.

    The reply is written here, so the strategy's ``answer`` node is replaced by
    `nodes.finish`; a reasoner given with its own graph keeps that graph.
    """
    runner = copy.copy(reasoner)
    runner.config = call.config
    if reasoner.graph is None:
        runner.graph = reply_graph(get_strategy(call.config.strategy), reasoner.checkpointer)
    return runner


def reply_usage(result: ReasoningResult, reply: Usage) -> ReplyUsage:
    """Both models' tokens: the run's totals (reasoning) plus the reply's own.

    A judge call counts one completion token (its verdict).
    """
    t = result.totals
    reasoning = t.draft_tokens + t.target_tokens + t.judge_calls
    prompt = t.draft_prompt_tokens + t.target_prompt_tokens + reply.prompt_tokens
    completion = reasoning + reply.completion_tokens
    return ReplyUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=t.cached_prompt_tokens + reply.cached_tokens,
        reasoning_tokens=reasoning,
        draft=ModelTokens(prompt_tokens=t.draft_prompt_tokens, completion_tokens=t.draft_tokens),
        target=ModelTokens(
            prompt_tokens=t.target_prompt_tokens + reply.prompt_tokens,
            completion_tokens=t.target_tokens + t.judge_calls + reply.completion_tokens,
        ),
    )


def reply_telemetry(result: ReasoningResult, reply_s: float) -> ReplyTelemetry:
    """The run at a glance (`ReplyTelemetry`), with the reply's seconds."""
    t = result.totals
    return ReplyTelemetry(
        strategy=result.strategy,
        draft_model=result.draft_model,
        target_model=result.target_model,
        steps=t.steps,
        draft_steps=t.draft_steps,
        target_steps=t.target_steps,
        acceptance_rate=t.acceptance_rate,
        judge_calls=t.judge_calls,
        gated_steps=t.gated_steps,
        stop_reason=result.stop_reason,
        telemetry=result.telemetry,
        timings=ReplyTimings(
            draft_s=t.draft_s,
            judge_s=t.judge_s,
            correct_s=t.correct_s,
            reasoning_s=t.wall_s,
            reply_s=reply_s,
        ),
    )
