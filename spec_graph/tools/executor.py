"""Run one parsed tool call against any LangChain tool, bounded, and never raise.

A reasoning run must survive whatever a model writes: an unknown tool, arguments of the
wrong shape, a tool that throws or hangs. Each of those becomes a `ToolResult` with
``error=True`` and an output that starts with ``error:`` and says what went wrong in one
line, so the model reads it in the chain and can correct itself on the next step.

Bounds, from `ToolLimits`: seconds per call (a hung *sync* tool keeps its worker thread
until it returns, Python cannot kill a thread, but the run goes on without it) and output
characters (head and tail kept around a marker). ``max_calls_per_run`` is counted by the
caller, which knows the run; the executor sees one call at a time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spec_graph.errors import UserError
from spec_graph.tools._errors import ToolError
from spec_graph.tools._text import truncate
from spec_graph.tools.protocol import ToolCall

__all__ = ["ToolLimits", "ToolResult", "run_tool_call", "tools_by_name"]


class ToolLimits(BaseModel):
    """How much tool use one reasoning run may spend."""

    model_config = ConfigDict(frozen=True)

    max_calls_per_run: int = Field(default=8, ge=0)
    """Calls a run may make in all (enforced by the caller: the graph counts its calls)."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Wall seconds per call; a slower call gives an error result."""
    max_output_chars: int = Field(default=2000, ge=0)
    """Longer output is cut to this many characters, with a marker saying so."""


class ToolResult(BaseModel):
    """The outcome of one call, as the chain and the telemetry see it."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    output: str
    """What the model reads: the tool's output, or ``error: ...`` for a failed call."""
    error: bool = False
    """The call did not run to completion (unknown tool, bad arguments, exception, timeout)."""
    seconds: float = 0.0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(error: BaseException) -> str:
    if isinstance(error, (ToolError, ToolException)):
        return _one_line(str(error)) or type(error).__name__
    message = _one_line(str(error))
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _validation_message(error: ValidationError, tool_: BaseTool) -> str:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}"
        for item in error.errors()
    )
    expected = ", ".join(tool_.args) or "no arguments"
    return f"{problems} (expects: {expected})"


def _as_text(value: Any) -> str:
    if isinstance(value, ToolMessage):
        value = value.content
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _forget(task: asyncio.Future[Any]) -> None:
    """Retrieve a timed-out task's outcome so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


async def run_tool_call(
    call: ToolCall, tools: Mapping[str, BaseTool], limits: ToolLimits | None = None
) -> ToolResult:
    """Run ``call`` with ``tools[call.name]`` (``await tool.ainvoke(arguments)``).

    Never raises (except `asyncio.CancelledError` when the run itself is cancelled): every
    failure is a `ToolResult` with ``error=True``.
    """
    limits = limits or ToolLimits()
    started = time.perf_counter()

    def result(output: str, error: bool) -> ToolResult:
        return ToolResult(
            name=call.name,
            arguments=dict(call.arguments),
            output=truncate(output, limits.max_output_chars),
            error=error,
            seconds=time.perf_counter() - started,
        )

    if call.error is not None:
        return result(f"error: malformed tool call: {call.error}", True)
    tool_ = tools.get(call.name)
    if tool_ is None:
        known = ", ".join(sorted(tools)) or "none"
        return result(f"error: unknown tool {call.name!r}; known tools: {known}", True)
    task = asyncio.ensure_future(tool_.ainvoke(dict(call.arguments)))
    try:
        finished, _ = await asyncio.wait({task}, timeout=limits.timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not finished:
        task.cancel()
        task.add_done_callback(_forget)
        return result(f"error: tool {call.name} timed out after {limits.timeout_s} s", True)
    try:
        value = task.result()
    except ValidationError as error:
        message = _validation_message(error, tool_)
        return result(f"error: bad arguments for tool {call.name}: {message}", True)
    except asyncio.CancelledError:
        return result(f"error: tool {call.name} was cancelled", True)
    except Exception as error:
        return result(f"error: tool {call.name} failed: {_describe(error)}", True)
    return result(_as_text(value), False)


def tools_by_name(tools: Iterable[BaseTool | Callable[..., Any]]) -> dict[str, BaseTool]:
    """``{tool.name: tool}``; plain functions become tools with `langchain_core.tools.tool`.

    Raises `UserError` for two tools with one name (a model could not tell them apart) and
    for something that is neither a tool nor a function with a docstring.
    """
    by_name: dict[str, BaseTool] = {}
    for item in tools:
        if isinstance(item, BaseTool):
            converted = item
        elif callable(item):
            try:
                converted = tool(item)
            except (ValueError, TypeError) as error:
                raise UserError(
                    f"cannot make a tool of {item!r}: {_one_line(str(error))}"
                ) from None
        else:
            raise UserError(f"not a tool or a function: {item!r}")
        if converted.name in by_name:
            raise UserError(f"two tools are named {converted.name!r}; tool names must be unique")
        by_name[converted.name] = converted
    return by_name
