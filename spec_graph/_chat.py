"""Deprecated: the chat model's helpers moved to `spec_graph.reply` and `spec_graph.chat_models`.

- `spec_graph.reply`: `CallSettings` (plain arguments, no LangChain kwargs), `reply_graph`,
  `with_reasoning_instruction`, `reply_messages`, the instructions, and the reply's usage and
  telemetry (`reply_usage`, `reply_telemetry`);
- `spec_graph.chat_models._messages`: `to_wire`, `usage_metadata`, `response_metadata` (both
  now take the pipeline's `ReplyDone` values);
- `spec_graph.chat_models._structured`: `tool_binding`, `structured_output`.

Kept for one release as a re-export; importing it warns (`DeprecationWarning`).
"""

import warnings

from spec_graph.chat_models._deprecation import warn_at_caller
from spec_graph.chat_models._messages import response_metadata, to_wire, usage_metadata
from spec_graph.chat_models._structured import structured_output, tool_binding
from spec_graph.reply.pipeline import reply_telemetry, reply_usage
from spec_graph.reply.prompts import (
    REASONING_INSTRUCTION,
    REPLY_INSTRUCTION,
    REPLY_WITH_TOOLS_INSTRUCTION,
    TOOLS_INSTRUCTION,
    reply_graph,
    reply_messages,
)
from spec_graph.reply.settings import CallSettings

warnings.warn(
    "spec_graph._chat is deprecated; its pieces live in spec_graph.reply (the pipeline) and "
    "spec_graph.chat_models (the LangChain adapter)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "REASONING_INSTRUCTION",
    "REPLY_INSTRUCTION",
    "REPLY_WITH_TOOLS_INSTRUCTION",
    "TOOLS_INSTRUCTION",
    "CallSettings",
    "reply_graph",
    "reply_messages",
    "reply_telemetry",
    "reply_usage",
    "response_metadata",
    "structured_output",
    "to_wire",
    "tool_binding",
    "usage_metadata",
    "warn_at_caller",
]
