"""`ModelSpec`: a model described by its backend kind, for backends that are not HTTP servers.

`EndpointConfig` describes an OpenAI-compatible HTTP server; a model loaded in-process (a
``transformers`` model, a test's toy) has no URL. `ModelSpec` names the registered backend
kind, the model and the kind's own options; `backend_for` accepts either::

    register_backend("transformers", TransformersBackend)
    backend = backend_for(ModelSpec(kind="transformers", model="Qwen/Qwen3-0.6B"))
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelSpec"]


class ModelSpec(BaseModel):
    """A model for the backend registered as ``kind`` (see `register_backend`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(min_length=1)
    """A registered backend kind (``openai``, ``transformers``, one of your own)."""
    model: str
    """The model's name or path, as the backend understands it."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The backend's own settings (for ``openai``: the `EndpointConfig` fields)."""
