"""The servable graph: runs from plain-data context only, closes what each run opened.

Backends come from a backend kind registered for these tests (``server="scripted"``), so a
run's context is JSON from end to end, as LangGraph Server sends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest
from blockbuster import BlockBuster
from langgraph.checkpoint.memory import InMemorySaver

from spec_graph import EmbeddedModels, EndpointConfig, SpeculativeReasoningChatModel, get_strategy
from spec_graph.backends import register_backend
from spec_graph.servable import ServedContext, open_backends, servable_graph
from spec_graph.testing import ScriptedFakeBackend


class ClosingFake(ScriptedFakeBackend):
    """A scripted fake that records when it is closed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


SCRIPTS = {
    "d": {"steps": ["one two", "so \\boxed{3}"]},
    "t": {"scores": [9, 8]},
    "broken": {},
}


@pytest.fixture
def made(monkeypatch):
    """Every backend the ``scripted`` kind built in a test, in order."""
    built: list[ClosingFake] = []

    def factory(spec: EndpointConfig, **_: object) -> ClosingFake:
        backend = ClosingFake(f"fake-{spec.model}", **SCRIPTS[spec.model])
        if spec.model == "broken":

            async def fail(*args, **kwargs):
                raise RuntimeError("the server fell over")

            backend.generate = fail
        built.append(backend)
        return backend

    previous = register_backend("scripted", factory, replace=True)
    yield built
    if previous is not None:
        register_backend("scripted", previous, replace=True)


def endpoint(model: str) -> dict[str, str]:
    return {"base_url": "http://models.invalid/v1", "model": model, "server": "scripted"}


CONTEXT = {
    "draft": endpoint("d"),
    "target": endpoint("t"),
    "strategy": "specreason",
    "options": {"gate_logprob": None},
}


async def test_the_strategy_graph_cannot_take_a_plain_data_context():
    # what `langgraph dev` ran into: the server sends JSON, SpecContext needs live objects
    with pytest.raises(TypeError, match="draft"):
        await get_strategy("specreason").graph().ainvoke({"question": "q"}, context={})


async def test_runs_in_process_from_plain_data_context_only(made):
    graph = servable_graph()
    out = await graph.ainvoke({"question": "What is 1+2?"}, context=json.loads(json.dumps(CONTEXT)))
    assert out["answer"] == "3"
    assert out["stop_reason"] == "boxed"
    assert [s["source"] for s in out["steps"]] == ["draft", "draft"]
    assert out["totals"]["acceptance_rate"] == 1.0
    assert out["models"] == {"draft": "fake-d", "target": "fake-t"}
    assert out["strategy"] == "specreason"
    json.dumps(out)  # the whole state is plain JSON, as a server's client reads it


async def test_kept_steps_stream_as_custom_events(made):
    graph = servable_graph()
    events = [
        chunk
        async for mode, chunk in graph.astream(
            {"question": "q"}, context=CONTEXT, stream_mode=["custom", "values"]
        )
        if mode == "custom"
    ]
    assert [e["step"]["text"] for e in events] == ["one two", "so \\boxed{3}"]


async def test_a_runs_backends_are_closed_at_its_end(made):
    await servable_graph().ainvoke({"question": "q"}, context=CONTEXT)
    assert [b.closed for b in made] == [1, 1]


async def test_backends_are_closed_when_the_run_fails(made):
    context = {**CONTEXT, "draft": endpoint("broken")}
    with pytest.raises(RuntimeError, match="fell over"):
        await servable_graph().ainvoke({"question": "q"}, context=context)
    assert [b.closed for b in made] == [1, 1]


async def test_runs_in_flight_on_one_loop_share_a_backend_the_last_one_closes():
    opened = []

    def factory(spec, **_):
        opened.append(ClosingFake(spec.model))
        return opened[-1]

    register_backend("counted", factory, replace=True)
    spec = EndpointConfig(base_url="http://x.invalid", model="m", server="counted")
    async with open_backends(spec, spec) as (a, b), open_backends(spec) as (c,):
        assert a is b is c
    assert len(opened) == 1
    assert opened[0].closed == 1
    async with open_backends(spec):  # a later run: a fresh one
        pass
    assert len(opened) == 2


