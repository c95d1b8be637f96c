"""The whole graph on real llama.cpp servers with the real tiny model."""

from __future__ import annotations

from spec_graph import SpeculativeReasoner

QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"


async def test_specreason_run_returns_judged_steps_and_an_answer(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        result = await reasoner.ainvoke(QUESTION)
    finally:
        await reasoner.aclose()
    assert result.steps, "no steps"
    assert result.stop_reason in {"boxed", "finished", "budget", "max_steps", "repetition"}
    assert all(step.source in {"draft", "target"} for step in result.steps)
    judged = [s for s in result.steps if s.judged]
    assert judged, "specreason must judge draft steps"
    for step in judged:
        assert step.judge_s > 0
        assert step.judge_prompt_tokens > 0
        assert step.score is None or 0 <= step.score <= 9
        if step.source == "draft":
            assert step.score is not None
            assert step.score >= greedy_config.threshold
        else:
            assert step.rejected_draft is not None
    assert result.answer
    totals = result.totals
    assert totals.judge_calls == len(judged)
    assert totals.draft_tokens > 0
    assert totals.wall_s >= totals.draft_s + totals.judge_s + totals.correct_s - 1e-6
    assert result.target_model == "SmolLM2-135M-Instruct.Q4_1"


async def test_baselines_run_through_the_same_graph(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        target_only = await reasoner.ainvoke(QUESTION, strategy="target-only")
        draft_only = await reasoner.ainvoke(QUESTION, strategy="draft-only")
    finally:
        await reasoner.aclose()
    assert {s.source for s in target_only.steps} == {"target"}
    assert target_only.totals.judge_calls == 0
    assert {s.source for s in draft_only.steps} == {"draft"}
    assert draft_only.totals.judge_calls == 0
    # same model in both roles at temperature 0: the chains are identical
    assert [s.text for s in target_only.steps] == [s.text for s in draft_only.steps]


async def test_streaming_yields_each_step_before_the_result(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    kinds = []
    try:
        async for item in reasoner.astream(QUESTION):
            kinds.append(type(item).__name__)
    finally:
        await reasoner.aclose()
    assert kinds[-1] == "ReasoningResult"
    assert kinds[:-1]
    assert set(kinds[:-1]) == {"Step"}
