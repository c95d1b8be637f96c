"""``spec-graph serve`` answers the official ``openai`` client (sync, async, streamed).

The models are scripted *fakes* (`ScriptedFakeBackend`); what is checked is the endpoint's
mapping of the pipeline's events to OpenAI's objects, not any model's quality.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from serve_fakes import QUESTION, fake_models

from spec_graph.strategies import strategy_names

MODEL = "spec-graph/specreason"


def client(served, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url, api_key="unused", max_retries=0, **kw)


def test_models_lists_one_model_per_strategy(serve):
    served = serve()
    models = client(served).models.list()
    assert [m.id for m in models.data] == [f"spec-graph/{s}" for s in strategy_names()]
    card = models.data[0].model_dump()
    assert card["owned_by"] == "spec-graph"
    assert (card["draft_model"], card["target_model"]) == ("fake-draft", "fake-target")
    assert client(served).models.retrieve("spec-graph/scot").id == "spec-graph/scot"


def test_non_streamed_reply_has_reasoning_usage_and_telemetry(serve):
    served = serve()
    reply = client(served).chat.completions.create(model=MODEL, messages=QUESTION)
    message = reply.choices[0].message
    assert message.content == "The answer is 4."
    extra = message.model_extra
    assert extra["reasoning_content"] == extra["reasoning"] == "Step 0.\n\nStep 1.\n\n"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.id.startswith("chatcmpl-")
    assert reply.created > 0
    assert reply.model == MODEL
    usage = reply.usage
    telemetry = reply.model_extra["spec_graph"]
    by_model = telemetry["usage_by_model"]
    assert (
        usage.prompt_tokens
        == by_model["draft"]["prompt_tokens"] + by_model["target"]["prompt_tokens"]
    )
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # Two kept steps of two words each, and two judge calls of one token each.
    assert usage.completion_tokens_details.reasoning_tokens == 2 * 2 + 2
    assert usage.completion_tokens == usage.completion_tokens_details.reasoning_tokens + 4
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert telemetry["strategy"] == "specreason"
    assert (telemetry["judge_calls"], telemetry["acceptance_rate"]) == (2, 1.0)
    assert served.target.count("next_token") == 2  # the fakes really judged both steps


def test_streamed_reply_maps_every_event(serve):
    served = serve()
    chunks = list(
        client(served).chat.completions.create(
            model=MODEL, messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len({c.id for c in chunks}) == 1
    assert len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    # the role rides on the first reasoning (what load tools time as the first token)
    assert chunks[0].choices[0].delta.model_extra["reasoning_content"] == "Step 0.\n\n"
    assert all(c.choices[0].delta.role is None for c in chunks[1:] if c.choices)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = [d.model_extra.get("reasoning_content") for d in deltas]
    assert [r for r in reasoning if r] == ["Step 0.\n\n", "Step 1.\n\n"]
    assert [d.model_extra.get("reasoning") for d in deltas] == reasoning
    text = "".join(d.content or "" for d in deltas)
    assert text == "The answer is 4."
    first_text = next(i for i, d in enumerate(deltas) if d.content)
    assert all(not r for r in reasoning[first_text:])  # the reasoning comes first
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["stop"]
    assert finish[0].model_extra["spec_graph"]["judge_calls"] == 2
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.total_tokens > 0
    assert usage_chunk.usage.completion_tokens_details.reasoning_tokens == 6


def test_stream_without_include_usage_has_no_usage(serve):
    served = serve()
    chunks = list(
        client(served).chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason


def test_stream_events_are_separated_by_a_blank_line_as_openai_sends_them(serve):
    # sse-starlette's default "\r\n" line ends broke `vllm bench serve`, which splits on "\n\n"
    served = serve()
    body = {"model": MODEL, "messages": QUESTION, "stream": True}
    raw = httpx.post(f"{served.url}/chat/completions", json=body, timeout=30).text
    assert "\r" not in raw
    events = [e for e in raw.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert all(json.loads(e.removeprefix("data: ")) for e in events[:-1])


@pytest.mark.parametrize("ping_s", [None, 0.05])
def test_keep_alive_comments_only_when_asked_for(serve, ping_s):
    # OpenAI and vLLM send none, and vLLM's load tool lost every event after one (at 32
    # clients, 114 of 128 replies): off by default, on for proxies that cut quiet connections
    served = serve(*fake_models(delay_s=0.2), ping_s=ping_s)
    body = {"model": MODEL, "messages": QUESTION, "stream": True}
    raw = httpx.post(f"{served.url}/chat/completions", json=body, timeout=30).text
    events = [e for e in raw.split("\n\n") if e.strip()]
    pings = [e for e in events if e.startswith(":")]
    assert bool(pings) == (ping_s is not None)
    assert events[-1] == "data: [DONE]"


async def test_async_client_streams_and_answers(serve):
    served = serve(*fake_models(replies=("Four.", "Four again.")))
    async with openai.AsyncOpenAI(base_url=served.url, api_key="x", max_retries=0) as aclient:
        reply = await aclient.chat.completions.create(model=MODEL, messages=QUESTION)
        assert reply.choices[0].message.content == "Four."
        served.draft.steps.extend(["Again.", ""])
        served.target.scores.append(9)
        stream = await aclient.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
        text = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(t or "" for t in text) == "Four again."


def test_the_model_name_picks_the_strategy(serve):
    served = serve()
    reply = client(served).chat.completions.create(model="spec-graph/draft-only", messages=QUESTION)
    assert reply.model_extra["spec_graph"]["strategy"] == "draft-only"
    assert served.target.count("next_token") == 0  # nobody judges in draft-only
    default = client(served).chat.completions.create(model="spec-graph", messages=QUESTION)
    assert default.model_extra["spec_graph"]["strategy"] == "specreason"


def test_per_request_knobs_reach_the_run(serve):
    draft, target = fake_models(steps=3)
    served = serve(draft, target)
    client(served).chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        max_tokens=7,
        temperature=0.3,
        seed=11,
        stop="END",
        extra_body={"max_steps": 1, "threshold": 5},
    )
    assert draft.count("generate") == 1  # max_steps=1
    reply = next(c.request for c in target.calls if c.kind == "stream_reply")
    assert (reply.max_tokens, reply.stop, reply.sampling.temperature) == (7, ["END"], 0.3)
    assert reply.sampling.seed == 11
    assert draft.calls[0].request.sampling.seed == 11


def test_tool_calls_and_response_format(serve):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "add two integers",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                },
            },
        }
    ]
    draft, target = fake_models(replies=([{"name": "add", "args": {"a": 2, "b": 2}}],))
    served = serve(draft, target)
    reply = client(served).chat.completions.create(
        model=MODEL, messages=QUESTION, tools=tools, tool_choice="required"
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 2, "b": 2}
    sent = next(c for c in target.calls if c.kind == "stream_reply").extra
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["name"] == "add"

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "N", "schema": schema}}
    target.replies.append('{"n": 4}')
    draft.steps.extend(["Again.", ""])
    target.scores.append(9)
    reply = client(served).chat.completions.create(
        model=MODEL, messages=QUESTION, response_format=fmt
    )
    assert json.loads(reply.choices[0].message.content) == {"n": 4}
    sent = [c for c in target.calls if c.kind == "stream_reply"][-1].extra
    assert sent["response_format"] == fmt


def test_streamed_tool_call_pieces(serve):
    draft, target = fake_models(replies=([{"name": "add", "args": {"a": 1}}],))
    served = serve(draft, target)
    tools = [{"type": "function", "function": {"name": "add", "parameters": {}}}]
    chunks = list(
        client(served).chat.completions.create(
            model=MODEL, messages=QUESTION, tools=tools, stream=True
        )
    )
    pieces = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert pieces[0].index == 0
    assert pieces[0].id
    assert pieces[0].type == "function"
    assert "".join(p.function.arguments for p in pieces) == '{"a": 1}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_parallel_tool_calls_false_keeps_one_call(serve):
    """As the chat model's ``bind_tools(parallel_tool_calls=False)``: asked of the target's
    server, and the reply keeps at most the first call even if the model writes two."""
    calls = [{"name": "add", "args": {"a": 1}}, {"name": "add", "args": {"a": 2}}]
    draft, target = fake_models(replies=(calls, calls))
    served = serve(draft, target)
    tools = [{"type": "function", "function": {"name": "add", "parameters": {}}}]
    both = client(served).chat.completions.create(model=MODEL, messages=QUESTION, tools=tools)
    assert len(both.choices[0].message.tool_calls) == 2
    draft.steps.extend(["Again.", ""])
    target.scores.append(9)
    one = client(served).chat.completions.create(
        model=MODEL, messages=QUESTION, tools=tools, parallel_tool_calls=False
    )
    (call,) = one.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"a": 1}
    sent = [c for c in target.calls if c.kind == "stream_reply"][-1].extra
    assert sent["parallel_tool_calls"] is False


def test_text_parts_and_developer_messages_are_accepted(serve):
    served = serve()
    messages = [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}],
        },
    ]
    client(served).chat.completions.create(model=MODEL, messages=messages)
    sent = served.target.calls[-1].messages
    assert sent[0]["role"] == "system"
    assert "Be brief." in sent[0]["content"]
    assert any(m["content"] == "What is 2+2?" for m in sent)


def test_health_and_ready(serve):
    served = serve()
    assert httpx.get(f"{served.root}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{served.root}/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert {r: m["model"] for r, m in body["models"].items()} == {
        "draft": "fake-draft",
        "target": "fake-target",
    }


class DownTarget:
    """A fake target whose server is gone: every call raises."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def capabilities(self):
        raise ConnectionError("connection refused")


