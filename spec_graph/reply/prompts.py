"""The two requests of a reply: the reasoning's (with an instruction) and the reply's own.

Both start with the caller's conversation unchanged, so the servers' prefix caches hold
across the reasoning steps and the reply.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph

from spec_graph import nodes
from spec_graph.prompts import ChatMessage, chain_prefix, with_system_note
from spec_graph.reply.settings import CallSettings
from spec_graph.strategies import Strategy

__all__ = [
    "REASONING_INSTRUCTION",
    "REPLY_INSTRUCTION",
    "REPLY_WITH_TOOLS_INSTRUCTION",
    "TOOLS_INSTRUCTION",
    "reply_graph",
    "reply_messages",
    "with_reasoning_instruction",
]

REASONING_INSTRUCTION = (
    "Before you reply, think step by step about the conversation. Separate the steps with a "
    "blank line. Stop when you know what to reply."
)
TOOLS_INSTRUCTION = (
    "Your reply can call the tools you have been given. When one of them does what is asked, "
    "plan to call it (with which arguments) rather than working out its result yourself."
)
REPLY_INSTRUCTION = (
    "Now write your reply to my last message, based on the reasoning above, without "
    "repeating the reasoning."
)
REPLY_WITH_TOOLS_INSTRUCTION = (
    "Act on these notes now. If they plan a tool call whose result is not in the conversation "
    "yet, make that call. If the tool results are already above, answer my question directly "
    "with those results (state the values), without repeating the notes."
)

_REPLY_GRAPHS: weakref.WeakKeyDictionary[Strategy, CompiledStateGraph[Any, Any, Any, Any]] = (
    weakref.WeakKeyDictionary()
)
_SAVED_GRAPHS: weakref.WeakKeyDictionary[
    Any, weakref.WeakKeyDictionary[Strategy, CompiledStateGraph[Any, Any, Any, Any]]
] = weakref.WeakKeyDictionary()
"""Per checkpointer: its reply graphs (gone with the checkpointer)."""
_REPLY_GRAPHS_LOCK = threading.Lock()


def reply_graph(
    strategy: Strategy, checkpointer: Any = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``strategy``'s graph ending in `nodes.finish` (compiled once per strategy object).

    The reply is written after the graph, so the strategy's ``answer`` node is not run.
    Without ``checkpointer``, none of its own, even as a node inside a checkpointed graph
    (an agent's checkpointer saves the agent, not each reasoning run); with one, the runs of
    a thread are saved in it (durable threads, `spec_graph.threads`).
    """
    with _REPLY_GRAPHS_LOCK:
        graphs = (
            _REPLY_GRAPHS
            if checkpointer is None
            else _SAVED_GRAPHS.setdefault(checkpointer, weakref.WeakKeyDictionary())
        )
        graph = graphs.get(strategy)
        if graph is None:
            graph = strategy.build(answer=nodes.finish, checkpointer=checkpointer or False)
            graphs[strategy] = graph
        return graph


def with_reasoning_instruction(
    messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Put the step-by-step instruction in the system message (same prefix for every call).

    With tools bound, the models also see the tools while reasoning (the chat template lists
    them) and are told to plan a call rather than work out by hand what the tool computes.
    """
    instruction = REASONING_INSTRUCTION
    if tools:
        instruction += f"\n\n{TOOLS_INSTRUCTION}"
    noted = with_system_note(cast("list[ChatMessage]", messages), instruction)
    result = cast("list[dict[str, Any]]", noted)
    # stripped, as always: an empty system message leaves no blank line before the instruction
    result[0] = {**result[0], "content": result[0]["content"].strip()}
    return result


def reply_messages(
    messages: list[dict[str, Any]],
    reasoning_messages: list[dict[str, Any]],
    steps: Sequence[str],
    call: CallSettings,
) -> list[dict[str, Any]]:
    """The request for the reply, after the kept reasoning ``steps``.

    By default the reasoning stays the model's own (assistant) turn, exactly as the servers
    cached it, followed by a short user turn asking for the reply. When the model must *choose*
    whether to call a tool (tools bound, tool_choice not forced), the reasoning goes into the
    user turn as notes instead: after an assistant turn that "planned" a call, models answer
    as if the call had already happened (seen with Qwen2.5-Coder-1.5B).
    """
    if not steps:
        return messages
    notes = chain_prefix(steps, "\n\n").rstrip()
    if notes_in_user_turn(call):
        request = (
            "Your reasoning so far (private notes):\n<reasoning>\n"
            f"{notes}\n</reasoning>\n\n{REPLY_WITH_TOOLS_INSTRUCTION}"
        )
        return [*reasoning_messages, {"role": "user", "content": request}]
    return [
        *reasoning_messages,
        {"role": "assistant", "content": notes},
        {"role": "user", "content": REPLY_INSTRUCTION},
    ]


def notes_in_user_turn(call: CallSettings) -> bool:
    """Whether `reply_messages` hands the reasoning over as ``<reasoning>`` notes.

    Then the reply goes through `spec_graph.reply.scaffold`, since small models echo the wrapper.
    """
    return bool(call.tools) and call.tool_choice not in ("required", "none")
