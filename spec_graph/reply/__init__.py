"""A framework-neutral reply pipeline: reasoning run -> reply, as plain events.

`reply_stream` is the one code path behind every front end: the LangChain chat model
(`spec_graph.chat_models`) and an OpenAI-compatible server are thin adapters that map its
events (`ReasoningDelta`, `TextDelta`, `ToolCallDelta`, `ReplyDone`) to their own types.
Nothing here imports LangChain's message types.
"""

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
from spec_graph.reply.pipeline import reply_stream, run_reply
from spec_graph.reply.prompts import (
    REASONING_INSTRUCTION,
    REPLY_INSTRUCTION,
    REPLY_WITH_TOOLS_INSTRUCTION,
    TOOLS_INSTRUCTION,
)
from spec_graph.reply.settings import CallSettings

__all__ = [
    "REASONING_INSTRUCTION",
    "REPLY_INSTRUCTION",
    "REPLY_WITH_TOOLS_INSTRUCTION",
    "TOOLS_INSTRUCTION",
    "CallSettings",
    "ModelTokens",
    "ReasoningDelta",
    "ReplyDone",
    "ReplyEvent",
    "ReplyTelemetry",
    "ReplyTimings",
    "ReplyUsage",
    "TextDelta",
    "ToolCallDelta",
    "reply_stream",
    "run_reply",
]
