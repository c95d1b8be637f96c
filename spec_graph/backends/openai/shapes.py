"""Request shapes: the two ways to ask an OpenAI-compatible server to continue a prefix.

- `ChatShape` (``chat``): the chat messages plus the prefix as an unfinished assistant
  message, with the server's ``continue_body`` (``POST /chat/completions``).
- `CompletionsShape` (``completions``): the server renders its chat template first
  (llama.cpp's ``POST /apply-template``), then a raw prompt (``POST /completions``).

Both take the same arguments and return the same `Reply`, so the backend picks one by name
and never branches on the shape again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from spec_graph.backends.base import GenerateRequest
from spec_graph.backends.openai.quirks import RequestShape, ServerQuirks
from spec_graph.backends.openai.wire import Reply, chat_reply, raw_reply, shown_tools
from spec_graph.errors import BackendError
from spec_graph.prompts import ChatMessage

if TYPE_CHECKING:
    from spec_graph.backends.openai.backend import OpenAICompatibleBackend

__all__ = ["SHAPES", "ChatShape", "CompletionsShape", "Shape", "generate_params"]


class Shape(Protocol):
    """One way of sending a continuation request."""

    name: RequestShape

    async def complete(
        self,
        backend: OpenAICompatibleBackend,
        quirks: ServerQuirks,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        *,
        top_logprobs: int | None,
        logprobs: bool,
    ) -> Reply:
        """Send the request; the reply's choices hold only the new text."""
        ...


def _with_prefix(messages: Sequence[ChatMessage], prefix: str) -> list[Any]:
    wire: list[Any] = list(messages)
    if prefix:
        wire.append({"role": "assistant", "content": prefix})
    return wire


class ChatShape:
    """``/chat/completions`` with the prefix as the final, unfinished assistant message."""

    name: RequestShape = "chat"

    async def complete(
        self,
        backend: OpenAICompatibleBackend,
        quirks: ServerQuirks,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        *,
        top_logprobs: int | None,
        logprobs: bool,
    ) -> Reply:
        """Send the chat request, continuing ``prefix`` the way ``quirks`` says."""
        params = dict(params)
        extra_body: dict[str, Any] = params.pop("extra_body", {})
        if prefix:
            extra_body = {**extra_body, **quirks.continue_body}
        if logprobs:
            params["logprobs"] = True
        if top_logprobs is not None:
            params["top_logprobs"] = top_logprobs
        what = "POST /chat/completions"
        response = await backend.calls.send(
            what,
            lambda: backend.client.chat.completions.create(
                model=backend.model_name,
                messages=_with_prefix(messages, prefix),
                extra_body=extra_body or None,
                **params,
            ),
        )
        return chat_reply(backend.calls.checked_reply(what, response), prefix, quirks.echoes_prefix)


class CompletionsShape:
    """``/completions`` over the chat template rendered by the server (llama.cpp)."""

    name: RequestShape = "completions"

    async def complete(
        self,
        backend: OpenAICompatibleBackend,
        quirks: ServerQuirks,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        *,
        top_logprobs: int | None,
        logprobs: bool,
    ) -> Reply:
        """Render the template on the server, then continue it as a raw prompt."""
        if not quirks.supports_apply_template:
            msg = (
                f"request_shape='completions' needs a server that renders its chat template "
                f"(llama.cpp); {backend.endpoint.base_url} is a {quirks.name!r} server: use "
                "'chat'"
            )
            raise BackendError(msg)
        prompt = await self._apply_template(backend, messages, prefix, params.get("tools"))
        params = {k: v for k, v in params.items() if k not in ("logprobs", "tools", "tool_choice")}
        if top_logprobs is not None:
            params["logprobs"] = top_logprobs
        elif logprobs:
            params["logprobs"] = 1  # the legacy field is a top-k count; 1 is the cheapest
        what = "POST /completions"
        response = await backend.calls.send(
            what,
            lambda: backend.client.completions.create(
                model=backend.model_name, prompt=prompt, **params
            ),
        )
        return raw_reply(backend.calls.checked_reply(what, response))

    async def _apply_template(
        self,
        backend: OpenAICompatibleBackend,
        messages: Sequence[ChatMessage],
        prefix: str,
        tools: Any = None,
    ) -> str:
        """Render the chat template on the server, ending inside the assistant's turn."""
        root = backend.endpoint.base_url.removesuffix("/v1")
        body: dict[str, Any] = {"messages": _with_prefix(messages, prefix)}
        if tools:
            body["tools"] = tools
        what = "POST /apply-template"
        response = await backend.calls.send(
            what,
            lambda: backend.client.post(
                f"{root}/apply-template", cast_to=httpx.Response, body=body
            ),
        )
        with backend.calls.converted(what):
            data = response.json()
        prompt = data.get("prompt") if isinstance(data, dict) else None
        if not isinstance(prompt, str) or not prompt:
            raise BackendError(f"{root}/apply-template returned no prompt")
        return prompt


SHAPES: dict[str, Shape] = {"chat": ChatShape(), "completions": CompletionsShape()}
"""The request shapes by name (``OpenAICompatibleBackend(request_shape=...)``)."""


def generate_params(request: GenerateRequest) -> dict[str, Any]:
    """The sampling fields of a continuation request, whichever shape (or token ids) sends it."""
    sampling = request.sampling
    params: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "stop": list(request.stop) or None,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        **shown_tools(request.tools),
    }
    if sampling.seed is not None:
        params["seed"] = sampling.seed
    return params
