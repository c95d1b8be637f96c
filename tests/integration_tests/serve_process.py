"""``spec-graph serve`` as a real child process, for the tests that talk to it over HTTP.

Use it from any test module (the integration-test directory is on ``sys.path`` through its
conftest)::

    from serve_process import serve_process

    with serve_process("--profile", "tiny") as base_url:   # "http://127.0.0.1:PORT/v1"
        reply = stream_reply(base_url, messages, max_tokens=24, extra_body={...})

The server listens on a free port; leaving the block sends SIGTERM, and the process must
then drain and exit with 143 (the code of a SIGTERM-ed process), else the test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/v1)")


@contextlib.contextmanager
def serve_process(
    *args: str, env: dict[str, str] | None = None, startup_timeout_s: float = 300
) -> Iterator[str]:
    """Run ``spec-graph serve --port 0 *args``; yield its base URL once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "spec_graph", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    url = None
    deadline = time.monotonic() + startup_timeout_s
    assert process.stdout is not None
    for line in process.stdout:
        found = LISTENING.search(line)
        if found:
            url = found.group(1)
            break
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the server did not start in time")
    if url is None:
        process.kill()
        pytest.fail(f"serve exited before listening: {process.communicate()[1][-2000:]}")
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 143, stderr[-2000:]


@dataclass
class StreamedReply:
    """What one streamed chat completion showed, and when (seconds from the request)."""

    reasoning: list[str] = field(default_factory=list)
    """The ``reasoning_content`` deltas (each checked equal to ``reasoning``)."""
    text: list[str] = field(default_factory=list)
    usage: Any = None
    telemetry: dict[str, Any] | None = None
    """The ``spec_graph`` field of the chunk that carried ``finish_reason``."""
    first_reasoning_s: float | None = None
    first_text_s: float | None = None
    total_s: float = 0.0


def stream_reply(
    base_url: str,
    messages: list[dict[str, Any]],
    *,
    model: str = "spec-graph/specreason",
    **create: Any,
) -> StreamedReply:
    """Stream one reply with the official ``openai`` client (usage included), as a user would."""
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    seen = StreamedReply()
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
        **create,
    )
    for chunk in stream:
        if chunk.usage is not None:
            seen.usage = chunk.usage
        if not chunk.choices:
            continue
        delta, now = chunk.choices[0].delta, time.perf_counter() - started
        extra = delta.model_extra or {}
        if extra.get("reasoning_content"):
            assert extra.get("reasoning") == extra["reasoning_content"]
            seen.first_reasoning_s = seen.first_reasoning_s or now
            seen.reasoning.append(extra["reasoning_content"])
        if delta.content:
            seen.first_text_s = seen.first_text_s or now
            seen.text.append(delta.content)
        if chunk.choices[0].finish_reason:
            seen.telemetry = (chunk.model_extra or {}).get("spec_graph")
    seen.total_s = time.perf_counter() - started
    return seen
