"""Unit tests for the embedded lifecycle (`EmbeddedModels`, `ModelServers`): no real servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from spec_graph.config import EndpointConfig
from spec_graph.embedded import (
    LOCAL_PROFILES,
    EmbeddedModels,
    FetchProgress,
    LlamaServerConfig,
    ModelServers,
    lifecycle,
    server_threads,
)
from spec_graph.errors import EmbeddedServerError, UserError

DRAFT = EndpointConfig(base_url="http://draft.example/v1", model="d")
TARGET = EndpointConfig(base_url="http://target.example/v1", model="t")


class FakeServer:
    """Stands in for `LlamaServer`: records starts and stops."""

    started: ClassVar[list[FakeServer]] = []
    fail_on: ClassVar[str | None] = None

    def __init__(self, config: LlamaServerConfig) -> None:
        self.config = config
        self.running = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{1000 + FakeServer.started.index(self)}/v1"

    def start(self) -> str:
        if self.config.model_path.name == FakeServer.fail_on:
            raise EmbeddedServerError("boom")
        self.running = True
        FakeServer.started.append(self)
        return self.base_url

    def close(self) -> None:
        self.running = False


@pytest.fixture
def fake_servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeServer]:
    """Fake llama.cpp servers, and `fetch_model` answering with empty files."""
    FakeServer.started = []
    FakeServer.fail_on = None

    def fetch(spec: Any, **_: Any) -> Path:
        path = tmp_path / spec.filename
        path.touch()
        return path

    monkeypatch.setattr(lifecycle, "LlamaServer", FakeServer)
    monkeypatch.setattr(lifecycle, "fetch_model", fetch)
    return FakeServer


# --- the cores split rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrency", "two_servers", "cpus", "threads"),
    [
        (1, True, 8, None),
        (2, True, 8, None),  # one chain at a time per server: every core each
        (3, True, 8, 4),
        (16, True, 8, 4),
        (16, True, 2, 1),
        (16, True, 1, 1),  # never zero threads
        (16, False, 8, None),  # one server: all cores
    ],
)
def test_server_threads_split_the_cores_only_for_two_busy_servers(
    concurrency: int, two_servers: bool, cpus: int, threads: int | None
) -> None:
    assert server_threads(concurrency, two_servers=two_servers, cpu_count=cpus) == threads


def test_model_servers_size_the_embedded_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle.os, "cpu_count", lambda: 6)
    assert ModelServers("default").server_options == {"n_parallel": 2, "n_ctx": 16384}
    assert ModelServers("default", concurrency=8).server_options == {
        "n_parallel": 8,
        "n_ctx": 8 * lifecycle.CTX_PER_CHAIN,
        "n_threads": 3,
    }
    # many slots: the context stops at 65536, each slot gets less
    assert ModelServers("tiny", concurrency=32).server_options["n_ctx"] == 65536
    # one model in both roles is one server: no split
    assert "n_threads" not in ModelServers("tiny", concurrency=8).server_options
    # a given endpoint leaves one embedded server: no split either
    assert "n_threads" not in ModelServers("default", target=TARGET, concurrency=8).server_options
    # the same GGUF given for both roles is one server: no split
    gguf = Path("same.gguf")
    options = ModelServers("default", draft_gguf=gguf, target_gguf=gguf, concurrency=8)
    assert "n_threads" not in options.server_options


# --- ModelServers -------------------------------------------------------------------------


def test_given_endpoints_start_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_embedded(*args: Any, **kwargs: Any) -> EmbeddedModels:
        raise AssertionError("no embedded server may start when both endpoints are given")

    @contextmanager
    def no_display() -> Iterator[Any]:
        raise AssertionError("nothing is fetched: no progress display")
        yield  # pragma: no cover

    monkeypatch.setattr(lifecycle, "EmbeddedModels", no_embedded)
    messages: list[str] = []
    servers = ModelServers(
        "default", draft=DRAFT, target=TARGET, progress=no_display(), on_start=messages.append
    )
    with servers:
        assert servers.roles == ()
        assert (servers.draft, servers.target) == (DRAFT, TARGET)
        draft, target = servers
        assert (draft, target) == (DRAFT, TARGET)
    assert messages == []


def test_embedded_roles_start_inside_the_progress_display(
    fake_servers: type[FakeServer],
) -> None:
    events: list[str] = []
    seen: list[FetchProgress] = []

    class Display:
        def __enter__(self) -> Any:
            events.append("display on")
            return seen.append

        def __exit__(self, *exc: object) -> None:
            events.append("display off")

    def on_start(message: str) -> None:
        events.append(message)

    with ModelServers("default", progress=Display(), on_start=on_start) as servers:
        assert servers.roles == ("draft", "target")
        assert len(fake_servers.started) == 2
        assert all(s.running for s in fake_servers.started)
        draft, target = servers
        assert draft.base_url != target.base_url
        assert draft.server == target.server == "llamacpp"
        assert draft.model == "qwen2.5-coder-0.5b-instruct"
    assert not any(s.running for s in fake_servers.started)
    description = LOCAL_PROFILES["default"].description
    assert events == [
        "display on",
        f"starting embedded llama.cpp servers ({description})",
        "display off",
    ]


def test_one_given_endpoint_embeds_only_the_other_role(fake_servers: type[FakeServer]) -> None:
    with ModelServers("default", target=TARGET) as servers:
        assert servers.roles == ("draft",)
        assert [s.config.model_path.name for s in fake_servers.started] == [
            "qwen2.5-coder-0.5b-instruct.gguf"
        ]
        assert servers.target == TARGET
        assert servers.draft.server == "llamacpp"


def test_model_servers_pass_slots_and_threads_to_the_servers(
    fake_servers: type[FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle.os, "cpu_count", lambda: 4)
    with ModelServers("default", concurrency=6):
        configs = [s.config for s in fake_servers.started]
    assert [(c.n_parallel, c.n_ctx, c.n_threads) for c in configs] == [(6, 6 * 8192, 2)] * 2


def test_model_servers_before_entry_raise_a_user_error() -> None:
    with pytest.raises(UserError, match="not started"):
        _ = ModelServers("tiny").draft


# --- EmbeddedModels -----------------------------------------------------------------------


def test_one_model_in_both_roles_is_one_server(fake_servers: type[FakeServer]) -> None:
    with EmbeddedModels("tiny") as models:
        assert len(fake_servers.started) == 1
        assert models.draft == models.target
    assert not fake_servers.started[0].running


def test_embedded_models_serve_only_their_roles(fake_servers: type[FakeServer]) -> None:
    with EmbeddedModels("default", roles=("target",)) as models:
        assert models.target.model == "qwen2.5-coder-1.5b-instruct"
        with pytest.raises(UserError, match="no draft"):
            _ = models.draft
    with pytest.raises(ValueError, match="roles"):
        EmbeddedModels("default", roles=("judge",))


def test_a_failed_start_stops_the_servers_already_started(
    fake_servers: type[FakeServer],
) -> None:
    fake_servers.fail_on = "qwen2.5-coder-1.5b-instruct.gguf"
    models = EmbeddedModels("default")
    with pytest.raises(EmbeddedServerError):
        models.start()
    assert len(fake_servers.started) == 1
    assert not fake_servers.started[0].running
    with pytest.raises(UserError, match="not started"):
        _ = models.draft


def test_unknown_profile_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"unknown profile .*; known: default"):
        ModelServers("huge")
