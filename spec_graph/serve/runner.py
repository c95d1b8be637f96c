"""Running the app under uvicorn: bind, say where, serve, drain on SIGTERM.

SIGTERM (or Ctrl-C) stops accepting connections; the runs in flight, streams included, get
``drain_s`` seconds to finish (uvicorn's graceful shutdown), then they are cancelled, which
closes their reply streams and so stops the model servers' work.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from sse_starlette.sse import AppStatus

from spec_graph.config import ServeSettings

__all__ = ["bind", "run_server", "running"]


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening
        self.url: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self.url = f"http://{shown}:{port}/v1"
            self._on_listening(self.url)


def run_server(
    app: FastAPI,
    settings: ServeSettings,
    on_listening: Callable[[str], None] = print,
    *,
    log_level: str = "info",
) -> None:
    """Serve ``app`` on ``settings.host:port`` until SIGTERM / Ctrl-C, then drain.

    ``on_listening`` gets the base URL (``http://127.0.0.1:8080/v1``) once the server accepts
    connections (after the app's startup, so models are up by then).
    """
    # Streams in flight finish within drain_s instead of being cut at the first signal.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        timeout_graceful_shutdown=round(settings.drain_s),
        access_log=False,
        lifespan="on",
    )
    sock = bind(settings.host, settings.port)
    try:
        _Server(config, on_listening).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` from a thread of this process until the block ends; yields the base URL.

    For tests and notebooks: the server shares the caller's objects (its fakes, its counters).
    """
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
