"""The embedded server's temp log is removed on a clean stop and kept when it explains a failure."""

from __future__ import annotations

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
