"""Token counts by the target's server (``POST /tokenize``), offline: an `httpx.MockTransport`."""

from __future__ import annotations

import json

import httpx
import openai
from chat_fakes import SPECREASON, fake_model
from langchain_core.messages import HumanMessage, SystemMessage

from spec_graph import EndpointConfig, SpeculativeReasoner, SpeculativeReasoningChatModel
from spec_graph.backends import OpenAICompatibleBackend
from spec_graph.testing import ScriptedFakeBackend

URL = "http://target.test/v1"


def _llamacpp_target():
    """A chat model whose target is a (mock) llama.cpp server; its requests are recorded."""
    seen: list[tuple[str, dict]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        if request.url.path == "/apply-template":
            return httpx.Response(
                200, json={"prompt": "<|user|>" + body["messages"][-1]["content"]}
            )
        return httpx.Response(200, json={"tokens": list(range(len(body["content"].split())))})

    client = openai.AsyncOpenAI(
        base_url=URL,
        api_key="test",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
    )
    endpoint = EndpointConfig(base_url=URL, model="target", server="llamacpp")
    target = OpenAICompatibleBackend(endpoint, client=client)
    reasoner = SpeculativeReasoner(ScriptedFakeBackend("draft"), target, SPECREASON)
    return SpeculativeReasoningChatModel(reasoner=reasoner), seen


def test_text_is_counted_by_the_targets_tokenizer_not_gpt2():
    model, seen = _llamacpp_target()
    assert model.get_num_tokens("three words here") == 3  # no transformers needed
    assert model.get_token_ids("a b") == [0, 1]
    assert seen[0] == (
        "/tokenize",
        {"content": "three words here", "add_special": False, "parse_special": False},
    )


def test_a_conversation_is_counted_through_the_targets_chat_template_with_its_tools():
    model, seen = _llamacpp_target()
    tool = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
    messages = [SystemMessage("Be brief."), HumanMessage("two words")]
    assert model.get_num_tokens_from_messages(messages, tools=[tool]) == 2
    (path, body), (tokenize, text) = seen
    assert path == "/apply-template"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "two words"},
    ]
    assert body["tools"] == [tool]
    assert (tokenize, text["content"], text["add_special"]) == (
        "/tokenize",
        "<|user|>two words",
        True,
    )


def test_a_backend_that_cannot_tokenize_falls_back_to_langchains_count(monkeypatch):
    from langchain_core.language_models import BaseLanguageModel

    # LangChain's own count (GPT-2's tokenizer, through transformers), stood in for here
    monkeypatch.setattr(BaseLanguageModel, "get_token_ids", lambda self, text: text.split())
    model, _, _ = fake_model()  # a scripted fake target: no token API
    assert model.get_num_tokens("one two three") == 3
    assert model.get_num_tokens_from_messages([HumanMessage("one two")]) == 3  # "Human: ..."


def test_a_custom_token_counter_still_wins():
    model, seen = _llamacpp_target()
    model.custom_get_token_ids = lambda text: [0]
    assert model.get_num_tokens("one two three") == 1
    assert seen == []
