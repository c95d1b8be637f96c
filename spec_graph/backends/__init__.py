"""Backends: how the graph's nodes reach models.

Nodes call a `ModelBackend` with request values (`GenerateRequest`, `ScoreRequest`,
`ReplyRequest`); `backend_for` turns an `EndpointConfig` into one (`register_backend` adds
your own kind).
"""

from spec_graph.backends._providers import BackendFactory, backend_for, register_backend
from spec_graph.backends.base import (
    BackendBase,
    GenerateRequest,
    Generation,
    ModelBackend,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
    ToolCallChunk,
)
from spec_graph.backends.openai_compat import OpenAICompatibleBackend

__all__ = [
    "BackendBase",
    "BackendFactory",
    "GenerateRequest",
    "Generation",
    "ModelBackend",
    "NextToken",
    "OpenAICompatibleBackend",
    "ReplyChunk",
    "ReplyRequest",
    "ScoreRequest",
    "ToolCallChunk",
    "backend_for",
    "register_backend",
]