def test_ready_is_503_when_a_model_server_is_down(serve):
    draft, target = fake_models()
    served = serve(draft, DownTarget(target))
    ready = httpx.get(f"{served.root}/ready")
    assert ready.status_code == 503
    models = ready.json()["models"]
    assert models["draft"]["ok"] is True
    assert models["target"]["ok"] is False
    assert "connection refused" in models["target"]["error"]


@pytest.mark.parametrize("stream", [False, True])
def test_chat_openai_reads_the_endpoint(serve, stream):
    langchain_openai = pytest.importorskip("langchain_openai")
    served = serve()
    model = langchain_openai.ChatOpenAI(
        model=MODEL,
        base_url=served.url,
        api_key="x",
        max_retries=0,
        streaming=stream,
        stream_usage=True,
    )
    message = model.invoke("What is 2+2?")
    assert message.content == "The answer is 4."
    assert message.usage_metadata["output_token_details"]["reasoning"] == 6
    assert message.usage_metadata["total_tokens"] > 0


def test_init_chat_model_reaches_the_endpoint_as_an_openai_model(serve):
    # langchain has no provider entry for spec-graph; the endpoint is the route to it
    chat_models = pytest.importorskip("langchain.chat_models")
    pytest.importorskip("langchain_openai")
    served = serve()
    model = chat_models.init_chat_model(
        "openai:spec-graph/specreason", base_url=served.url, api_key="x", max_retries=0
    )
    message = model.invoke("What is 2+2?")
    assert message.content == "The answer is 4."
    assert message.response_metadata["model_name"] == "spec-graph/specreason"
    assert served.target.count("next_token") == 2  # the run really judged its steps
