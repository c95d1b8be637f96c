"""The chat model on durable threads: LangChain's ``configurable.thread_id`` (issue 16)."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from spec_graph import ReasoningConfig, SpeculativeReasoner, SpeculativeReasoningChatModel
from spec_graph.backends.base import GenerateRequest, Generation
from spec_graph.errors import ServerUnavailableError
from spec_graph.testing import ScriptedFakeBackend

CONFIG = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})


class CrashOnce(ScriptedFakeBackend):
    """A **fake** draft whose server goes away once, at its ``crash_at``-th step."""

    def __init__(self, *args, crash_at: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.crash_at, self.crashed = crash_at, False

    async def generate(self, request: GenerateRequest) -> Generation:
        if not self.crashed and len(self.calls) == self.crash_at:
            self.crashed = True
            raise ServerUnavailableError("the draft server went away (scripted)")
        return await super().generate(request)


def _model(checkpointer=None, crash_at: int = 99):
    draft = CrashOnce("d", steps=["one", "two", "\\boxed{3}"], crash_at=crash_at)
    target = ScriptedFakeBackend("t", scores=[9] * 6, replies=("3", "3"))
    reasoner = SpeculativeReasoner(draft, target, CONFIG, checkpointer=checkpointer)
    return SpeculativeReasoningChatModel(reasoner=reasoner), draft


async def test_a_call_that_failed_mid_reasoning_resumes_on_its_thread():
    model, draft = _model(InMemorySaver(), crash_at=2)
    config = {"configurable": {"thread_id": "chat-1"}}
    with pytest.raises(ServerUnavailableError):
        await model.ainvoke("count", config=config)
    assert len(draft.calls) == 2  # two steps kept and saved, then the crash
    reply = await model.ainvoke("count", config=config)
    assert reply.content == "3"
    assert reply.additional_kwargs["reasoning_content"].split() == ["one", "two", "\\boxed{3}"]
    assert len(draft.calls) == 3  # only the step left was written again


async def test_without_its_own_checkpointer_the_model_ignores_an_agents_thread_id():
    # Inside an agent, configurable.thread_id names the agent's thread, not ours.
    model, draft = _model()
    reply = await model.ainvoke("count", config={"configurable": {"thread_id": "agent-7"}})
    assert reply.content == "3"
    assert len(draft.calls) == 3
