"""A backend written outside spec-graph, registered from this file, runs end to end.

`ToyBackend` is an in-process toy (no server, no network): it writes one arithmetic step that
boxes its answer, judges every step 9, and replies with a fixed sentence. It is selected by
kind ``toy``, through a `ModelSpec` and through ``EndpointConfig(server="toy")``, and runs
through the reasoner, the chat model and the benchmark runner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from spec_graph import (
    ReasoningConfig,
    SamplingConfig,
    SpeculativeReasoner,
    SpeculativeReasoningChatModel,
)
from spec_graph.backends import (
    BACKENDS,
    BackendBase,
    BackendCapabilities,
    GenerateRequest,
    Generation,
    ModelSpec,
    NextToken,
    ReplyChunk,
    ReplyRequest,
    ScoreRequest,
    backend_for,
    register_backend,
)
from spec_graph.bench.records import ModeSpec
from spec_graph.bench.runner import BenchItem, RunPlan, run_questions
from spec_graph.config import EndpointConfig
from spec_graph.usage import Usage

STEP = "2 + 2 = 4, so the answer is \\boxed{4}."
REPLY = "The answer is 4."


class ToyBackend(BackendBase):
    """An in-process toy model: deterministic text, a confident judge, a fixed reply."""

    default_capabilities = BackendCapabilities(preferred_width=3, native_tool_calls=False)

    def __init__(self, spec: ModelSpec | EndpointConfig, **_: object) -> None:
        self.spec = spec
        self.calls: list[str] = []

    @property
    def model_name(self) -> str:
        return f"toy:{self.spec.model}"

    async def generate(self, request: GenerateRequest) -> Generation:
        self.calls.append("generate")
        text = "4" if request.prefix.endswith("\\boxed{") else STEP
        usage = Usage(calls=1, prompt_tokens=10, completion_tokens=len(text.split()))
        return Generation(text=text, finish_reason="stop", usage=usage)

    async def generate_many(self, request: GenerateRequest, n: int) -> list[Generation]:
        self.calls.append(f"generate_many n={n}")
        return await super().generate_many(request, n)

    async def next_token(self, request: ScoreRequest) -> NextToken:
        self.calls.append("next_token")
        tops = [("9", 0.0), ("Yes", -0.01), ("No", -5.0)]
        return NextToken(top_logprobs=tops, usage=Usage(calls=1, completion_tokens=1))

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        self.calls.append("stream_reply")
        for i, word in enumerate(REPLY.split(" ")):
            yield ReplyChunk(text=word if i == 0 else " " + word)
        yield ReplyChunk(finish_reason="stop", usage=Usage(calls=1, completion_tokens=4))

    async def aclose(self) -> None:
        self.calls.append("aclose")


@pytest.fixture(autouse=True)
def toy_kind():
    """``toy`` is registered for this file's tests only."""
    register_backend("toy", ToyBackend)
    yield
    BACKENDS.unregister("toy")


def toy_endpoint(model: str) -> EndpointConfig:
    # The URL is never used: the registered kind wins over the URL scheme.
    return EndpointConfig(base_url="http://toy.invalid/v1", model=model, server="toy")


def test_the_toy_is_selected_by_model_spec_and_by_endpoint_server():
    by_spec = backend_for(ModelSpec(kind="toy", model="draft", options={"seed": 1}))
    by_endpoint = backend_for(toy_endpoint("target"))
    assert isinstance(by_spec, ToyBackend)
    assert isinstance(by_endpoint, ToyBackend)
    assert by_spec.model_name == "toy:draft"
    assert by_endpoint.model_name == "toy:target"


async def test_the_toy_runs_through_the_reasoner():
    reasoner = SpeculativeReasoner.from_endpoints(
        ModelSpec(kind="toy", model="draft"),  # type: ignore[arg-type]
        toy_endpoint("target"),
    )
    result = await reasoner.ainvoke("What is 2 + 2?")
    assert result.answer == "4"
    assert [s.source for s in result.steps] == ["draft"]
    assert result.steps[0].score > 8  # the toy judge is confident
    assert "generate" in reasoner.draft.calls  # type: ignore[attr-defined]
    assert "next_token" in reasoner.target.calls  # type: ignore[attr-defined]


async def test_the_toy_width_comes_from_its_capabilities():
    reasoner = SpeculativeReasoner(
        backend_for(ModelSpec(kind="toy", model="d")),
        backend_for(ModelSpec(kind="toy", model="t")),
        ReasoningConfig(strategy="scot"),
    )
    result = await reasoner.ainvoke("What is 2 + 2?")
    assert result.answer == "4"
    # no n= given: SCoT drafts the toy's preferred_width (3) chains at once
    assert "generate_many n=3" in reasoner.draft.calls  # type: ignore[attr-defined]


def test_the_toy_runs_through_the_chat_model():
    model = SpeculativeReasoningChatModel(
        draft=toy_endpoint("draft"), target=toy_endpoint("target")
    )
    message = model.invoke("What is 2 + 2?")
    assert message.content == REPLY
    assert message.response_metadata["draft_model"] == "toy:draft"
    assert STEP in message.additional_kwargs["reasoning_content"]


async def test_the_toy_runs_through_the_bench_runner(tmp_path):
    reasoner = SpeculativeReasoner.from_endpoints(toy_endpoint("draft"), toy_endpoint("target"))
    greedy = SamplingConfig(temperature=0)
    plan = RunPlan(
        items=[BenchItem(id="q0", question="What is 2 + 2?", answer="4")],
        modes=[ModeSpec.parse("target-only"), ModeSpec.parse("specreason")],
        base=ReasoningConfig(draft_sampling=greedy, target_sampling=greedy),
        draft_model=reasoner.draft.model_name,
        target_model=reasoner.target.model_name,
    )
    records = await run_questions(reasoner, plan, tmp_path / "raw.jsonl")
    assert [(r.mode, r.correct, r.error) for r in records] == [
        ("target-only", True, None),
        ("specreason", True, None),
    ]
