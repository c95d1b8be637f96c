"""Tool calls inside the reasoning: a kept step that calls tools is followed by their results.

A step calls a tool in the text protocol of `spec_graph.tools.protocol` (the
``<tool_call>{...}</tool_call>`` format Qwen-family models are trained on); step generation
stops right after a call, so a model cannot invent the result itself. When such a step is
kept, `spec_graph.nodes.next_node` routes to `run_tools`, which runs the calls (bounded:
calls per run, seconds per call, output size; a failing tool gives the model an error
message, never a crash) and keeps their results as a step with ``source="tool"``. The step
after it, and the judge of that step, see the results in the chain.
"""

from __future__ import annotations

import time

from langgraph.runtime import Runtime
from langgraph.types import Command

from spec_graph.nodes.context import SpecContext
from spec_graph.nodes.routing import close_tool_call, keep, pending_tool_calls
from spec_graph.state import SpecState, Step
from spec_graph.tools import ToolCall, ToolResult, format_tool_result, run_tool_call

__all__ = ["close_tool_call", "pending_tool_calls", "run_tools"]


def calls_used(state: SpecState) -> int:
    """Tool calls already run in this chain."""
    return sum(len(s.note.get("calls", ())) for s in state.get("steps", []) if s.source == "tool")


def _limit_reached(call: ToolCall, limit: int) -> ToolResult:
    return ToolResult(
        name=call.name,
        arguments=call.arguments,
        output=f"error: the limit of {limit} tool calls per run is reached; go on without it",
        error=True,
        seconds=0.0,
    )


async def run_tools(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """Run the last step's tool calls and keep their results as the next (``tool``) step."""
    ctx = runtime.context
    limits = ctx.tool_limits
    calls = pending_tool_calls(state, ctx)
    room = max(0, limits.max_calls_per_run - calls_used(state))
    started = time.perf_counter()
    results = [await run_tool_call(call, ctx.tools, limits) for call in calls[:room]]
    results += [_limit_reached(call, limits.max_calls_per_run) for call in calls[room:]]
    step = Step(
        index=len(state.get("steps", [])),
        text="\n".join(format_tool_result(r) for r in results),
        source="tool",
        note={
            "calls": [
                {"name": r.name, "error": r.error, "seconds": round(r.seconds, 4)} for r in results
            ],
            "seconds": time.perf_counter() - started,
        },
    )
    return keep(state, step, ctx)
