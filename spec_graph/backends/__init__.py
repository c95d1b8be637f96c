"""Backends: how the graph's nodes reach models."""

from spec_graph.backends.base import (
    Generation,
    ModelBackend,
    NextToken,
    ReplyChunk,
    ToolCallChunk,
)
from spec_graph.backends.openai_compat import OpenAICompatibleBackend

__all__ = [
    "Generation",
    "ModelBackend",
    "NextToken",
    "OpenAICompatibleBackend",
    "ReplyChunk",
    "ToolCallChunk",
]
