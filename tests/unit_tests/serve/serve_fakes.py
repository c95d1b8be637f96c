"""Helpers of the serve tests: a real uvicorn server in a thread, scripted *fake* models."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from spec_graph import ReasoningConfig
from spec_graph.serve.runner import bind
from spec_graph.testing import ScriptedFakeBackend

SPECREASON = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})
QUESTION = [{"role": "user", "content": "What is 2+2?"}]


@dataclass
class Served:
    """A running server over fake models."""

    url: str
    """The base URL (``http://127.0.0.1:PORT/v1``)."""
    draft: ScriptedFakeBackend
    target: ScriptedFakeBackend

    @property
    def root(self) -> str:
        return self.url.removesuffix("/v1")

    def calls(self) -> int:
        return len(self.draft.calls) + len(self.target.calls)


@contextmanager
def running(app) -> Iterator[str]:
    """Serve ``app`` in a thread until the block ends; yields the base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def fake_models(
    *, steps: int = 2, replies=("The answer is 4.",), delay_s: float = 0.0
) -> tuple[ScriptedFakeBackend, ScriptedFakeBackend]:
    """A fake draft writing ``steps`` steps (all kept by the fake target's judge)."""
    draft = ScriptedFakeBackend(
        "fake-draft", steps=[f"Step {i}." for i in range(steps)] + [""], delay_s=delay_s
    )
    target = ScriptedFakeBackend(
        "fake-target", scores=[9] * steps, replies=replies, delay_s=delay_s
    )
    return draft, target
