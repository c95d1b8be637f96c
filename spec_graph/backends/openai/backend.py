"""`OpenAICompatibleBackend`: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, ...).

Built on the official ``openai`` async client (its connection pool); deadlines, retries and
error wording are `spec_graph.backends.openai.calls.CallPolicy`.
Server quirks come from `spec_graph.backends.openai.quirks`, the two request shapes from
`spec_graph.backends.openai.shapes`, responses are read by `spec_graph.backends.openai.wire`,
and every SDK error is converted to a spec-graph error in one place (`CallPolicy.converted`),
naming the URL and what was tried.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import httpx
import openai

from spec_graph.backends.base import (
    BackendBase,
    BackendCapabilities,
    GenerateRequest,
    Generation,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
)
from spec_graph.backends.openai.calls import CallPolicy
from spec_graph.backends.openai.placement import ServerSlots, slot_count
from spec_graph.backends.openai.quirks import QUIRKS, RequestShape, ServerQuirks, quirks_for_owner
from spec_graph.backends.openai.shapes import SHAPES, generate_params
from spec_graph.backends.openai.text_tools import forced_call_format
from spec_graph.backends.openai.tokens import TokenPrompts
from spec_graph.backends.openai.wire import (
    Reply,
    generations_of,
    reply_chunk,
    resolve_text_tools,
    shown_tools,
)
from spec_graph.config import EndpointConfig
from spec_graph.errors import BackendError, ServerUnavailableError, UserError
from spec_graph.prompts import ChatMessage

__all__ = ["OpenAICompatibleBackend"]

_NO_KEY = "not-needed"  # local servers accept any key; the SDK insists on one


class OpenAICompatibleBackend(BackendBase):
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
        if request_shape not in SHAPES:
            known = ", ".join(SHAPES)
            raise UserError(f"unknown request shape {request_shape!r}; known: {known}")
        self.endpoint = endpoint
        self.request_shape = request_shape
        self._given_client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI]
        self._clients = weakref.WeakKeyDictionary()
        self.calls = CallPolicy(endpoint, endpoint.model)
        """Deadline, retries and error wording of every request to this server."""
        # A server kind that is not a quirks name (a backend kind registered for this
        # class, say) is asked of the server like ``auto``.
        self._profile: ServerQuirks | None = QUIRKS.find(endpoint.server)
        self._profile_lock = asyncio.Lock()
        self._token_prompts: TokenPrompts | None = None
        root = endpoint.base_url.rstrip("/").removesuffix("/v1")
        self._slots = ServerSlots(root, self._slot_total)
        """llama.cpp's slots: the judges' (`ServerSlots.judge`) and the chains' placement."""

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend(base_url={self.endpoint.base_url!r}, model={self.model_name!r})"

    @property
    def model_name(self) -> str:
        """The served model name."""
        return self.endpoint.model

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The ``openai`` client of the running event loop (one per loop).

        An HTTP connection pool belongs to the loop that opened it: a backend used from a
        second ``asyncio.run`` (a notebook cell, a sync ``invoke`` after an async one) would
        otherwise fail with "event loop is closed". Each loop gets its own client; a client
        given to the constructor is always used as it is.
        """
        if self._given_client is not None:
            return self._given_client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            endpoint = self.endpoint
            key = endpoint.api_key.get_secret_value() if endpoint.api_key else _NO_KEY
            client = openai.AsyncOpenAI(
                base_url=endpoint.base_url,
                api_key=key,
                timeout=openai.Timeout(endpoint.timeout_s, connect=endpoint.connect_timeout_s),
                max_retries=0,  # the one retry layer is CallPolicy's
            )
            self._clients[loop] = client
        return client

    async def capabilities(self) -> BackendCapabilities:
        """What this server can do, from its quirks (asked of the server once for ``auto``)."""
        return (await self.server_profile()).capabilities(self.request_shape)

    async def server_profile(self) -> ServerQuirks:
        """The server's quirks, asked of the server once (``GET /v1/models``) when ``auto``.

        This is also the reachability check: a wrong URL fails here, fast, with the URL named.
        """
        if self._profile is not None:
            return self._profile
        async with self._profile_lock:
            if self._profile is None:
                page = await self.calls.send("GET /models", lambda: self.client.models.list())
                data = getattr(page, "data", None)
                if not isinstance(data, list):
                    raise BackendError(
                        f"GET /models at {self.endpoint.base_url} did not return a model list "
                        "(is this an OpenAI-compatible server?)"
                    )
                owner = getattr(data[0], "owned_by", "") if data else ""
                self._profile = quirks_for_owner(owner or "")
        return self._profile

    async def generate(self, request: GenerateRequest) -> Generation:
        """Continue the prefix: as token ids with ``prefix_steps`` (`..openai.tokens`)."""
        started = time.perf_counter()
        prompts = None if request.prefix_steps is None else await self.token_prompts()
        if prompts is not None:
            generation = await prompts.generate(request, generate_params(request))
            self._check_logprobs(request, generation.token_logprobs, generation.text)
            seconds = time.perf_counter() - started
            return generation.model_copy(
                update={"usage": generation.usage.model_copy(update={"seconds": seconds})}
            )
        reply = await self._complete(
            request.messages, request.prefix, generate_params(request), logprobs=request.logprobs
        )
        choice = reply.choices[0]
        self._check_logprobs(request, choice.token_logprobs, choice.text)
        return Generation(
            text=choice.text,
            finish_reason=choice.finish_reason,
            usage=reply.usage.model_copy(update={"seconds": time.perf_counter() - started}),
            token_logprobs=choice.token_logprobs if request.logprobs else None,
        )

    async def token_prompts(self) -> TokenPrompts | None:
        """The server's token API (`..openai.tokens.TokenPrompts`); None where it has none.

        Token-exact steps send their prompts through it, and the chat model's token counts
        (``get_num_tokens``) use it: the served model's own tokenizer and chat template.
        """
        profile = await self.server_profile()
        if profile.token_prompts is not None and self._token_prompts is None:
            self._token_prompts = TokenPrompts(
                profile.token_prompts, self.model_name, self._post, self._slots.placement
            )
        return self._token_prompts

    async def generate_many(self, request: GenerateRequest, n: int) -> list[Generation]:
        """``n`` sampled continuations: one ``n=`` request where the server supports it.

        Elsewhere (llama.cpp, unknown servers) and with a fixed seed (one request cannot carry
        a seed per choice), ``n`` concurrent requests with seeds ``seed + i``
        (`BackendBase.generate_many`).

        One ``n=`` request reports one usage for all choices; it is shared out so that the
        choices' usage adds up to the request's: each choice counts as one call; the first
        choice carries the prompt (and cached) tokens, the others none; each choice's
        completion tokens are its own logprobs' length when ``logprobs`` was asked for, else
        the total split evenly (the server does not say per choice); and every choice gets the
        request's full wall-clock seconds, since the choices were decoded together. The server
        may return fewer than ``n`` choices; they are returned in index order.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        profile = await self.server_profile()
        if n == 1 or not profile.supports_n or request.sampling.seed is not None:
            return await super().generate_many(request, n)
        started = time.perf_counter()
        reply = await self._complete(
            request.messages,
            request.prefix,
            {**generate_params(request), "n": n},
            logprobs=request.logprobs,
        )
        elapsed = time.perf_counter() - started
        for choice in reply.choices:
            self._check_logprobs(request, choice.token_logprobs, choice.text)
        return generations_of(reply, request.logprobs, elapsed)

    async def next_token(self, request: ScoreRequest) -> NextToken:
        """Greedy first token after the prefix with its top-k alternatives.

        ``prompt_logprobs`` asks the server to score the prompt's tokens too (vLLM only).
        """
        params: dict[str, Any] = {
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            **shown_tools(request.tools),
        }
        if request.prompt_logprobs:
            profile = await self.server_profile()
            if not profile.returns_prompt_logprobs or self.request_shape != "chat":
                msg = (
                    f"{self.endpoint.base_url} is a {profile.name!r} server, which does not "
                    "return prompt log-probabilities (the 'likelihood' judge needs them): serve "
                    "the target with vLLM, or choose another judge"
                )
                raise BackendError(msg)
            params["extra_body"] = dict(profile.prompt_logprobs_body)
        slot = await self._slots.judge()
        if slot is not None:
            params["extra_body"] = {**params.get("extra_body", {}), "id_slot": slot}
        started = time.perf_counter()
        reply = await self._complete(
            request.messages, request.prefix, params, top_logprobs=request.top_logprobs
        )
        tops = reply.choices[0].top_logprobs
        if not tops:
            msg = (
                f"{self.endpoint.base_url} returned no logprobs for model {self.model_name!r}; "
                "the judge needs a server that supports top_logprobs"
            )
            raise BackendError(msg)
        return NextToken(
            top_logprobs=tops,
            prompt_logprobs=reply.prompt_logprobs,
            usage=reply.usage.model_copy(update={"seconds": time.perf_counter() - started}),
        )

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        """Stream a normal assistant turn, with the server's native tool calling.

        The final chunk carries usage (``stream_options.include_usage``; its seconds run from
        the request to that chunk). Leaving the loop early closes the HTTP response, which
        makes vLLM and llama.cpp stop generating.
        """
        sampling, tools, tool_choice = request.sampling, request.tools, request.tool_choice
        params: dict[str, Any] = {
            "model": self.model_name,
            "messages": list(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.stop:
            params["stop"] = list(request.stop)
        if sampling.seed is not None:
            params["seed"] = sampling.seed
        profile = await self.server_profile()
        text_tools = bool(tools) and not profile.parses_tool_calls and tool_choice != "none"
        response_format = request.response_format
        if tools:
            params["tools"] = list(tools)
            if tool_choice is not None and not text_tools:
                params["tool_choice"] = tool_choice
            if request.parallel_tool_calls is not None:
                params["parallel_tool_calls"] = request.parallel_tool_calls
        if text_tools and tool_choice == "required":
            response_format = forced_call_format(tools or [])
        if response_format is not None:
            params["response_format"] = response_format
        started, clock = time.perf_counter(), time.monotonic()
        stream = await self.calls.send(
            "POST /chat/completions (stream)",
            lambda: self.client.chat.completions.create(**params),
        )
        buffered: list[str] | None = [] if text_tools else None
        finish: str | None = None
        try:
            async for chunk in self.calls.iterate(
                "reading the /chat/completions stream", stream, started=clock
            ):
                piece = reply_chunk(chunk)
                finish = piece.finish_reason or finish
                if piece.usage is not None:
                    seconds = time.perf_counter() - started
                    usage = piece.usage.model_copy(update={"seconds": seconds})
                    piece = piece.model_copy(update={"usage": usage})
                if buffered is not None and piece.text:
                    # A call may be written as text: hold the text until we know.
                    buffered.append(piece.text)
                    piece = piece.model_copy(update={"text": ""})
                if buffered is not None and piece.usage is not None:
                    yield resolve_text_tools("".join(buffered), tools or [], tool_choice, finish)
                    buffered = None
                if piece.text or piece.tool_calls or piece.usage or piece.finish_reason:
                    yield piece
            if finish is None:
                # A stream that just stops (no finish_reason, no [DONE]) is a cut answer,
                # never a complete reply.
                msg = (
                    f"the reply stream from {self.endpoint.base_url} ended before the server "
                    "finished it (no finish_reason): the connection was cut"
                )
                raise ServerUnavailableError(msg)
            if buffered is not None:  # the server sent no usage chunk
                yield resolve_text_tools("".join(buffered), tools or [], tool_choice, finish)
        finally:
            await stream.close()

    async def aclose(self) -> None:
        """Close the HTTP connection pool of the running loop (others closed with their loop)."""
        if self._given_client is not None:
            await self._given_client.close()
            return
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    # -- wire -------------------------------------------------------------------------------

    def _check_logprobs(
        self, request: GenerateRequest, logprobs: list[float] | None, text: str
    ) -> None:
        # Confidence gating must never read "no logprobs" as "nothing uncertain".
        if request.logprobs and (logprobs is None or (not logprobs and text)):
            msg = (
                f"{self.endpoint.base_url} returned no token logprobs for model "
                f"{self.model_name!r}, which the request asked for"
            )
            raise BackendError(msg)

    async def _complete(
        self,
        messages: Sequence[ChatMessage],
        prefix: str,
        params: dict[str, Any],
        *,
        top_logprobs: int | None = None,
        logprobs: bool = False,
    ) -> Reply:
        profile = await self.server_profile()
        reply = await SHAPES[self.request_shape].complete(
            self, profile, messages, prefix, params, top_logprobs=top_logprobs, logprobs=logprobs
        )
        if not reply.choices:
            raise BackendError(f"{self.endpoint.base_url} returned no choices")
        return reply

    async def _slot_total(self) -> int:
        """llama.cpp's parallel slots (0 elsewhere and for raw completions)."""
        profile = await self.server_profile()
        use = profile.token_prompts == "llamacpp" and self.request_shape == "chat"
        return await slot_count(self._request) if use else 0

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to ``path`` under the server's root (not under ``/v1``)."""
        return await self._request("POST", path, body)

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        root = self.endpoint.base_url.rstrip("/").removesuffix("/v1")
        what = f"{method} {path}"
        call = self.client.post if method == "POST" else self.client.get
        kwargs: dict[str, Any] = {"cast_to": httpx.Response}
        if body is not None:
            kwargs["body"] = body
        response = await self.calls.send(what, lambda: call(f"{root}{path}", **kwargs))
        with self.calls.converted(what):
            data = response.json()
        if not isinstance(data, dict):
            raise BackendError(f"{what} at {root} did not return a JSON object")
        return data

    def converted_errors(self, what: str) -> AbstractContextManager[None]:
        """The SDK's errors inside the block as spec-graph errors (`CallPolicy.converted`)."""
        return self.calls.converted(what)
