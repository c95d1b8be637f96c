"""The request body of ``POST /v1/chat/completions`` and the model list, as pydantic models.

OpenAI's fields that the pipeline can honour are typed here (a wrong type is a 400 naming the
field); everything else in the body is an *extra* field, sorted by `spec_graph.serve.request`
into ignored metadata, unsupported OpenAI parameters (400) and spec-graph's own knobs
(``threshold``, a strategy's settings, ``token_budget``, ...).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ChatCompletionRequest",
    "FunctionSpec",
    "ModelCard",
    "ModelList",
    "NamedToolChoice",
    "ResponseFormat",
    "StreamOptions",
    "ToolSpec",
]


class FunctionSpec(BaseModel):
    """A tool's function: name, description, JSON-schema parameters."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolSpec(BaseModel):
    """An OpenAI tool (``{"type": "function", "function": {...}}``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["function"] = "function"
    function: FunctionSpec


class _ChosenFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    """``tool_choice`` naming one tool."""

    type: Literal["function"] = "function"
    function: _ChosenFunction


class ResponseFormat(BaseModel):
    """``response_format``: plain text, any JSON object, or JSON matching a schema."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and not isinstance(
            (self.json_schema or {}).get("schema"), dict
        ):
            raise ValueError("type json_schema needs json_schema.schema (a JSON schema object)")
        return self


class StreamOptions(BaseModel):
    """``stream_options``: ``include_usage`` adds a last chunk with the usage."""

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The body of ``POST /v1/chat/completions`` (extra fields: see the module)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    """``spec-graph/<strategy>`` (``GET /v1/models``), or ``spec-graph`` for the default."""
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    """The reply's longest (the reasoning has ``token_budget``)."""
    max_completion_tokens: int | None = Field(default=None, ge=1)
    """OpenAI's newer name of ``max_tokens``."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """The reply's temperature (the steps keep the server's step sampling)."""
    seed: int | None = None
    """Seeds every model call of the run (steps and reply)."""
    stop: str | list[str] | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    """False: the reply calls at most one tool (asked of the target, and kept to the first)."""
    response_format: ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1)
    """One choice only; for ``spec-graph/scot`` it is SCoT's number of chains."""

    def extras(self) -> dict[str, Any]:
        """The body's fields that are not typed above."""
        return dict(self.model_extra or {})


class ModelCard(BaseModel):
    """One entry of ``GET /v1/models``: a strategy, as OpenAI lists a model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "spec-graph"
    draft_model: str
    """The draft server's model (spec-graph's extension)."""
    target_model: str
    """The target server's model (spec-graph's extension)."""


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
