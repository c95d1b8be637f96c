"""`BackendCapabilities`: each backend declares what it can do; nodes read it, never guess."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import ValidationError

from spec_graph.backends import (
    BackendBase,
    BackendCapabilities,
    ModelBackend,
    OpenAICompatibleBackend,
)
from spec_graph.backends.langchain import LangChainBackend
from spec_graph.config import EndpointConfig
from spec_graph.nodes.choices import default_width
from spec_graph.testing import ScriptedFakeBackend


def test_capabilities_are_a_frozen_strict_value():
    caps = BackendCapabilities()
    assert (caps.batched_n, caps.preferred_width, caps.continues_prefix) == (False, 2, True)
    with pytest.raises(ValidationError):
        caps.batched_n = True  # type: ignore[misc]
    with pytest.raises(ValidationError):
        BackendCapabilities(batched=True)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        BackendCapabilities(preferred_width=0)


async def test_a_backend_base_subclass_declares_them_on_its_class():
    class Mine(BackendBase):
        default_capabilities = BackendCapabilities(batched_n=True, preferred_width=4)

    assert (await Mine().capabilities()).preferred_width == 4
    assert await BackendBase().capabilities() == BackendCapabilities()


async def test_the_fake_claims_what_it_scripts_or_what_it_is_told():
    fake = ScriptedFakeBackend()
    assert isinstance(fake, ModelBackend)
    caps = await fake.capabilities()
    assert caps.token_logprobs
    assert caps.prompt_logprobs
    assert caps.native_tool_calls
    assert not caps.batched_n
    vllm_like = ScriptedFakeBackend(capabilities=BackendCapabilities(batched_n=True))
    assert (await vllm_like.capabilities()).batched_n


@pytest.mark.parametrize(
    ("server", "shape", "batched", "width", "prompt_logprobs"),
    [
        ("vllm", "chat", True, 5, True),
        ("vllm", "completions", True, 5, False),
        ("sglang", "chat", True, 5, False),
        ("llamacpp", "chat", False, 2, False),
        ("generic", "chat", False, 2, False),
    ],
)
async def test_an_openai_backend_reads_them_from_its_server_quirks(
    server, shape, batched, width, prompt_logprobs
):
    endpoint = EndpointConfig(base_url="http://x.test/v1", model="m", server=server)
    caps = await OpenAICompatibleBackend(endpoint, request_shape=shape).capabilities()
    assert caps.batched_n is batched
    assert caps.preferred_width == width
    assert caps.prompt_logprobs is prompt_logprobs
    assert caps.continues_prefix
    assert caps.token_logprobs
    assert caps.native_tool_calls


async def test_a_langchain_model_does_not_continue_prefixes_or_judge():
    caps = await LangChainBackend(FakeListChatModel(responses=["x"])).capabilities()
    assert not caps.continues_prefix
    assert not caps.top_logprobs
    assert not caps.token_logprobs


async def test_default_width_is_the_draft_backends_preferred_width():
    for width in (1, 2, 7):
        fake = ScriptedFakeBackend(capabilities=BackendCapabilities(preferred_width=width))
        assert await default_width(SimpleNamespace(draft=fake)) == width  # type: ignore[arg-type]