async def test_a_thread_continues_the_conversation(made):
    graph = servable_graph(checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "t1"}}
    await graph.ainvoke({"question": "What is 1+2?"}, thread, context=CONTEXT)
    out = await graph.ainvoke({"question": "And doubled?"}, thread, context=CONTEXT)
    roles = [m["role"] for m in out["messages"]]
    assert roles[-4:] == ["user", "assistant", "user", "assistant"]
    assert "What is 1+2?" in out["messages"][-4]["content"]
    assert out["messages"][-3]["content"] == "\\boxed{3}"
    assert "And doubled?" in out["messages"][-2]["content"]
    assert out["question"] == "And doubled?"
    # the second run's draft saw the first question and its answer
    draft = made[2]
    first_call = next(c for c in draft.calls if c.kind == "generate")
    assert "What is 1+2?" in json.dumps(first_call.messages)


async def test_endpoints_and_strategy_default_to_the_settings(made, monkeypatch):
    for role, model in (("DRAFT", "d"), ("TARGET", "t")):
        monkeypatch.setenv(f"SPEC_GRAPH_{role}__BASE_URL", "http://models.invalid/v1")
        monkeypatch.setenv(f"SPEC_GRAPH_{role}__MODEL", model)
        monkeypatch.setenv(f"SPEC_GRAPH_{role}__SERVER", "scripted")
    monkeypatch.setenv("SPEC_GRAPH_REASONING__OPTIONS", '{"gate_logprob": null}')
    out = await servable_graph("specreason").ainvoke({"question": "q"})  # no context at all
    assert out["answer"] == "3"
    assert out["models"] == {"draft": "fake-d", "target": "fake-t"}


def test_the_context_is_checked_and_its_schema_is_what_a_server_filters_by():
    schema = servable_graph().get_context_jsonschema()
    assert set(schema["properties"]) == {"draft", "target", "profile", "strategy", "options"}
    with pytest.raises(ValueError, match="strategy"):
        ServedContext(strategy="nope")
    with pytest.raises(ValueError, match="profile"):
        ServedContext(profile="huge")
    with pytest.raises(ValueError, match="extra"):
        ServedContext.model_validate({"stratgy": "scot"})


@pytest.fixture
def blocking_guard():
    """LangGraph Server's guard (blockbuster): blocking calls on the event loop raise."""
    guard = BlockBuster()
    guard.activate()
    yield
    guard.deactivate()


@pytest.fixture
def embedded_fake(monkeypatch, made, tmp_path):
    """`EmbeddedModels.shared` that does blocking work (mkdir), then serves the fakes."""

    class Started:
        draft = EndpointConfig(**endpoint("d"))
        target = EndpointConfig(**endpoint("t"))

    started_in: list[threading.Thread] = []

    def shared(cls, profile: str) -> Started:
        os.mkdir(tmp_path / profile)
        started_in.append(threading.current_thread())
        return Started()

    monkeypatch.setattr(EmbeddedModels, "shared", classmethod(shared))
    return started_in


async def test_the_embedded_profile_starts_off_the_event_loop(embedded_fake, blocking_guard):
    context = {"profile": "tiny", "strategy": "specreason", "options": {"gate_logprob": None}}
    out = await servable_graph().ainvoke({"question": "q"}, context=context)
    assert out["answer"] == "3"
    assert embedded_fake
    assert threading.main_thread() not in embedded_fake


async def test_the_chat_model_starts_embedded_models_off_the_event_loop(embedded_fake, made):
    # built as a server builds it, when the graph module is imported (the guard is not on yet)
    model = SpeculativeReasoningChatModel(
        embedded_profile="tiny", reasoning={"strategy": "specreason"}
    )
    guard = BlockBuster()
    guard.activate()
    try:
        reply = await asyncio.wait_for(model.ainvoke("What is 1+2?"), 30)
    finally:
        guard.deactivate()
    assert "\\boxed{3}" in reply.additional_kwargs["reasoning_content"]
    assert embedded_fake
    assert threading.main_thread() not in embedded_fake
