"""`OpenAICompatibleBackend`: any OpenAI-compatible server (vLLM, llama.cpp, ...).

Built on the official ``openai`` async client (its retries, timeouts and connection pool).
Server quirks come from `spec_graph.backends._profiles`; every SDK error is converted to a
spec-graph error in one place (`_converted_errors`), naming the URL and what was tried.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import openai

from spec_graph.backends._profiles import PROFILES, RequestShape, ServerProfile, profile_for_owner
from spec_graph.backends._text_tools import forced_call_format, parse_tool_calls
from spec_graph.backends.base import Generation, NextToken, ReplyChunk, ToolCallChunk
from spec_graph.config import EndpointConfig, SamplingConfig
from spec_graph.errors import BackendError, ServerUnavailableError
from spec_graph.prompts import ChatMessage

__all__ = ["OpenAICompatibleBackend"]

_NO_KEY = "not-needed"  # local servers accept any key; the SDK insists on one


class OpenAICompatibleBackend:
    """A model behind an OpenAI-compatible HTTP API.

    Args:
        endpoint: where the server is and how long to wait for it.
        request_shape: ``chat`` sends chat messages and asks the server to continue the final
            assistant message; ``completions`` renders the chat template on the server
            (llama.cpp's ``/apply-template``) and sends a raw prompt to ``/v1/completions``.
        client: an existing ``openai.AsyncOpenAI`` to reuse (its pool and settings).
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        request_shape: RequestShape = "chat",
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.request_shape = request_shape
        key = endpoint.api_key.get_secret_value() if endpoint.api_key else _NO_KEY
        self._client = client or openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=key,
            timeout=httpx.Timeout(endpoint.timeout_s, connect=endpoint.connect_timeout_s),
            max_retries=endpoint.max_retries,
        )
        self._profile: ServerProfile | None = (
            None if endpoint.server == "auto" else PROFILES[endpoint.server]
        )
        self._profile_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend(base_url={self.endpoint.base_url!r}, model={self.model_name!r})"

    @property
    def model_name(self) -> str:
        """The served model name."""
        return self.endpoint.model

    async def server_profile(self) -> ServerProfile:
        """The server's quirks, asked of the server once (``GET /v1/models``) when ``auto``.

        This is also the reachability check: a wrong URL fails here, fast, with the URL named.
        """
        if self._profile is not None:
            return self._profile
        async with self._profile_lock:
            if self._profile is None:
                with self._converted_errors("GET /models"):
                    page = await self._client.models.list()
                owner = page.data[0].owned_by if page.data else ""
                self._profile = profile_for_owner(owner or "")
        return self._profile

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        prefix: str,
        max_tokens: int,
        stop: Sequence[str],
        sampling: SamplingConfig,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Generation:
        """Continue ``prefix`` (the unfinished assistant message) after ``messages``."""
        params: dict[str, Any] = {
            "max_tokens": max_tokens,
            "stop": list(stop) or None,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            **_shown_tools(tools),
        }
        if sampling.seed is not None:
            params["seed"] = sampling.seed
        started = time.perf_counter()
        data = await self._complete(messages, prefix, params)
        return Generation(
            text=data["text"],
            finish_reason=data["finish_reason"],
            elapsed_s=time.perf_counter() - started,
            **data["usage"],
        )

    async def next_token(
        self,
        messages: Sequence[ChatMessage],
        *,
        prefix: str,
        top_logprobs: int,
        tools: Sequence[dict[str, Any]] | None = None,
        prompt_logprobs: bool = False,
    ) -> NextToken:
        """Greedy first token after ``prefix`` with its top-k alternatives.

        ``prompt_logprobs`` asks the server to score the prompt's tokens too (vLLM only).
        """
        params: dict[str, Any] = {
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            **_shown_tools(tools),
        }
        if prompt_logprobs:
            profile = await self.server_profile()
            if not profile.returns_prompt_logprobs or self.request_shape != "chat":
                msg = (
                    f"{self.endpoint.base_url} is a {profile.name!r} server, which does not "
                    "return prompt log-probabilities (the 'likelihood' judge needs them): serve "
                    "the target with vLLM, or choose another judge"
                )
                raise BackendError(msg)
            params["extra_body"] = {"prompt_logprobs": 0}  # 0: the prompt's own tokens only
        started = time.perf_counter()
        data = await self._complete(messages, prefix, params, top_logprobs=top_logprobs)
        if not data["top_logprobs"]:
            msg = (
                f"{self.endpoint.base_url} returned no logprobs for model {self.model_name!r}; "
                "the judge needs a server that supports top_logprobs"
            )
            raise BackendError(msg)
        return NextToken(
            top_logprobs=data["top_logprobs"],
            prompt_logprobs=data.get("prompt_logprobs", []),
            elapsed_s=time.perf_counter() - started,
            prompt_tokens=data["usage"]["prompt_tokens"],
            cached_tokens=data["usage"]["cached_tokens"],
        )

    async def stream_reply(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        max_tokens: int | None,
        stop: Sequence[str],
        sampling: SamplingConfig,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | None = None,
    ) -> AsyncIterator[ReplyChunk]:
        """Stream a normal assistant turn, with the server's native tool calling.

        The final chunk carries usage (``stream_options.include_usage``). Leaving the loop
        early closes the HTTP response, which makes vLLM and llama.cpp stop generating.
        """
        params: dict[str, Any] = {
            "model": self.model_name,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if stop:
            params["stop"] = list(stop)
        if sampling.seed is not None:
            params["seed"] = sampling.seed
        profile = await self.server_profile()
        text_tools = bool(tools) and not profile.parses_tool_calls and tool_choice != "none"
        if tools:
            params["tools"] = list(tools)
            if tool_choice is not None and not text_tools:
                params["tool_choice"] = tool_choice
        if text_tools and tool_choice == "required":
            response_format = forced_call_format(tools or [])
        if response_format is not None:
            params["response_format"] = response_format
        with self._converted_errors("POST /chat/completions (stream)"):
            stream = await self._client.chat.completions.create(**params)
        buffered: list[str] | None = [] if text_tools else None
        try:
            with self._converted_errors("reading the /chat/completions stream"):
                async for chunk in stream:
                    piece = _reply_chunk(chunk)
                    if buffered is not None and piece.text:
                        # A call may be written as text: hold the text until we know.
                        buffered.append(piece.text)
                        piece = piece.model_copy(update={"text": ""})
                    if buffered is not None and piece.has_usage:
                        yield _resolve_text_tools("".join(buffered), tools or [])
                        buffered = None
                    if piece.text or piece.tool_calls or piece.has_usage or piece.finish_reason:
                        yield piece
            if buffered is not None:  # the server sent no usage chunk
                yield _resolve_text_tools("".join(buffered), tools or [])
        finally:
            await stream.close()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    # -- wire -------------------------------------------------------------------------------

    async def _complete(
        self,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        *,
        top_logprobs: int | None = None,
    ) -> dict[str, Any]:
        profile = await self.server_profile()
        if self.request_shape == "completions":
            return await self._complete_raw(profile, messages, prefix, params, top_logprobs)
        return await self._complete_chat(profile, messages, prefix, params, top_logprobs)

    async def _complete_chat(
        self,
        profile: ServerProfile,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        top_logprobs: int | None,
    ) -> dict[str, Any]:
        wire: list[Any] = list(messages)
        params = dict(params)
        extra_body: dict[str, Any] = params.pop("extra_body", {})
        if prefix:
            wire.append({"role": "assistant", "content": prefix})
            extra_body = {**extra_body, **profile.continue_body}
        if top_logprobs is not None:
            params = {**params, "top_logprobs": top_logprobs}
        with self._converted_errors("POST /chat/completions"):
            response = await self._client.chat.completions.create(
                model=self.model_name, messages=wire, extra_body=extra_body or None, **params
            )
        if not response.choices:
            raise BackendError(f"{self.endpoint.base_url} returned no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        if prefix and profile.echoes_prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        tops: list[tuple[str, float]] = []
        if choice.logprobs and choice.logprobs.content:
            tops = [(t.token, t.logprob) for t in choice.logprobs.content[0].top_logprobs]
        return {
            "text": text,
            "finish_reason": choice.finish_reason,
            "usage": _usage(response.usage),
            "top_logprobs": tops,
            "prompt_logprobs": _prompt_logprobs(getattr(response, "prompt_logprobs", None)),
        }

    async def _complete_raw(
        self,
        profile: ServerProfile,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        top_logprobs: int | None,
    ) -> dict[str, Any]:
        if not profile.supports_apply_template:
            msg = (
                f"request_shape='completions' needs a server that renders its chat template "
                f"(llama.cpp); {self.endpoint.base_url} is a {profile.name!r} server: use 'chat'"
            )
            raise BackendError(msg)
        prompt = await self._apply_template(messages, prefix, params.get("tools"))
        params = {k: v for k, v in params.items() if k not in ("logprobs", "tools", "tool_choice")}
        if top_logprobs is not None:
            params["logprobs"] = top_logprobs
        with self._converted_errors("POST /completions"):
            response = await self._client.completions.create(
                model=self.model_name, prompt=prompt, **params
            )
        if not response.choices:
            raise BackendError(f"{self.endpoint.base_url} returned no choices")
        choice = response.choices[0]
        return {
            "text": choice.text or "",
            "finish_reason": choice.finish_reason,
            "usage": _usage(response.usage),
            "top_logprobs": _raw_top_logprobs(choice.logprobs),
        }

    async def _apply_template(
        self, messages: Sequence[ChatMessage], prefix: str, tools: Any = None
    ) -> str:
        """Render the chat template on the server, ending inside the assistant's turn."""
        root = self.endpoint.base_url.removesuffix("/v1")
        wire: list[Any] = list(messages)
        if prefix:
            wire.append({"role": "assistant", "content": prefix})
        body: dict[str, Any] = {"messages": wire}
        if tools:
            body["tools"] = tools
        with self._converted_errors("POST /apply-template"):
            response = await self._client.post(
                f"{root}/apply-template", cast_to=httpx.Response, body=body
            )
        prompt = response.json().get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise BackendError(f"{root}/apply-template returned no prompt")
        return prompt

    @contextmanager
    def _converted_errors(self, what: str) -> Iterator[None]:
        url = self.endpoint.base_url
        try:
            yield
        except openai.APITimeoutError as e:
            msg = f"timed out after {self.endpoint.timeout_s:g}s: {what} at {url}"
            raise ServerUnavailableError(msg) from e
        except openai.APIConnectionError as e:
            msg = f"cannot reach the server at {url} ({what}): {_root_cause(e)}"
            raise ServerUnavailableError(msg) from e
        except openai.APIStatusError as e:
            detail = _short(e.response.text if e.response is not None else str(e))
            msg = f"{what} at {url} failed with HTTP {e.status_code} (model {self.model_name!r}): {detail}"
            raise BackendError(msg) from e


def _prompt_logprobs(entries: Any) -> list[tuple[str, float]]:
    """The prompt's tokens and their logprobs, from vLLM's ``prompt_logprobs``.

    One entry per prompt token: None (the first), or ``{id: {logprob, decoded_token, ...}}``
    holding just the prompt's own token when 0 alternatives were asked for.
    """
    pairs: list[tuple[str, float]] = []
    for entry in entries or []:
        if not entry:
            continue  # the first token has no logprob
        info = next(iter(entry.values()))
        pairs.append((str(info.get("decoded_token") or ""), float(info["logprob"])))
    return pairs


def _shown_tools(tools: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    """Request fields that show ``tools`` to the model without letting it call one.

    Reasoning steps and the judge then see the same prompt (tools in the template) as the reply.
    """
    return {"tools": list(tools), "tool_choice": "none"} if tools else {}


def _resolve_text_tools(text: str, tools: Sequence[dict[str, Any]]) -> ReplyChunk:
    calls = parse_tool_calls(text, tools)
    if not calls:
        return ReplyChunk(text=text)
    return ReplyChunk(
        tool_calls=[
            ToolCallChunk(index=i, id=c["id"], name=c["name"], args=json.dumps(c["args"]))
            for i, c in enumerate(calls)
        ],
        finish_reason="tool_calls",
    )


def _reply_chunk(chunk: Any) -> ReplyChunk:
    text, finish, calls = "", None, []
    if chunk.choices:
        choice = chunk.choices[0]
        finish = choice.finish_reason
        delta = choice.delta
        if delta is not None:
            text = delta.content or ""
            for call in delta.tool_calls or []:
                function = call.function
                calls.append(
                    ToolCallChunk(
                        index=call.index,
                        id=call.id,
                        name=function.name if function else None,
                        args=function.arguments if function else None,
                    )
                )
    usage = chunk.usage
    return ReplyChunk(
        text=text,
        tool_calls=calls,
        finish_reason=finish,
        has_usage=usage is not None,
        **_usage(usage),
    )


def _usage(usage: Any) -> dict[str, int]:
    if usage is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0}
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return {
        "prompt_tokens": usage.prompt_tokens or 0,
        "completion_tokens": usage.completion_tokens or 0,
        "cached_tokens": cached or 0,
    }


def _raw_top_logprobs(logprobs: Any) -> list[tuple[str, float]]:
    """Top-k of the first token from a completions response, in either shape servers use."""
    if logprobs is None:
        return []
    data = logprobs.model_dump() if hasattr(logprobs, "model_dump") else dict(logprobs)
    content = data.get("content")  # llama.cpp: the chat-style list
    if content:
        return [(t["token"], t["logprob"]) for t in content[0]["top_logprobs"]]
    legacy = data.get("top_logprobs")  # vLLM / OpenAI legacy: [{token: logprob}, ...]
    if legacy:
        return list(legacy[0].items())
    return []


def _root_cause(error: BaseException) -> str:
    cause: BaseException = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return _short(str(cause) or type(cause).__name__)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
