"""The whole graph on real llama.cpp servers with the real tiny model."""

from __future__ import annotations

import pytest

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
        assert step.judge.seconds > 0
        assert step.judge.prompt_tokens > 0
        assert step.score is None or 0 <= step.score <= 9
        if step.source == "draft":
            assert step.score is not None
            assert step.score >= greedy_config.strategy_settings.threshold
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


async def test_scot_on_real_servers_selects_or_rethinks(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        result = await reasoner.ainvoke(QUESTION, strategy="scot", n=2, max_chain_tokens=96)
    finally:
        await reasoner.aclose()
    telemetry = result.telemetry
    assert len(telemetry["drafts"]) == 2
    assert all(d["tokens"] > 0 for d in telemetry["drafts"])
    assert isinstance(telemetry["rethought"], bool)
    assert result.totals.judge_calls == 1  # one selection call, whatever it chose
    if telemetry["rethought"]:
        assert {s.source for s in result.steps} == {"target"}
    else:
        assert telemetry["chosen"] in (0, 1)
        assert sum(telemetry["selection"].values()) == pytest.approx(1.0)
        assert {s.source for s in result.steps} == {"draft"}
    assert result.answer


async def test_best_of_n_on_real_servers_picks_among_k(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        result = await reasoner.ainvoke(QUESTION, strategy="best-of-n", k=2)
    finally:
        await reasoner.aclose()
    assert result.steps
    assert result.totals.judge_calls == sum(s.judged for s in result.steps)
    for step in result.steps:
        if step.source == "draft":
            assert step.note["candidates"] == 2
            assert step.draft.calls == 2  # k candidates in one batch
            assert step.tokens <= step.draft.completion_tokens


async def test_handoff_on_real_servers_hands_low_confidence_spans_to_the_target(
    tiny, greedy_config
):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        # a bound no real step meets: every draft step hands the next span to the target
        result = await reasoner.ainvoke(QUESTION, strategy="handoff", min_mean_logprob=-1e-9)
    finally:
        await reasoner.aclose()
    assert result.totals.judge_calls == 0
    sources = [s.source for s in result.steps]
    assert "target" in sources or len(sources) == 1
    for before, after in zip(result.steps, result.steps[1:], strict=False):
        if before.source == "draft":
            assert before.note["low_confidence"]
            assert after.source == "target"
            assert after.note["handoff"] == "low-confidence"


async def test_gating_on_real_servers_skips_the_judge_for_confident_steps(tiny, greedy_config):
    reasoner = SpeculativeReasoner.from_endpoints(tiny.draft, tiny.target, greedy_config)
    try:
        # gate at log-prob -inf-ish: every draft step is confident, no judge call at all
        gated = await reasoner.ainvoke(QUESTION, gate_logprob=-1e9)
    finally:
        await reasoner.aclose()
    assert gated.totals.judge_calls == 0
    assert gated.totals.gated_steps == gated.totals.draft_steps > 0
