"""Backends: how the graph's nodes reach models.

Nodes call a `ModelBackend` with request values (`GenerateRequest`, `ScoreRequest`,
`ReplyRequest`) and ask it what it can do (`BackendCapabilities`). `backend_for` turns an
`EndpointConfig` (an OpenAI-compatible server) or a `ModelSpec` (any registered kind) into
one; `register_backend` adds your own kind (docs/backends.md).

- `base`: the protocol, the request and result values, `BackendCapabilities`;
- `registry`: `BACKENDS`, `register_backend`, `backend_for`; `spec`: `ModelSpec`;
- `openai`: `OpenAICompatibleBackend` with its wire parsing and per-server quirks;
- `langchain`: `LangChainBackend`, any LangChain chat model;
- `fake`: `ScriptedFakeBackend`, a scripted fake for tests.
"""

from spec_graph.backends.base import (
    BackendBase,
    BackendCapabilities,
    GenerateRequest,
    Generation,
    ModelBackend,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
    ToolCallChunk,
)
from spec_graph.backends.langchain import LangChainBackend
from spec_graph.backends.openai import QUIRKS, OpenAICompatibleBackend, ServerQuirks
from spec_graph.backends.registry import BACKENDS, BackendFactory, backend_for, register_backend
from spec_graph.backends.spec import ModelSpec

__all__ = [
    "BACKENDS",
    "QUIRKS",
    "BackendBase",
    "BackendCapabilities",
    "BackendFactory",
    "GenerateRequest",
    "Generation",
    "LangChainBackend",
    "ModelBackend",
    "ModelSpec",
    "NextToken",
    "OpenAICompatibleBackend",
    "ReplyChunk",
    "ReplyRequest",
    "ScoreRequest",
    "ServerQuirks",
    "ToolCallChunk",
    "backend_for",
    "register_backend",
]
