"""Durable threads (issue 16, item 2): new questions start new runs; crashed runs resume."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from counting_fake import LAST, QUESTION, reasoner
from langgraph.checkpoint.memory import InMemorySaver

from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError, build_graph, strategy_names
from spec_graph.testing import ScriptedFakeBackend
from spec_graph.threads import serializer, sqlite_checkpointer

CHILD = Path(__file__).with_name("counting_fake.py")
UNGATED = {"gate_logprob": None}


def _fakes() -> tuple[ScriptedFakeBackend, ScriptedFakeBackend]:
    draft = ScriptedFakeBackend("d", steps=["a", "\\boxed{1}", "b", "\\boxed{2}"])
    target = ScriptedFakeBackend("t", scores=[9] * 8, answers=["1", "2"])
    return draft, target


async def test_a_new_question_on_a_finished_thread_starts_a_new_run(tmp_path, caplog):
    # Defect: the second question came back with the first answer and zero model calls.
    draft, target = _fakes()
    config = ReasoningConfig(strategy="specreason", options=UNGATED)
    async with sqlite_checkpointer(tmp_path / "threads.sqlite") as checkpointer:
        reasoner_ = SpeculativeReasoner(draft, target, config, checkpointer=checkpointer)
        with caplog.at_level(logging.WARNING):
            first = await reasoner_.ainvoke("q1", thread_id="user-1")
            second = await reasoner_.ainvoke("q2", thread_id="user-1")
    assert (first.answer, [s.text for s in first.steps]) == ("1", ["a", "\\boxed{1}"])
    assert (second.answer, [s.text for s in second.steps]) == ("2", ["b", "\\boxed{2}"])
    assert second.question == "q2"
    assert len(draft.calls) == 4
    # the conversation is kept: the second run sees the first question and its answer
    seen = draft.calls[-1].request.messages
    assert [m["role"] for m in seen] == ["user", "assistant", "user"]
    assert seen[0]["content"].startswith("q1")
    assert seen[1]["content"] == "\\boxed{1}"
    # spec-graph's state types are registered with the serializer: no LangGraph warning
    assert "unregistered type" not in caplog.text


async def test_threads_do_not_mix():
    draft, target = _fakes()
    config = ReasoningConfig(strategy="specreason", options=UNGATED)
    reasoner_ = SpeculativeReasoner(draft, target, config, checkpointer=InMemorySaver())
    one = await reasoner_.ainvoke("q1", thread_id="a")
    other = await reasoner_.ainvoke("q1", thread_id="b")
    assert [s.text for s in one.steps] == ["a", "\\boxed{1}"]
    assert [s.text for s in other.steps] == ["b", "\\boxed{2}"]  # not a's saved run


async def test_thread_errors_are_clear():
    draft, target = _fakes()
    config = ReasoningConfig(strategy="specreason", options=UNGATED)
    with pytest.raises(UserError, match="needs a checkpointer"):
        await SpeculativeReasoner(draft, target, config).ainvoke("q", thread_id="t")
    with pytest.raises(UserError, match="needs a thread_id"):
        await SpeculativeReasoner(draft, target, config).ainvoke("q", resume=True)
    reasoner_ = SpeculativeReasoner(draft, target, config, checkpointer=InMemorySaver())
    with pytest.raises(UserError, match="no run was ever saved"):
        await reasoner_.ainvoke(thread_id="new", resume=True)
    await reasoner_.ainvoke("q", thread_id="done")
    with pytest.raises(UserError, match="its last run finished"):
        await reasoner_.ainvoke(thread_id="done", resume=True)


async def test_a_graph_compiled_with_a_checkpointer_serves_threads():
    draft, target = _fakes()
    graph = build_graph("specreason", checkpointer=InMemorySaver())
    config = ReasoningConfig(strategy="specreason", options=UNGATED)
    reasoner_ = SpeculativeReasoner(draft, target, config, graph=graph)
    await reasoner_.ainvoke("q1", thread_id="t")
    second = await reasoner_.ainvoke("q2", thread_id="t")
    assert [s.text for s in second.steps] == ["b", "\\boxed{2}"]


def test_the_serializer_knows_every_strategys_state_types():
    allowed = serializer()._allowed_msgpack_modules  # what LangGraph checks on load
    assert ("spec_graph.state", "Step") in allowed
    assert ("spec_graph.usage", "Usage") in allowed
    assert ("spec_graph.state", "DraftChain") in allowed  # SCoT's channel
    assert ("spec_graph.state", "Candidate") in allowed


def _kill_after_first_step(db: Path, strategy: str) -> list[str]:
    """Run the thread in a child process; SIGKILL it once it has kept (and saved) a step."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), "t1", strategy],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=CHILD.parent,
    )
    assert child.stdout is not None
    printed = [child.stdout.readline().rstrip("\n")]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert printed[0], child.stderr.read() if child.stderr else ""
    assert child.returncode == -signal.SIGKILL  # killed mid-run, not finished
    return printed


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("strategy", strategy_names())
async def test_a_run_killed_mid_reasoning_resumes_with_its_steps_intact(tmp_path, strategy):
    db = tmp_path / "threads.sqlite"
    printed = _kill_after_first_step(db, strategy)
    async with sqlite_checkpointer(db) as checkpointer:
        resumed_reasoner = reasoner(strategy, checkpointer)
        resumed = await resumed_reasoner.ainvoke(QUESTION, thread_id="t1")
        written_after = len(resumed_reasoner.draft.calls) + len(resumed_reasoner.target.calls)
    reference_reasoner = reasoner(strategy, InMemorySaver())
    reference = await reference_reasoner.ainvoke(QUESTION, thread_id="ref")
    written_by_reference = len(reference_reasoner.draft.calls) + len(
        reference_reasoner.target.calls
    )

    texts = [s.text for s in resumed.steps]
    assert texts == [s.text for s in reference.steps]  # none lost, none written twice
    assert texts[: len(printed)] == printed  # what was kept before the kill is kept as it was
    assert resumed.answer == reference.answer == str(LAST)
    assert len(set(texts)) == len(texts)
    # the resumed run continued: it made fewer calls than a run from the start
    assert written_after < written_by_reference, "the resumed run started over"
