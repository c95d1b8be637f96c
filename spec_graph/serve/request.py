"""A request body checked and resolved into the pipeline's call, before any work starts.

`resolve` turns a `ChatCompletionRequest` into the conversation and the `CallSettings` of
`spec_graph.reply.run_reply`, or raises `ApiError` (400 naming the field; 404 for an unknown
model). The model name picks the strategy (``spec-graph/scot``); extra body fields are
spec-graph's knobs (``threshold``, the strategy's own settings such as ``n`` or
``gate_logprob``, ``token_budget``, ...) and go through `CallSettings.resolve`, the same
check the chat model makes, so the two front ends accept the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_graph.chat_models._structured import tool_binding
from spec_graph.errors import UserError
from spec_graph.reasoning import ReasoningConfig
from spec_graph.reply import CallSettings
from spec_graph.reply.pipeline import check_messages
from spec_graph.serve.errors import ApiError
from spec_graph.serve.schemas import ChatCompletionRequest
from spec_graph.strategies import get_strategy, strategy_names

__all__ = [
    "IGNORED_FIELDS",
    "MODEL_PREFIX",
    "UNSUPPORTED_FIELDS",
    "Resolved",
    "model_id",
    "resolve",
    "strategy_for",
    "wire_messages",
]

MODEL_PREFIX = "spec-graph"
"""Model names are ``spec-graph/<strategy>``; ``spec-graph`` alone is the default strategy."""

IGNORED_FIELDS = frozenset({"user", "metadata", "store", "service_tier"})
"""OpenAI fields accepted and ignored (bookkeeping)."""

UNSUPPORTED_FIELDS: dict[str, tuple[Any, ...]] = {
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "top_p": (None, 1, 1.0),
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "logit_bias": (None, {}),
    "reasoning_effort": (None,),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "functions": (None,),
    "function_call": (None,),
    "web_search_options": (None,),
}
"""OpenAI fields with no meaning here: accepted only at their defaults (else a 400)."""

_ROLES = {"system": "system", "developer": "system", "user": "user"}
_ROLES |= {"assistant": "assistant", "tool": "tool"}
_KEPT = ("name", "tool_calls", "tool_call_id")


@dataclass(frozen=True)
class Resolved:
    """A checked request: what the pipeline runs and how the answer is written."""

    model: str
    messages: list[dict[str, Any]]
    call: CallSettings
    stream: bool
    include_usage: bool


def model_id(strategy: str) -> str:
    """The model name that picks ``strategy``."""
    return f"{MODEL_PREFIX}/{strategy}"


def strategy_for(model: str, default: str) -> str:
    """The strategy a model name picks; `ApiError` 404 (OpenAI's ``model_not_found``)."""
    if model == MODEL_PREFIX:
        return default
    prefix, _, name = model.partition("/")
    if prefix == MODEL_PREFIX and name in strategy_names():
        return name
    known = ", ".join(model_id(s) for s in strategy_names())
    raise ApiError(
        404,
        f"The model {model!r} does not exist; models: {known} (GET /v1/models)",
        param="model",
        code="model_not_found",
    )


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages as the pipeline takes them: known roles, text content only.

    Text parts are joined; ``developer`` is a system message; fields the pipeline does not
    use (a client's echoed ``reasoning_content``) are dropped.
    """
    wire = []
    for i, message in enumerate(messages):
        role = _ROLES.get(str(message.get("role")))
        if role is None:
            raise ApiError(
                400,
                f"messages[{i}].role must be one of {sorted(_ROLES)}, got {message.get('role')!r}",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        content = message.get("content")
        if isinstance(content, list):
            kinds = {part.get("type") if isinstance(part, dict) else None for part in content}
            if kinds - {"text"}:
                shown = sorted(str(k) for k in kinds - {"text"})
                raise ApiError(
                    400,
                    f"messages[{i}].content: only text parts are supported, got {shown}",
                    param=f"messages[{i}].content",
                    code="invalid_value",
                )
            content = "".join(str(part.get("text", "")) for part in content)
        kept = {k: message[k] for k in _KEPT if message.get(k) is not None}
        wire.append({"role": role, "content": content, **kept})
    try:
        return check_messages(wire)
    except UserError as e:
        raise ApiError(400, str(e), param="messages", code="invalid_value") from None


def _unsupported(extras: dict[str, Any]) -> None:
    for name, defaults in UNSUPPORTED_FIELDS.items():
        if name in extras and not any(extras[name] == d for d in defaults):
            raise ApiError(
                400,
                f"{name} is not supported by spec-graph serve (leave it out)",
                param=name,
                code="unsupported_parameter",
            )
    if "strategy" in extras:
        raise ApiError(
            400,
            "the model name picks the strategy (e.g. model='spec-graph/scot'); leave out "
            "'strategy'",
            param="strategy",
            code="invalid_value",
        )


def _seeded(base: ReasoningConfig, seed: int | None) -> ReasoningConfig:
    if seed is None:
        return base
    return base.with_overrides(
        draft_sampling={**base.draft_sampling.model_dump(), "seed": seed},
        target_sampling={**base.target_sampling.model_dump(), "seed": seed},
    )


def _max_tokens(body: ChatCompletionRequest, default: int | None) -> int | None:
    given = {body.max_tokens, body.max_completion_tokens} - {None}
    if len(given) > 1:
        raise ApiError(
            400,
            "max_tokens and max_completion_tokens disagree (give one)",
            param="max_completion_tokens",
            code="invalid_value",
        )
    return given.pop() if given else default


def resolve(
    body: ChatCompletionRequest, base: ReasoningConfig, *, max_tokens: int | None
) -> Resolved:
    """Check ``body`` against ``base`` (the server's config); `ApiError` on anything wrong.

    ``max_tokens``: the reply's cap when the body gives none.
    """
    strategy = strategy_for(body.model, base.strategy)
    extras = body.extras()
    _unsupported(extras)
    overrides = {
        k: v for k, v in extras.items() if k not in IGNORED_FIELDS | set(UNSUPPORTED_FIELDS)
    }
    overrides["strategy"] = strategy
    if body.n is not None:
        if "n" in get_strategy(strategy).Settings.model_fields:
            overrides["n"] = body.n
        elif body.n != 1:
            raise ApiError(400, "n: only one choice (n=1) is supported", param="n")
    messages = wire_messages(body.messages)
    tools: list[dict[str, Any]] | None = None
    choice: Any = None
    format_ = body.response_format
    try:
        if body.tools:
            given = body.tool_choice
            wanted = given.model_dump() if not isinstance(given, str | None) else given
            tools, choice = tool_binding(
                [t.model_dump(exclude_none=True) for t in body.tools], wanted
            )
        elif body.tool_choice not in (None, "none", "auto"):
            raise ApiError(400, "tool_choice needs tools", param="tool_choice")
        call = CallSettings.resolve(
            _seeded(base, body.seed),
            stop=[body.stop] if isinstance(body.stop, str) else body.stop,
            temperature=body.temperature,
            max_tokens=_max_tokens(body, max_tokens),
            tools=tools,
            tool_choice=choice,
            parallel_tool_calls=body.parallel_tool_calls,
            response_format=None
            if format_ is None or format_.type == "text"
            else format_.model_dump(exclude_none=True),
            overrides=overrides,
            caller="spec-graph serve",
        )
    except UserError as e:
        raise ApiError(400, str(e), code="invalid_value") from None
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return Resolved(body.model, messages, call, body.stream, include_usage)
