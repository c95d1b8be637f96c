"""`create_app`: the OpenAI-compatible endpoint over one `SpeculativeReasoner`.

Routes: ``POST /v1/chat/completions`` (streamed or not), ``GET /v1/models`` (one model per
registered strategy), ``GET /v1/models/{id}``, ``GET /health`` (the process is up) and
``GET /ready`` (both model servers answer). A request is checked whole before any work
starts (`spec_graph.serve.request.resolve`: a 4xx in OpenAI's shape, never a half-started
stream); then it takes a slot of the `Gate` (429 past ``max_concurrency``) and runs
`spec_graph.reply.run_reply`. A client that goes away stops the run: the reply stream is
closed, which stops the model servers' work.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import aclosing, asynccontextmanager, suppress
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from spec_graph._version import __version__
from spec_graph.config import ServeSettings
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.reply import ReplyEvent, run_reply
from spec_graph.serve.completion import collect
from spec_graph.serve.errors import ApiError, error_for, install_error_handlers
from spec_graph.serve.health import probe_both
from spec_graph.serve.limits import Gate, Ticket, check_api_key
from spec_graph.serve.request import Resolved, model_id, resolve
from spec_graph.serve.schemas import ChatCompletionRequest, ModelCard, ModelList
from spec_graph.serve.sse import ChunkWriter
from spec_graph.strategies import strategy_names

__all__ = ["ReasonerSource", "create_app"]

ReasonerSource = SpeculativeReasoner | Callable[[], SpeculativeReasoner]
"""A reasoner, or a function that builds one (called once at startup, off the event loop)."""

T = TypeVar("T")


class _ReplyStream(EventSourceResponse):
    """An SSE response that, however it ends, closes the reply and frees its slot."""

    def __init__(
        self,
        content: AsyncIterator[str],
        cleanup: Callable[[], Awaitable[None]],
        ping_s: float | None,
    ) -> None:
        # sep="\n": events end in a blank line "\n\n" as OpenAI's and vLLM's do; clients that
        # split on it (vLLM's load tool) never see an event in sse-starlette's "\r\n" default.
        # No keep-alive comments unless asked for (`ServeSettings.ping_s`), as OpenAI and vLLM
        # send none; ping=0 turns sse-starlette's off (from 3.7: before, 0 busy-looped).
        headers = {"Cache-Control": "no-cache"}
        super().__init__(content, ping=ping_s or 0, sep="\n", headers=headers)
        self._cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._cleanup()


async def _sse(
    writer: ChunkWriter, events: AsyncGenerator[ReplyEvent, None]
) -> AsyncGenerator[str, None]:
    try:
        async for event in events:
            for chunk in writer.chunks(event):
                yield json.dumps(chunk)
    except Exception as e:  # the stream has started: the error is its last event
        yield json.dumps(error_for(e).body())
    yield "[DONE]"


async def _disconnected(request: Request) -> None:
    """Return once the client has gone away (the body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T | None:
    """``work``'s result, or None (and ``work`` cancelled) if the client goes away first."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


class _Service:
    """What the routes share: the reasoner (once started), the settings, the gate."""

    def __init__(self, source: ReasonerSource, settings: ServeSettings) -> None:
        self.source = source
        self.settings = settings
        self.gate = Gate(settings.max_concurrency, settings.retry_after_s)
        self.reasoner = source if isinstance(source, SpeculativeReasoner) else None
        self.started = int(time.time())

    def require(self) -> SpeculativeReasoner:
        if self.reasoner is None:
            raise ApiError(503, "the models are still starting", code="not_ready")
        return self.reasoner

    def cards(self) -> list[ModelCard]:
        reasoner = self.require()
        return [
            ModelCard(
                id=model_id(name),
                created=self.started,
                draft_model=reasoner.draft.model_name,
                target_model=reasoner.target.model_name,
            )
            for name in strategy_names()
        ]

    async def complete(self, request: Request, resolved: Resolved) -> Response:
        ticket = self.gate.enter()
        events = run_reply(self.require(), resolved.messages, resolved.call)
        if resolved.stream:
            return self._stream(resolved, events, ticket)
        try:
            async with aclosing(events):
                answer = await _unless_disconnected(request, collect(resolved.model, events))
        finally:
            ticket.release()
        if answer is None:
            return Response(status_code=499)  # nobody is listening
        return JSONResponse(answer)

    def _stream(
        self, resolved: Resolved, events: AsyncGenerator[ReplyEvent, None], ticket: Ticket
    ) -> Response:
        writer = ChunkWriter(resolved.model, include_usage=resolved.include_usage)
        body = _sse(writer, events)

        async def cleanup() -> None:
            try:
                await body.aclose()
                await events.aclose()
            finally:
                ticket.release()

        return _ReplyStream(body, cleanup, self.settings.ping_s)


def create_app(source: ReasonerSource, settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI app serving ``source`` (a reasoner, or a function that builds one).

    A function is called at startup in a worker thread (embedded models may start there,
    before the server listens), and the reasoner it built is closed at shutdown; a reasoner
    given as it is stays the caller's to close.
    """
    service = _Service(source, settings or ServeSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = None
        if service.reasoner is None:
            assert callable(service.source)
            built = service.reasoner = await asyncio.to_thread(service.source)
        try:
            yield
        finally:
            if built is not None:
                await built.aclose()

    app = FastAPI(
        title="spec-graph", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)

    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        check_api_key(service.settings.api_key, authorization)

    auth = [Depends(authorized)]

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        reasoner = service.require()
        models = await probe_both(reasoner.draft, reasoner.target, service.settings.ready_timeout_s)
        ok = all(m["ok"] for m in models.values())
        body = {"status": "ready" if ok else "unavailable", "models": models}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/v1/models", dependencies=auth)
    async def list_models() -> ModelList:
        return ModelList(data=service.cards())

    @app.get("/v1/models/{owner}/{name}", dependencies=auth)
    async def get_model(owner: str, name: str) -> ModelCard:
        wanted = f"{owner}/{name}"
        for card in service.cards():
            if card.id == wanted:
                return card
        raise ApiError(
            404, f"The model {wanted!r} does not exist", param="model", code="model_not_found"
        )

    @app.post("/v1/chat/completions", dependencies=auth)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
        resolved = resolve(body, service.require().config, max_tokens=service.settings.max_tokens)
        return await service.complete(request, resolved)

    return app
