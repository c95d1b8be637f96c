"""`spec_graph.reply.reply_stream` on scripted fake backends: the events, in order, add up."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from contextlib import aclosing
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

import spec_graph.reply
from spec_graph import (
    ReasoningConfig,
    SpeculativeReasoner,
    SpeculativeReasoningChatModel,
    UserError,
    build_graph,
    nodes,
)
from spec_graph.reply import (
    ReasoningDelta,
    ReplyDone,
    ReplyEvent,
    TextDelta,
    ToolCallDelta,
    reply_stream,
)
from spec_graph.testing import ScriptedFakeBackend
from spec_graph.usage import Usage

SPECREASON = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})
QUESTION = [{"role": "user", "content": "What is 2+2?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} two integers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            },
        },
    }
    for name in ("add", "mul")
]


class RecordingTarget(ScriptedFakeBackend):
    """The scripted target, keeping the usage its reply reported."""

    reply_usage: Usage | None = None

    async def stream_reply(self, request):
        async with aclosing(super().stream_reply(request)) as pieces:
            async for piece in pieces:
                if piece.usage is not None:
                    self.reply_usage = piece.usage
                yield piece


def fakes(*, replies=("The answer is 4.",)):
    draft = ScriptedFakeBackend("fake-draft", steps=("Think one.", "Think two.", ""))
    target = RecordingTarget(
        "fake-target", steps=("Fixed two.", ""), scores=(9, 2), replies=replies
    )
    return draft, target


def reasoner(draft, target):
    return SpeculativeReasoner(draft, target, SPECREASON, graph=build_graph(answer=nodes.finish))


async def events_of(**kw) -> tuple[list, ScriptedFakeBackend, RecordingTarget]:
    draft, target = fakes(replies=kw.pop("replies", ("The answer is 4.",)))
    events = [e async for e in reply_stream(reasoner(draft, target), QUESTION, **kw)]
    return events, draft, target


def kinds(events) -> list[str]:
    return [e.type for e in events]


async def test_reasoning_then_text_then_one_done():
    events, _, _ = await events_of()
    order = kinds(events)
    assert order == ["reasoning"] * 2 + ["text"] * 4 + ["done"]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == (
        "Think one.\n\nFixed two.\n\n"
    )
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "The answer is 4."
    done = events[-1]
    assert isinstance(done, ReplyDone)
    assert done.finish_reason == "stop"
    assert done.telemetry.strategy == "specreason"
    assert done.telemetry.steps == 3
    assert done.telemetry.judge_calls == 2
    assert done.telemetry.acceptance_rate == pytest.approx(1 / 2)
    assert done.telemetry.timings.reply_s >= 0


async def test_usage_is_the_sum_of_the_run_and_the_reply():
    events, _, target = await events_of()
    usage = events[-1].usage
    # the same script run again without the reply: the reasoning's own totals
    draft2, target2 = fakes()
    reasoning_messages = spec_graph.reply.prompts.with_reasoning_instruction(QUESTION)
    t = (await reasoner(draft2, target2).ainvoke(messages=reasoning_messages)).totals
    reply = target.reply_usage
    assert reply is not None
    assert reply.completion_tokens == 4
    reasoning = t.draft_tokens + t.target_tokens + t.judge_calls
    assert usage.reasoning_tokens == reasoning
    assert (
        usage.prompt_tokens == t.draft_prompt_tokens + t.target_prompt_tokens + reply.prompt_tokens
    )
    assert usage.completion_tokens == reasoning + reply.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cached_tokens == t.cached_prompt_tokens + reply.cached_tokens
    # per model, the two add up to the whole
    assert usage.draft.prompt_tokens + usage.target.prompt_tokens == usage.prompt_tokens
    assert usage.draft.completion_tokens + usage.target.completion_tokens == (
        usage.completion_tokens
    )
    assert usage.draft.completion_tokens == t.draft_tokens


async def test_tool_calls_are_numbered_from_zero_and_finish_with_tool_calls():
    calls = [{"name": "add", "args": {"a": 2, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    events, _, target = await events_of(replies=(calls,), tools=TOOLS, tool_choice="required")
    assert kinds(events) == ["reasoning"] * 2 + ["tool_call"] * 2 + ["done"]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.index, d.id, d.name) for d in deltas] == [(0, "call_0", "add"), (1, "call_1", "mul")]
    assert [json.loads(d.args) for d in deltas] == [c["args"] for c in calls]
    assert events[-1].finish_reason == "tool_calls"
    request = next(c for c in target.calls if c.kind == "stream_reply")
    assert request.extra["tool_choice"] == "required"
    assert [t["function"]["name"] for t in request.extra["tools"]] == ["add", "mul"]


async def test_an_echo_of_the_notes_wrapper_never_reaches_the_reply():
    # with tools and tool_choice auto the reasoning goes in as <reasoning> notes; small models
    # echoed the wrapper (default pair: a reply that began with it and the tool listing)
    echoed = "<reasoning>\nadd(a, b), mul(a, b)\nThink one.\n</reasoning>\n\nThe answer is 4.</reasoning>"
    events, _, target = await events_of(replies=(echoed,), tools=TOOLS, tool_choice="auto")
    request = next(c for c in target.calls if c.kind == "stream_reply")
    assert "<reasoning>" in request.messages[-1]["content"]  # the notes wrapper was used
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "The answer is 4."


async def test_without_the_notes_wrapper_the_reply_is_passed_on_as_written():
    written = "Tags like <reasoning> stay when the request had none."
    events, _, _ = await events_of(replies=(written,))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == written


async def test_reply_settings_reach_the_reply_request():
    events, _, target = await events_of(
        max_tokens=7, stop=["END"], temperature=0.1, response_format={"type": "json_object"}
    )
    assert events[-1].type == "done"
    call = next(c for c in target.calls if c.kind == "stream_reply")
    assert call.max_tokens == 7
    assert call.stop == ("END",)
    assert call.extra["response_format"] == {"type": "json_object"}


async def test_bad_input_is_a_user_error():
    draft, target = fakes()
    with pytest.raises(UserError, match="no messages"):
        [e async for e in reply_stream(reasoner(draft, target), [])]
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
    with pytest.raises(UserError, match="only text content"):
        [e async for e in reply_stream(reasoner(draft, target), image)]
    with pytest.raises(
        UserError, match=r"unsupported arguments for reply_stream: \['frobnicate'\]"
    ):
        [e async for e in reply_stream(reasoner(draft, target), QUESTION, frobnicate=1)]
    assert draft.calls == []  # nothing ran


async def test_closing_early_stops_the_reply():
    draft, target = fakes(replies=(" ".join(["w"] * 50),))
    target.delay_s = 0.001
    stream = reply_stream(reasoner(draft, target), QUESTION)
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    assert target.closed_streams == 1


async def test_events_are_frozen_plain_data_that_round_trips():
    events, _, _ = await events_of()
    with pytest.raises(ValidationError):
        events[0].text = "changed"
    adapter = TypeAdapter(list[ReplyEvent])
    assert adapter.validate_json(adapter.dump_json(events)) == events


@pytest.mark.parametrize("tools", [False, True])
async def test_the_chat_model_says_what_the_pipeline_yields(tools):
    calls = [{"name": "add", "args": {"a": 2, "b": 2}}, {"name": "mul", "args": {"a": 3, "b": 4}}]
    replies = (calls,) if tools else ("The answer is 4.",)
    kw = {"tools": TOOLS, "tool_choice": "required"} if tools else {}
    events, _, _ = await events_of(replies=replies, **kw)
    draft, target = fakes(replies=replies)
    model = SpeculativeReasoningChatModel(reasoner=reasoner(draft, target))
    if tools:
        model = model.bind_tools(TOOLS, tool_choice="required")
    msg = await model.ainvoke(QUESTION)

    done = events[-1]
    assert msg.content == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert msg.additional_kwargs["reasoning_content"] == "".join(
        e.text for e in events if isinstance(e, ReasoningDelta)
    )
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c["id"], c["name"], c["args"]) for c in msg.tool_calls] == [
        (d.id, d.name, json.loads(d.args)) for d in deltas
    ]
    u = done.usage
    assert msg.usage_metadata == {
        "input_tokens": u.prompt_tokens,
        "output_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "input_token_details": {"cache_read": u.cached_tokens},
        "output_token_details": {"reasoning": u.reasoning_tokens},
    }
    meta = msg.response_metadata
    assert meta["finish_reason"] == done.finish_reason
    same = done.telemetry.model_dump(exclude={"timings"})
    assert {k: meta[k] for k in same} == same
    assert meta["usage_by_model"]["target"]["output_tokens"] == u.target.completion_tokens


def test_the_reply_package_does_not_import_langchain():
    package = Path(spec_graph.reply.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.startswith("langchain")], (path.name, names)
    for name in spec_graph.reply.__all__:
        module = getattr(getattr(spec_graph.reply, name), "__module__", "")
        assert not module.startswith("langchain"), name


@pytest.mark.parametrize("old", ["spec_graph.chat_model", "spec_graph._chat"])
def test_old_modules_warn_and_still_export(old, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module.REASONING_INSTRUCTION == spec_graph.reply.REASONING_INSTRUCTION
    if old == "spec_graph.chat_model":
        assert module.SpeculativeReasoningChatModel is SpeculativeReasoningChatModel
