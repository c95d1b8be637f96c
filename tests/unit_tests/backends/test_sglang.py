"""SGLang as a few lines of quirks: offline, against SGLang-shaped responses (httpx MockTransport).

The canned bodies follow SGLang's OpenAI-compatible protocol: ``/v1/models`` cards
``owned_by: "sglang"`` (with ``root`` and ``max_model_len``), chat choices carry
``matched_stop`` and ``reasoning_content``, token logprobs carry ``bytes`` as integer lists,
and the chat request takes vLLM's ``continue_final_message``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import openai
import pytest

from spec_graph.backends import (
    QUIRKS,
    GenerateRequest,
    OpenAICompatibleBackend,
    ScoreRequest,
    backend_for,
)
from spec_graph.backends.openai import quirks_for_owner
from spec_graph.config import EndpointConfig, SamplingConfig
from spec_graph.errors import BackendError

URL = "http://sglang.test/v1"
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]
Handler = Callable[[httpx.Request], httpx.Response]

MODELS = {
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen3-8B",
            "object": "model",
            "created": 1764633600,
            "owned_by": "sglang",
            "root": "Qwen/Qwen3-8B",
            "max_model_len": 40960,
        }
    ],
}


def _token(token: str, logprob: float, tops: tuple[tuple[str, float], ...] = ()) -> dict:
    return {
        "token": token,
        "bytes": list(token.encode()),
        "logprob": logprob,
        "top_logprobs": [{"token": t, "bytes": list(t.encode()), "logprob": lp} for t, lp in tops],
    }


def _chat(*texts: str, logprobs: list[list[dict]] | None = None, completion: int = 3) -> dict:
    return {
        "id": "f3c1e0a2b4d64c1e",
        "object": "chat.completion",
        "created": 1764633601,
        "model": "Qwen/Qwen3-8B",
        "choices": [
            {
                "index": i,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "reasoning_content": None,
                    "tool_calls": None,
                },
                "logprobs": None if logprobs is None else {"content": logprobs[i]},
                "finish_reason": "stop",
                "matched_stop": "\n\n",
            }
            for i, text in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": 21,
            "total_tokens": 21 + completion,
            "completion_tokens": completion,
            "prompt_tokens_details": None,
            "reasoning_tokens": 0,
        },
        "metadata": {"weight_version": "default"},
    }


def _backend(handler: Handler, server: str = "sglang") -> tuple[OpenAICompatibleBackend, list]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = openai.AsyncOpenAI(
        base_url=URL,
        api_key="test",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(record)),
    )
    endpoint = EndpointConfig(base_url=URL, model="Qwen/Qwen3-8B", server=server, max_retries=0)
    backend = backend_for(endpoint, client=client)
    assert isinstance(backend, OpenAICompatibleBackend)
    return backend, seen


def _body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def _request(**fields) -> GenerateRequest:
    return GenerateRequest(**{"messages": MESSAGES, "max_tokens": 32, **fields})


def test_sglang_is_a_server_kind_an_endpoint_accepts():
    endpoint = EndpointConfig(base_url=URL, model="m", server="sglang")
    assert endpoint.server == "sglang"
    assert QUIRKS["sglang"].continue_body == QUIRKS["vllm"].continue_body
    assert quirks_for_owner("sglang").name == "sglang"
    assert quirks_for_owner("SGLang").name == "sglang"
    assert quirks_for_owner("vllm").name == "vllm"
    assert quirks_for_owner("llamacpp").name == "llamacpp"
    assert quirks_for_owner("someone").name == "generic"


async def test_sglang_continues_the_prefix_like_vllm_and_returns_only_new_text():
    backend, seen = _backend(lambda _: httpx.Response(200, json=_chat(" 2 + 2 = 4.")))
    gen = await backend.generate(_request(prefix="Add them:", stop=["\n\n"]))
    assert gen.text == " 2 + 2 = 4."  # no echoed prefix to strip
    assert gen.usage.prompt_tokens == 21
    assert gen.usage.completion_tokens == 3
    body = _body(seen[0])
    assert body["continue_final_message"] is True
    assert body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "Add them:"}


async def test_auto_recognises_sglang_from_owned_by_once():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json=MODELS)
        return httpx.Response(200, json=_chat(" = 4"))

    backend, seen = _backend(handler, server="auto")
    await backend.generate(_request(prefix="2 + 2"))
    await backend.generate(_request(prefix="2 + 2"))
    assert (await backend.server_profile()).name == "sglang"
    assert [r.url.path for r in seen].count("/v1/models") == 1
    capabilities = await backend.capabilities()
    assert capabilities.batched_n
    assert capabilities.preferred_width == 5


async def test_sglang_batches_n_continuations_in_one_request_with_their_logprobs():
    logprobs = [[_token(" 4", -0.1)], [_token(" four", -0.7), _token(".", -0.2)]]
    payload = _chat(" 4", " four.", logprobs=logprobs, completion=3)
    backend, seen = _backend(lambda _: httpx.Response(200, json=payload))
    request = _request(logprobs=True, sampling=SamplingConfig(temperature=0.7))
    gens = await backend.generate_many(request, 2)
    assert len(seen) == 1
    assert _body(seen[0])["n"] == 2
    assert [g.text for g in gens] == [" 4", " four."]
    assert [g.token_logprobs for g in gens] == [[-0.1], [-0.7, -0.2]]
    assert sum(g.usage.completion_tokens for g in gens) == 3


async def test_sglang_judge_token_alternatives_are_read():
    tops = (("9", -0.05), ("8", -3.1), ("7", -5.0))
    payload = _chat("9", logprobs=[[_token("9", -0.05, tops)]], completion=1)
    backend, seen = _backend(lambda _: httpx.Response(200, json=payload))
    result = await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="Score: "))
    assert result.top_logprobs == list(tops)
    body = _body(seen[0])
    assert body["max_tokens"] == 1
    assert body["top_logprobs"] == 10


async def test_sglang_prompt_logprobs_are_refused_clearly_before_any_request():
    backend, seen = _backend(lambda _: httpx.Response(200, json=_chat("9")))
    assert not (await backend.capabilities()).prompt_logprobs
    with pytest.raises(BackendError, match=r"'sglang' server.*prompt log-probabilities"):
        await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="x", prompt_logprobs=True))
    assert seen == []
