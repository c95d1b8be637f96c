"""The OpenAI-compatible backend's wire format, offline: requests go to an `httpx.MockTransport`.

Each test answers the requests the backend sends with canned server responses (vLLM or
llama.cpp shaped) and checks both what was sent and how the answer was read.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import openai
import pytest

from spec_graph.backends import (
    GenerateRequest,
    OpenAICompatibleBackend,
    ReplyRequest,
    ScoreRequest,
)
from spec_graph.config import EndpointConfig, SamplingConfig
from spec_graph.errors import BackendError, ServerUnavailableError

URL = "http://wire.test/v1"
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]
Handler = Callable[[httpx.Request], httpx.Response]


def _backend(
    handler: Handler, *, server: str = "vllm", shape: str = "chat"
) -> tuple[OpenAICompatibleBackend, list[httpx.Request]]:
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
    endpoint = EndpointConfig(base_url=URL, model="m", server=server, max_retries=0)  # type: ignore[arg-type]
    return OpenAICompatibleBackend(endpoint, request_shape=shape, client=client), seen  # type: ignore[arg-type]


def _body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def _token(token: str, logprob: float, tops: list[tuple[str, float]] = ()) -> dict:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": None,
        "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in tops],
    }


def _usage(prompt: int, completion: int, cached: int = 0) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _chat(*choices: tuple[str, list[dict] | None], usage: dict | None = None, **extra) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None if content is None else {"content": content},
            }
            for i, (text, content) in enumerate(choices)
        ],
        "usage": usage or _usage(10, 3),
        **extra,
    }


def _answer(payload: dict) -> Handler:
    return lambda request: httpx.Response(200, json=payload)


def _request(**fields) -> GenerateRequest:
    defaults = {"messages": MESSAGES, "prefix": "2 + 2", "max_tokens": 8, "stop": ["\n\n"]}
    return GenerateRequest(**{**defaults, **fields})


async def test_vllm_generate_continues_the_assistant_prefix():
    backend, seen = _backend(_answer(_chat((" = 4.", None), usage=_usage(12, 3, cached=8))))
    gen = await backend.generate(_request(sampling=SamplingConfig(temperature=0.0, seed=5)))
    (sent,) = seen
    assert sent.url.path == "/v1/chat/completions"
    body = _body(sent)
    assert body["messages"] == [*MESSAGES, {"role": "assistant", "content": "2 + 2"}]
    assert body["continue_final_message"] is True
    assert body["add_generation_prompt"] is False
    assert body["model"] == "m"
    assert body["max_tokens"] == 8
    assert body["stop"] == ["\n\n"]
    assert body["temperature"] == 0.0
    assert body["seed"] == 5
    assert "logprobs" not in body
    assert "n" not in body
    assert "tools" not in body
    assert gen.text == " = 4."
    assert gen.finish_reason == "stop"
    assert gen.token_logprobs is None
    assert (gen.usage.calls, gen.usage.prompt_tokens, gen.usage.cached_tokens) == (1, 12, 8)
    assert gen.tokens == gen.usage.completion_tokens == 3
    assert gen.usage.seconds > 0


async def test_without_a_prefix_nothing_is_continued_and_tools_are_only_shown():
    tools = [{"type": "function", "function": {"name": "add", "parameters": {}}}]
    backend, seen = _backend(_answer(_chat(("4", None))))
    await backend.generate(_request(prefix="", tools=tools))
    body = _body(seen[0])
    assert body["messages"] == MESSAGES
    assert "continue_final_message" not in body
    assert body["tools"] == tools
    assert body["tool_choice"] == "none"


async def test_llamacpp_echoed_prefix_is_stripped_and_no_continue_flag_is_sent():
    backend, seen = _backend(_answer(_chat(("2 + 2 = 4.", None))), server="llamacpp")
    gen = await backend.generate(_request())
    assert gen.text == " = 4."
    body = _body(seen[0])
    assert body["messages"][-1] == {"role": "assistant", "content": "2 + 2"}
    assert "continue_final_message" not in body


async def test_chat_token_logprobs_are_read_per_generated_token():
    content = [_token(" =", -0.1), _token(" 4", -0.5), _token(".", -0.01)]
    backend, seen = _backend(_answer(_chat(("2 + 2 = 4.", content))), server="llamacpp")
    gen = await backend.generate(_request(logprobs=True))
    assert _body(seen[0])["logprobs"] is True
    assert gen.text == " = 4."
    assert gen.token_logprobs == [-0.1, -0.5, -0.01]


async def test_missing_token_logprobs_are_an_error_not_full_confidence():
    backend, _ = _backend(_answer(_chat((" = 4.", None))))
    with pytest.raises(BackendError, match="no token logprobs"):
        await backend.generate(_request(logprobs=True))


def _llamacpp_raw(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/apply-template":
        return httpx.Response(200, json={"prompt": "<user>What is 2 + 2?<assistant>2 + 2"})
    assert request.url.path == "/v1/completions"
    content = [_token(" =", -0.2, [(" =", -0.2)]), _token(" 4", -0.3, [(" 4", -0.3)])]
    return httpx.Response(
        200,
        json={
            "id": "cmpl-1",
            "object": "text_completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "text": " = 4",
                    "finish_reason": "stop",
                    # llama.cpp: the legacy fields are null, the chat-style list is filled
                    "logprobs": {"content": content, "tokens": None, "token_logprobs": None},
                }
            ],
            "usage": _usage(9, 2),
        },
    )


async def test_completions_shape_renders_the_template_and_reads_chat_style_logprobs():
    backend, seen = _backend(_llamacpp_raw, server="llamacpp", shape="completions")
    gen = await backend.generate(_request(logprobs=True))
    template, completion = seen
    assert _body(template)["messages"][-1] == {"role": "assistant", "content": "2 + 2"}
    body = _body(completion)
    assert body["prompt"] == "<user>What is 2 + 2?<assistant>2 + 2"
    assert body["logprobs"] == 1
    assert "messages" not in body
    assert gen.text == " = 4"
    assert gen.token_logprobs == [-0.2, -0.3]
    token = await backend.next_token(
        ScoreRequest(messages=MESSAGES, prefix="2 + 2", top_logprobs=4)
    )
    assert _body(seen[-1])["logprobs"] == 4
    assert token.top_logprobs == [(" =", -0.2)]


async def test_next_token_reads_the_first_tokens_alternatives():
    tops = [("Yes", -0.2), ("No", -1.8)]
    backend, seen = _backend(
        _answer(_chat(("Yes", [_token("Yes", -0.2, tops)]), usage=_usage(30, 1, 24)))
    )
    token = await backend.next_token(
        ScoreRequest(messages=MESSAGES, prefix="Answer:", top_logprobs=5)
    )
    body = _body(seen[0])
    assert (body["max_tokens"], body["temperature"]) == (1, 0.0)
    assert (body["logprobs"], body["top_logprobs"]) == (True, 5)
    assert "prompt_logprobs" not in body
    assert token.top_logprobs == tops
    assert (token.usage.calls, token.usage.prompt_tokens, token.usage.cached_tokens) == (1, 30, 24)


async def test_vllm_prompt_logprobs_are_asked_for_and_read():
    entries = [None, {"7": {"logprob": -1.5, "rank": 1, "decoded_token": " four"}}]
    payload = _chat(("Yes", [_token("Yes", -0.1, [("Yes", -0.1)])]), prompt_logprobs=entries)
    backend, seen = _backend(_answer(payload))
    token = await backend.next_token(
        ScoreRequest(messages=MESSAGES, prefix="2 + 2", prompt_logprobs=True)
    )
    assert _body(seen[0])["prompt_logprobs"] == 0
    assert token.prompt_logprobs == [(" four", -1.5)]


async def test_no_top_logprobs_is_a_clear_error():
    backend, _ = _backend(_answer(_chat(("Yes", None))))
    with pytest.raises(BackendError, match="no logprobs"):
        await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="Answer:"))


async def test_vllm_generate_many_sends_one_request_with_n():
    choices = [
        (" = 4.", [_token(" =", -0.1), _token(" 4", -0.2), _token(".", -0.3)]),
        (" is 4", [_token(" is", -0.4), _token(" 4", -0.5)]),
        ("", []),
    ]
    backend, seen = _backend(_answer(_chat(*choices, usage=_usage(20, 5, cached=16))))
    drafts = await backend.generate_many(_request(logprobs=True), 3)
    (sent,) = seen
    body = _body(sent)
    assert body["n"] == 3
    assert "seed" not in body
    assert [g.text for g in drafts] == [" = 4.", " is 4", ""]
    assert [g.token_logprobs for g in drafts] == [[-0.1, -0.2, -0.3], [-0.4, -0.5], []]
    assert [g.usage.completion_tokens for g in drafts] == [3, 2, 0]  # from each choice's logprobs
    assert [g.usage.prompt_tokens for g in drafts] == [20, 0, 0]  # the prompt counted once
    assert [g.usage.cached_tokens for g in drafts] == [16, 0, 0]
    assert [g.usage.calls for g in drafts] == [1, 1, 1]
    assert len({g.usage.seconds for g in drafts}) == 1  # decoded together
    total = sum(g.usage for g in drafts)
    assert (total.prompt_tokens, total.completion_tokens) == (20, 5)


async def test_vllm_generate_many_without_logprobs_splits_the_completion_tokens():
    backend, _ = _backend(_answer(_chat(("a", None), ("b", None), usage=_usage(20, 7))))
    drafts = await backend.generate_many(_request(), 2)
    assert [g.usage.completion_tokens for g in drafts] == [4, 3]
    assert all(g.token_logprobs is None for g in drafts)


async def test_generate_many_with_a_seed_sends_one_seeded_request_per_continuation():
    backend, seen = _backend(_answer(_chat(("x", None))))
    drafts = await backend.generate_many(_request(sampling=SamplingConfig(seed=40)), 3)
    assert len(drafts) == 3
    bodies = [_body(r) for r in seen]
    assert sorted(b["seed"] for b in bodies) == [40, 41, 42]
    assert all("n" not in b for b in bodies)


async def test_llamacpp_generate_many_uses_concurrent_requests_not_n():
    backend, seen = _backend(_answer(_chat(("2 + 2 = 4", None))), server="llamacpp")
    drafts = await backend.generate_many(_request(), 2)
    assert [g.text for g in drafts] == [" = 4", " = 4"]
    assert len(seen) == 2
    assert all("n" not in _body(r) for r in seen)
    with pytest.raises(ValueError, match="n must be"):
        await backend.generate_many(_request(), 0)


async def test_auto_asks_the_server_which_profile_applies():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            data = [{"id": "m", "object": "model", "created": 0, "owned_by": "vllm"}]
            return httpx.Response(200, json={"object": "list", "data": data})
        return httpx.Response(200, json=_chat((" = 4", None)))

    backend, seen = _backend(handler, server="auto")
    await backend.generate(_request())
    await backend.generate(_request())
    assert (await backend.server_profile()).name == "vllm"
    assert [r.url.path for r in seen].count("/v1/models") == 1
    assert _body(seen[-1])["continue_final_message"] is True


async def test_http_errors_become_backend_errors_naming_url_and_status():
    backend, _ = _backend(lambda request: httpx.Response(500, text="kv cache exhausted"))
    with pytest.raises(BackendError, match=r"HTTP 500.*kv cache exhausted") as info:
        await backend.generate(_request())
    assert not isinstance(info.value, ServerUnavailableError)
    assert URL in str(info.value)


async def test_connection_errors_become_server_unavailable():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    backend, _ = _backend(refuse)
    with pytest.raises(ServerUnavailableError, match=r"cannot reach.*connection refused"):
        await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="Answer:"))


def _sse(*events: dict) -> httpx.Response:
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def _delta(content: str | None, finish: str | None = None, usage: dict | None = None) -> dict:
    choices = (
        []
        if content is None
        else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    )
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": choices,
        "usage": usage,
    }


async def test_stream_reply_yields_text_then_usage():
    backend, seen = _backend(
        lambda r: _sse(_delta("Hel"), _delta("lo", "stop"), _delta(None, usage=_usage(5, 2)))
    )
    pieces = [p async for p in backend.stream_reply(ReplyRequest(messages=MESSAGES))]
    body = _body(seen[0])
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "max_tokens" not in body
    assert "".join(p.text for p in pieces) == "Hello"
    assert pieces[1].finish_reason == "stop"
    usage = pieces[-1].usage
    assert usage is not None
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 5, 2)
    assert all(p.usage is None for p in pieces[:-1])


async def test_token_speculation_is_never_a_request_field():
    # llama.cpp and vLLM both decide token-level speculation when the server starts
    for server in ("llamacpp", "vllm"):
        backend, seen = _backend(_answer(_chat(("2 + 2 = 4", None))), server=server)
        await backend.generate(_request())
        assert not any(key.startswith("speculative") for key in _body(seen[0]))


ADD_TOOL = {
    "type": "function",
    "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
}


@pytest.mark.parametrize(
    ("written", "name", "args"),
    [
        ('{"name": "add", "arguments": {"a": 1, "b"', "add", '{"a": 1, "b"'),
        ('{"name": "add", "argu', "add", ""),
        ('{"name": "ad', None, ""),
    ],
)
async def test_a_text_tool_call_cut_off_by_max_tokens_is_a_cut_call_not_text(written, name, args):
    # llama.cpp returns a forced call as text (constrained to the call's JSON); cut by
    # max_tokens, it used to come back as the reply's text.
    backend, seen = _backend(
        lambda r: _sse(
            _delta(written[:9]),
            _delta(written[9:], "length"),
            _delta(None, usage=_usage(5, 8)),
        ),
        server="llamacpp",
    )
    request = ReplyRequest(
        messages=MESSAGES, tools=[ADD_TOOL], tool_choice="required", max_tokens=8
    )
    pieces = [p async for p in backend.stream_reply(request)]
    assert "".join(p.text for p in pieces) == ""
    (call,) = [c for p in pieces for c in p.tool_calls]
    assert (call.index, call.name, call.args) == (0, name, args)
    assert [p.finish_reason for p in pieces if p.finish_reason] == ["length"]
    assert _body(seen[0])["response_format"]["type"] == "json_schema"  # the forced call


async def test_cut_text_that_opens_no_call_stays_text():
    backend, _ = _backend(
        lambda r: _sse(_delta("The answer", "length"), _delta(None, usage=_usage(5, 2))),
        server="llamacpp",
    )
    request = ReplyRequest(messages=MESSAGES, tools=[ADD_TOOL], max_tokens=2)
    pieces = [p async for p in backend.stream_reply(request)]
    assert "".join(p.text for p in pieces) == "The answer"
    assert not [c for p in pieces for c in p.tool_calls]


async def test_parallel_tool_calls_is_sent_with_the_tools_when_set():
    def reply(r):
        return _sse(_delta("ok", "stop"), _delta(None, usage=_usage(5, 1)))

    for value, server in ((False, "vllm"), (True, "llamacpp"), (None, "vllm")):
        backend, seen = _backend(reply, server=server)
        request = ReplyRequest(messages=MESSAGES, tools=[ADD_TOOL], parallel_tool_calls=value)
        _ = [p async for p in backend.stream_reply(request)]
        assert _body(seen[0]).get("parallel_tool_calls") == value
