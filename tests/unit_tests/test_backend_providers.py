"""`backend_for`: endpoints become backends through a registry a third party can extend."""

from __future__ import annotations

import pytest

from spec_graph.backends import (
    ModelBackend,
    OpenAICompatibleBackend,
    _providers,
    backend_for,
    register_backend,
)
from spec_graph.config import EndpointConfig
from spec_graph.errors import UserError
from spec_graph.testing import ScriptedFakeBackend


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch):
    """Registrations made in a test stay in that test."""
    monkeypatch.setattr(_providers, "_FACTORIES", dict(_providers._FACTORIES))


def test_every_http_endpoint_is_openai_compatible_by_default():
    for server in ("auto", "vllm", "llamacpp", "generic"):
        endpoint = EndpointConfig(base_url="https://x.test/v1", model="m", server=server)
        backend = backend_for(endpoint, request_shape="completions")
        assert isinstance(backend, OpenAICompatibleBackend)
        assert backend.request_shape == "completions"  # keywords reach the factory
        assert isinstance(backend, ModelBackend)


def test_a_backend_registered_for_a_server_kind_serves_those_endpoints_only():
    made: list[EndpointConfig] = []

    def factory(endpoint: EndpointConfig, **kwargs) -> ModelBackend:
        made.append(endpoint)
        return ScriptedFakeBackend(endpoint.model, **kwargs)

    assert register_backend("llamacpp", factory) is None
    mine = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="tiny", server="llamacpp")
    backend = backend_for(mine, steps=["hi"])
    assert isinstance(backend, ScriptedFakeBackend)
    assert backend.model_name == "tiny"
    assert list(backend.steps) == ["hi"]
    assert made == [mine]
    other = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="big", server="vllm")
    assert isinstance(backend_for(other), OpenAICompatibleBackend)
    # re-registering hands back what it replaced, so it can be put back
    assert register_backend("llamacpp", OpenAICompatibleBackend) is factory


def test_a_url_scheme_can_be_registered_and_unknown_ones_are_a_clear_error():
    endpoint = EndpointConfig.model_construct(
        base_url="inproc://model", model="m", server="auto", api_key=None
    )
    with pytest.raises(UserError, match=r"no backend is registered.*'inproc'.*http"):
        backend_for(endpoint)
    register_backend("inproc", lambda e, **_: ScriptedFakeBackend(e.model))
    assert isinstance(backend_for(endpoint), ScriptedFakeBackend)
    with pytest.raises(ValueError, match="non-empty"):
        register_backend("", OpenAICompatibleBackend)
