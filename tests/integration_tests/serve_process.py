"""``spec-graph serve`` as a real child process, for the tests that talk to it over HTTP.

Use it from any test module (the integration-test directory is on ``sys.path`` through its
conftest)::

    from serve_process import serve_process

    with serve_process("--profile", "tiny") as base_url:   # "http://127.0.0.1:PORT/v1"
        ...

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
