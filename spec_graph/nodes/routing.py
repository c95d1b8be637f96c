"""Routing after a kept step: where the chain goes, and keeping a step.

Where the chain goes after a step is kept is the strategy's call (`SpecContext.strategy`,
a `Routing`): `keep` asks it, so the same nodes serve every strategy. A kept step that
calls tools goes to the ``tools`` node first (`spec_graph.nodes.tools`).
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command

from spec_graph.nodes.context import SpecContext, stop_reason
from spec_graph.state import SpecState, Step
from spec_graph.tools import ToolCall, parse_tool_calls
from spec_graph.tools.protocol import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

__all__ = [
    "close_tool_call",
    "keep",
    "next_node",
    "pending_tool_calls",
    "start_condition",
    "warming_up",
]


def close_tool_call(text: str) -> str:
    """``text`` with the closing tag of a call the ``</tool_call>`` stop sequence cut off."""
    opened = text.rfind(TOOL_CALL_OPEN)
    if opened >= 0 and text.find(TOOL_CALL_CLOSE, opened) < 0:
        return f"{text.rstrip()}\n{TOOL_CALL_CLOSE}"
    return text


def pending_tool_calls(state: SpecState, ctx: SpecContext) -> list[ToolCall]:
    """The calls in the last kept step, when the run has tools and that step is not a result."""
    steps = state.get("steps", [])
    if not ctx.tools or not steps or steps[-1].source == "tool":
        return []
    return parse_tool_calls(steps[-1].text)


def next_node(state: SpecState, ctx: SpecContext) -> str:
    """After a step is kept: ``answer`` when the chain should stop, else the strategy's pick."""
    if stop_reason(state, ctx.config) is not None:
        return "answer"
    if ctx.tools and ctx.strategy.tool_steps and pending_tool_calls(state, ctx):
        return "tools"
    return ctx.strategy.next_node(state, ctx)


async def start_condition(state: SpecState, runtime: Runtime[SpecContext]) -> str:
    """The first node of a run (``async``: LangGraph runs a sync router in a thread pool)."""
    ctx = runtime.context
    if stop_reason(state, ctx.config) is not None:
        return "answer"
    return ctx.strategy.first_node(state, ctx)


def warming_up(state: SpecState, ctx: SpecContext) -> bool:
    """The chain is still in its warm-up: the target writes the first ``warmup_steps``."""
    return len(state.get("steps", [])) < ctx.config.warmup_steps


def keep(state: SpecState, step: Step, ctx: SpecContext) -> Command[str]:
    """Append ``step`` to the chain, clear the candidate, and go where the longer chain leads."""
    if ctx.tools and step.source != "tool":
        closed = close_tool_call(step.text)
        if closed != step.text:  # edited: its tokens are no longer the text's
            step = step.model_copy(update={"text": closed, "token_ids": None})
    chain: SpecState = {**state, "steps": [*state.get("steps", []), step]}
    return Command(update={"steps": [step], "candidate": None}, goto=next_node(chain, ctx))
