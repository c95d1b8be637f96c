"""`backend_for`: endpoints and model specs become backends through a registry anyone extends.

(``test_backend_registry``, not ``test_registry``: that basename is the shared `Registry`'s.)
"""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from spec_graph.backends import (
    BACKENDS,
    ModelBackend,
    ModelSpec,
    OpenAICompatibleBackend,
    backend_for,
    register_backend,
)
from spec_graph.config import EndpointConfig
from spec_graph.errors import UserError
from spec_graph.testing import ScriptedFakeBackend


@pytest.fixture(autouse=True)
def _own_registry():
    """Registrations made in a test stay in that test."""
    before = dict(BACKENDS.items())
    yield
    for name in BACKENDS.names():
        if name not in before:
            BACKENDS.unregister(name)
    for name, factory in before.items():
        BACKENDS.register(name, factory, replace=True)


def test_every_http_endpoint_is_openai_compatible_by_default():
    for server in ("auto", "vllm", "llamacpp", "generic", "sglang"):
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
    # a taken kind is not silently replaced; replacing hands back what was there
    with pytest.raises(UserError, match="already registered"):
        register_backend("llamacpp", OpenAICompatibleBackend)
    assert register_backend("llamacpp", OpenAICompatibleBackend, replace=True) is factory


def test_an_unknown_server_kind_is_a_clear_error_naming_the_known_ones():
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m", server="sglnag")
    with pytest.raises(UserError, match=r"unknown server kind 'sglnag'; known: .*sglang.*auto"):
        backend_for(endpoint)
    with pytest.raises(UserError, match=r"unknown backend kind 'nope'; known: openai"):
        backend_for(ModelSpec(kind="nope", model="m"))
    with pytest.raises(UserError, match="EndpointConfig or a ModelSpec"):
        backend_for("http://x")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="non-empty"):
        register_backend("", OpenAICompatibleBackend)


def test_a_url_scheme_can_be_registered_and_unknown_ones_are_a_clear_error():
    endpoint = EndpointConfig.model_construct(
        base_url="inproc://model", model="m", server="auto", api_key=None
    )
    with pytest.raises(UserError, match=r"no backend is registered.*'inproc'.*http"):
        backend_for(endpoint)
    register_backend("inproc", lambda e, **_: ScriptedFakeBackend(e.model))
    assert isinstance(backend_for(endpoint), ScriptedFakeBackend)


def test_a_model_spec_selects_its_kind_and_openai_takes_endpoint_fields():
    register_backend("transformers", lambda spec, **kw: ScriptedFakeBackend(spec.model, **kw))
    spec = ModelSpec(kind="transformers", model="Qwen/Qwen3-0.6B", options={"dtype": "auto"})
    backend = backend_for(spec, steps=["x"])
    assert isinstance(backend, ScriptedFakeBackend)
    assert backend.model_name == "Qwen/Qwen3-0.6B"
    http = ModelSpec(
        kind="openai", model="m", options={"base_url": "http://h.test/v1", "server": "sglang"}
    )
    openai_backend = backend_for(http)
    assert isinstance(openai_backend, OpenAICompatibleBackend)
    assert openai_backend.endpoint.server == "sglang"
    assert openai_backend.endpoint.base_url == "http://h.test/v1"


OLD_PATHS = {
    "spec_graph.backends.openai_compat": "OpenAICompatibleBackend",
    "spec_graph.backends._providers": "register_backend",
    "spec_graph.backends._openai_wire": "prompt_logprobs",
    "spec_graph.backends._profiles": "ServerProfile",
    "spec_graph.backends._text_tools": "parse_tool_calls",
    "spec_graph.backends.chat_model": "ChatModelBackend",
}


@pytest.mark.parametrize(("module", "name"), OLD_PATHS.items())
def test_old_import_paths_still_work_with_a_deprecation_warning(module, name):
    sys.modules.pop(module, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module(module)
    assert any(
        issubclass(w.category, DeprecationWarning) and module in str(w.message) for w in caught
    )
    assert getattr(old, name) is not None
