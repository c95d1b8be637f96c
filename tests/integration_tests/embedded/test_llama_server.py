"""The embedded server: its temp log, and the supervisor that restarts a crashed server."""

from __future__ import annotations

import time

import httpx
import psutil
import pytest

from spec_graph.embedded import fetch_model
from spec_graph.embedded.server import LlamaServer, LlamaServerConfig
from spec_graph.errors import EmbeddedServerError


@pytest.fixture(scope="module")
def tiny_gguf():
    return fetch_model("smollm2-135m-instruct")


def test_a_clean_stop_removes_the_temp_log(tiny_gguf):
    # Defect (issue 16, item 9): /tmp/spec-graph-llama-*.log files were never removed.
    server = LlamaServer(LlamaServerConfig(model_path=tiny_gguf, n_ctx=1024, n_parallel=1))
    with server:
        assert server.log_path.exists()
    assert not server.log_path.exists()


def test_a_failed_start_keeps_the_log_it_names(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    server = LlamaServer(LlamaServerConfig(model_path=broken, startup_timeout_s=60))
    with pytest.raises(EmbeddedServerError) as raised:
        server.start()
    assert str(server.log_path) in str(raised.value)
    assert server.log_path.exists()
    server.log_path.unlink()


def test_a_log_the_caller_chose_is_never_removed(tiny_gguf, tmp_path):
    log = tmp_path / "llama.log"
    with LlamaServer(LlamaServerConfig(model_path=tiny_gguf, n_ctx=1024, log_path=log)):
        pass
    assert log.exists()


def test_a_crashed_server_is_restarted_on_its_port_and_answers_again(tiny_gguf):
    # Defect (issue 16, item 7): after one worker crash every later call in the process failed.
    with LlamaServer(LlamaServerConfig(model_path=tiny_gguf, n_ctx=1024, n_parallel=1)) as server:
        url = server.base_url
        assert _answers(url)
        worker = psutil.Process(server._process.pid)  # the llama.cpp child
        worker.kill()
        worker.wait(timeout=10)
        assert not _answers(url, timeout=2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _answers(url, timeout=2):
            time.sleep(0.5)
        assert server.restarts == 1
        assert server.base_url == url
        assert _answers(url)
    assert not server.log_path.exists() or server.log_path.read_text()  # kept: it has the crash


def test_restarts_are_bounded(tiny_gguf):
    config = LlamaServerConfig(model_path=tiny_gguf, n_ctx=1024, n_parallel=1, max_restarts=1)
    with LlamaServer(config) as server:
        for _ in range(2):
            worker = psutil.Process(server._process.pid)
            worker.kill()
            worker.wait(timeout=10)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _answers(server.base_url, timeout=2):
                if (
                    server.restarts == 1
                    and server._supervisor is not None
                    and not server._supervisor.is_alive()
                ):
                    break
                time.sleep(0.5)
        time.sleep(2)
        assert server.restarts == 1
        assert not _answers(server.base_url, timeout=2)  # left down after the budget


def _answers(base_url: str, timeout: float = 30) -> bool:
    try:
        reply = httpx.post(
            f"{base_url}/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
            timeout=timeout,
        )
    except httpx.HTTPError:
        return False
    return reply.status_code == 200
