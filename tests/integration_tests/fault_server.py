"""A fault-injecting OpenAI-compatible server on loopback, for reliability and load tests.

It answers like a tiny reasoning model (a step, then a boxed answer; a judge token with
top logprobs; a streamed reply) and, per request, injects a fault from a plan: a delay, a
trickle of one byte at a time, HTTP 5xx or 429, a connection dropped mid-response, a body
that is not JSON or is an HTML page, empty or null choices, a judge reply without logprobs
or without a verdict token, a stream that ends without ``[DONE]``. Everything is bounded:
every fault has a fixed maximum duration, the server stops with its context manager.

    with fault_server(FaultPlan(["http_500", "ok"])) as server:
        server.base_url   # "http://127.0.0.1:PORT/v1"
        server.counts     # how often each fault was injected

A plan is a fixed sequence (consumed request by request, then ``ok``) or random rates
(``FaultPlan.random({"http_500": 0.05, "drop": 0.02}, seed=1)``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "ok",
    "delay",
    "trickle",
    "http_500",
    "http_503",
    "http_429",
    "drop",
    "garbage",
    "html",
    "empty_choices",
    "null_choices",
    "no_logprobs",
    "no_verdict",
    "no_done",
)
DELAY_S = 3.0
"""How long ``delay`` waits before answering normally."""
TRICKLE_S = 30.0
"""How long ``trickle`` keeps sending one byte per `TRICKLE_EVERY_S` (then it answers)."""
TRICKLE_EVERY_S = 0.5


@dataclass
class FaultPlan:
    """Which fault each request gets: a fixed sequence first, then random rates (or ok)."""

    sequence: list[str] = field(default_factory=list)
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    latency_s: tuple[float, float] = (0.0, 0.0)
    """Extra random latency of every answer (uniform between the two)."""

    def __post_init__(self) -> None:
        unknown = set(self.sequence) | set(self.rates)
        unknown -= set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._left = list(self.sequence)

    @classmethod
    def random(
        cls, rates: dict[str, float], *, seed: int = 0, latency_s: tuple[float, float] = (0, 0)
    ) -> FaultPlan:
        """Each request independently gets a fault with these probabilities."""
        return cls(rates=rates, seed=seed, latency_s=latency_s)

    def next(self) -> tuple[str, float]:
        """The next request's fault and extra latency."""
        with self._lock:
            latency = self._random.uniform(*self.latency_s)
            if self._left:
                return self._left.pop(0), latency
            draw = self._random.random()
            for name, rate in self.rates.items():
                if draw < rate:
                    return name, latency
                draw -= rate
            return "ok", latency


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    plan: FaultPlan
    lock: threading.Lock
    counts: Counter[str]
    requests_seen: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fault", "owned_by": "fault"}]})
        elif self.path.endswith("/health"):
            self._json(200, {"status": "ok"})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fault, latency = self.server.plan.next()
        with self.server.lock:
            self.server.counts[fault] += 1
            self.server.requests_seen += 1
        time.sleep(latency)
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if fault == "delay":
            time.sleep(DELAY_S)
        if fault in ("http_500", "http_503", "http_429"):
            code = int(fault.removeprefix("http_"))
            self._json(code, {"error": {"message": f"injected {code}", "code": code}})
            return
        if fault == "drop":
            self._drop_midway()
            return
        if fault == "garbage":
            self._raw(200, "application/json", b"{this is not json")
            return
        if fault == "html":
            self._raw(200, "text/html", b"<html><body><h1>Welcome to nginx!</h1></body></html>")
            return
        if fault == "trickle":
            self._trickle(json.dumps(_completion(body, fault)).encode())
            return
        if body.get("stream"):
            self._stream(body, end_with_done=fault != "no_done")
            return
        reply = _completion(body, fault)
        if fault == "empty_choices":
            reply["choices"] = []
        elif fault == "null_choices":
            reply["choices"] = None
        self._json(200, reply)

    # --- writing -----------------------------------------------------------------------

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        self._raw(code, "application/json", json.dumps(payload).encode())

    def _raw(self, code: int, content_type: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop_midway(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "500")
        self.end_headers()
        self.wfile.write(b'{"id": "x", "choices": [')
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _trickle(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        padding = int(TRICKLE_S / TRICKLE_EVERY_S)
        self.send_header("Content-Length", str(len(data) + padding))
        self.end_headers()
        try:
            for _ in range(padding):  # JSON allows leading whitespace
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(TRICKLE_EVERY_S)
            self.wfile.write(data)
        except OSError:  # the client gave up: that is the point
            self.close_connection = True

    def _stream(self, body: dict[str, Any], *, end_with_done: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.close_connection = True
        self.end_headers()
        text = "The answer is 42."
        pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if last and not end_with_done:
                break  # the stream just stops: no finish_reason, no usage, no [DONE]
            chunk = {
                "id": "fault-stream",
                "object": "chat.completion.chunk",
                "model": "fault",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": piece},
                        "finish_reason": "stop" if last else None,
                    }
                ],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if end_with_done:
            usage = {
                "id": "fault-stream",
                "object": "chat.completion.chunk",
                "model": "fault",
                "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()


def _completion(body: dict[str, Any], fault: str) -> dict[str, Any]:
    """A plausible answer to ``body``: a judge token, a reasoning step, or a final step."""
    messages = body.get("messages") or []
    judge = body.get("max_tokens") == 1
    if judge:
        text = "Yes" if fault != "no_verdict" else "Perhaps"
        tops = (
            [{"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": -2.4},
             {"token": "1", "logprob": -3.0}, {"token": "9", "logprob": -3.2}]
            if fault != "no_verdict"
            else [{"token": "Perhaps", "logprob": -0.1}, {"token": "Maybe", "logprob": -2.0}]
        )  # fmt: skip
    else:
        prefix = messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else ""
        steps_so_far = prefix.count("\n\n")
        text = f"Step {steps_so_far + 1}: 6 * 7 = 42." if steps_so_far < 2 else "So \\boxed{42}."
        tops = [{"token": text, "logprob": -0.05}]
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
    }
    if body.get("logprobs") and fault != "no_logprobs":
        choice["logprobs"] = {
            "content": [{"token": text, "logprob": tops[0]["logprob"], "top_logprobs": tops}]
        }
    return {
        "id": "fault-completion",
        "object": "chat.completion",
        "model": "fault",
        "choices": [choice],
        "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23},
    }


@dataclass
class FaultServer:
    """A running fault server: where it is and what it injected so far."""

    base_url: str
    _server: _Server

    @property
    def counts(self) -> Counter[str]:
        """Requests per fault injected (``ok`` included)."""
        return self._server.counts

    @property
    def requests(self) -> int:
        """Requests answered so far."""
        return self._server.requests_seen


@contextmanager
def fault_server(plan: FaultPlan | Sequence[str] | None = None) -> Iterator[FaultServer]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    if plan is None or not isinstance(plan, FaultPlan):
        plan = FaultPlan(list(plan or []))
    server = _Server(("127.0.0.1", 0), _Handler)
    server.plan = plan
    server.lock = threading.Lock()
    server.counts = Counter()
    server.requests_seen = 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield FaultServer(f"http://127.0.0.1:{server.server_address[1]}/v1", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
