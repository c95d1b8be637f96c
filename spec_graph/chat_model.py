"""Deprecated: import `SpeculativeReasoningChatModel` from `spec_graph.chat_models`.

Kept for one release as a re-export; importing it warns (`DeprecationWarning`).
"""

import warnings

from spec_graph.chat_models.base import EMBEDDED_N_CTX, SpeculativeReasoningChatModel
from spec_graph.reply.prompts import (
    REASONING_INSTRUCTION,
    REPLY_INSTRUCTION,
    REPLY_WITH_TOOLS_INSTRUCTION,
    TOOLS_INSTRUCTION,
)

warnings.warn(
    "spec_graph.chat_model is deprecated; import SpeculativeReasoningChatModel from "
    "spec_graph.chat_models (or spec_graph), the instructions from spec_graph.reply",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "EMBEDDED_N_CTX",
    "REASONING_INSTRUCTION",
    "REPLY_INSTRUCTION",
    "REPLY_WITH_TOOLS_INSTRUCTION",
    "TOOLS_INSTRUCTION",
    "SpeculativeReasoningChatModel",
]
