"""`ScriptedFakeBackend`: the request API, usage, scripted logprobs and call order."""

from __future__ import annotations

import asyncio

import pytest

from spec_graph.backends import (
    BackendBase,
    GenerateRequest,
    ModelBackend,
    ReplyRequest,
    ScoreRequest,
)
from spec_graph.config import SamplingConfig
from spec_graph.testing import ScriptedFakeBackend

MESSAGES = [{"role": "user", "content": "two words"}]


def _gen(**fields) -> GenerateRequest:
    return GenerateRequest(**{"messages": MESSAGES, "max_tokens": 50, **fields})


async def test_generate_usage_and_the_recorded_call():
    fake = ScriptedFakeBackend("d", steps=["one two three", "a b c d"], delay_s=0.01)
    assert isinstance(fake, ModelBackend)
    assert isinstance(fake, BackendBase)
    gen = await fake.generate(_gen(prefix="p\n\n", stop=["\n\n"]))
    assert gen.text == "one two three"
    assert gen.token_logprobs is None
    assert gen.usage.calls == 1
    assert gen.usage.prompt_tokens == 2
    assert gen.usage.completion_tokens == gen.tokens == 3
    assert gen.usage.seconds == 0.01
    short = await fake.generate(_gen(max_tokens=2))
    assert (short.text, short.tokens) == ("a b", 2)
    call = fake.calls[0]
    assert call.kind == "generate"
    assert isinstance(call.request, GenerateRequest)
    assert (call.prefix, call.max_tokens, call.stop) == ("p\n\n", 50, ("\n\n",))
    assert call.messages == MESSAGES
    assert call.extra["tools"] is None
    assert fake.count("generate") == 2


async def test_answers_are_served_to_boxed_prefixes():
    fake = ScriptedFakeBackend(steps=["step"], answers=["42"])
    assert (await fake.generate(_gen(prefix="so \\boxed{"))).text == "42"
    assert (await fake.generate(_gen())).text == "step"
    assert (await fake.generate(_gen())).text == ""  # exhausted


async def test_scripted_step_logprobs_for_requests_that_ask():
    fake = ScriptedFakeBackend(steps=["a b", "c", "d e f", "g h"], step_logprobs=[-0.5, [-1.0]])
    assert (await fake.generate(_gen(logprobs=True))).token_logprobs == [-0.5, -0.5]
    assert (await fake.generate(_gen())).token_logprobs is None  # takes no scripted logprobs
    assert (await fake.generate(_gen(logprobs=True))).token_logprobs == [-1.0]  # as given
    assert (await fake.generate(_gen(logprobs=True))).token_logprobs == [0.0, 0.0]  # exhausted


async def test_generate_many_takes_steps_in_call_order_with_seeds():
    fake = ScriptedFakeBackend(steps=["one", "two", "three", "four"], delay_s=0.01)
    request = _gen(sampling=SamplingConfig(seed=3), logprobs=True)
    drafts = await fake.generate_many(request, 3)
    assert [g.text for g in drafts] == ["one", "two", "three"]
    assert [c.request.sampling.seed for c in fake.calls] == [3, 4, 5]
    assert fake.count("generate") == 3
    assert all(g.token_logprobs == [0.0] for g in drafts)


async def test_values_follow_call_order_when_calls_finish_out_of_order():
    fake = ScriptedFakeBackend(steps=["first", "second"], delay_s=0.05)
    slow = asyncio.ensure_future(fake.generate(_gen()))
    await asyncio.sleep(0)
    fake.delay_s = 0.0
    fast = await fake.generate(_gen())
    assert fast.text == "second"
    assert (await slow).text == "first"


async def test_a_cancelled_call_takes_no_scripted_value():
    fake = ScriptedFakeBackend(steps=["kept"], delay_s=0.05)
    early = asyncio.ensure_future(fake.generate(_gen()))
    await asyncio.sleep(0.01)
    early.cancel()
    with pytest.raises(asyncio.CancelledError):
        await early
    fake.delay_s = 0.0
    assert (await fake.generate(_gen())).text == "kept"


async def test_next_token_scores_and_usage():
    fake = ScriptedFakeBackend(scores=[9, None, [("7", -0.1)], 0])
    token = await fake.next_token(ScoreRequest(messages=MESSAGES, prefix="Answer:"))
    assert token.top_logprobs[0] == ("9", 0.0)
    assert (token.usage.calls, token.usage.prompt_tokens) == (1, 2)
    none = await fake.next_token(ScoreRequest(messages=MESSAGES))
    assert [t for t, _ in none.top_logprobs] == ["The", "I"]
    explicit = await fake.next_token(ScoreRequest(messages=MESSAGES, top_logprobs=1))
    assert explicit.top_logprobs == [("7", -0.1)]
    scored = await fake.next_token(
        ScoreRequest(messages=MESSAGES, prefix="a b", prompt_logprobs=True)
    )
    assert [t for t, _ in scored.prompt_logprobs] == ["a", " b"]
    call = fake.calls[-1]
    assert (call.kind, call.max_tokens, call.stop) == ("next_token", 1, ())
    assert call.extra["prompt_logprobs"] is True


async def test_stream_reply_ends_with_usage():
    fake = ScriptedFakeBackend(replies=["hi there", [{"name": "add", "args": {"a": 1}}]])
    pieces = [p async for p in fake.stream_reply(ReplyRequest(messages=MESSAGES))]
    assert "".join(p.text for p in pieces) == "hi there"
    assert pieces[-1].usage is not None
    assert (pieces[-1].usage.prompt_tokens, pieces[-1].usage.completion_tokens) == (2, 2)
    assert all(p.usage is None for p in pieces[:-1])
    request = ReplyRequest(messages=MESSAGES, tools=[{"x": 1}], tool_choice="required")
    calls = [p async for p in fake.stream_reply(request)]
    assert calls[0].tool_calls[0].name == "add"
    assert calls[-1].finish_reason == "tool_calls"
    assert fake.calls[-1].extra["tool_choice"] == "required"
    assert fake.calls[-1].prefix == ""


async def test_stream_reply_is_cut_at_max_tokens_like_a_server():
    fake = ScriptedFakeBackend(
        replies=["one two three", [{"name": "add", "args": {"a": 1, "b": 2}}], "one two"]
    )
    cut = ReplyRequest(messages=MESSAGES, max_tokens=2)
    pieces = [p async for p in fake.stream_reply(cut)]
    assert "".join(p.text for p in pieces) == "one two"
    assert (pieces[-1].finish_reason, pieces[-1].usage.completion_tokens) == ("length", 2)
    pieces = [p async for p in fake.stream_reply(cut)]
    (call,) = [c for p in pieces for c in p.tool_calls]
    assert (call.name, call.args) == ("add", '{"a": 1, ')  # a token is a word of the JSON
    assert pieces[-1].finish_reason == "length"
    pieces = [p async for p in fake.stream_reply(cut)]  # exactly max_tokens: not cut
    assert pieces[-1].finish_reason == "stop"
