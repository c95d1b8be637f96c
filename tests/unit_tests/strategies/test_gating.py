"""Confidence gating for specreason (``gate_logprob``) on scripted fake backends.

A draft step whose every token the draft itself found likely enough is kept without a judge
call; the log-probabilities come with the draft's own generation. The fakes replay scripted
steps and per-token logprobs (`ScriptedFakeBackend`); they test routing and bookkeeping.
"""

from __future__ import annotations

import pytest

from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError, get_strategy
from spec_graph.nodes import confident
from spec_graph.state import Candidate
from spec_graph.testing import ScriptedFakeBackend


def make(draft_steps, logprobs=(), scores=(), target_steps=(), *, gate=-0.5, **config):
    draft = ScriptedFakeBackend("fake-draft", steps=draft_steps, step_logprobs=logprobs)
    target = ScriptedFakeBackend("fake-target", scores=scores, steps=target_steps, answers=["0"])
    options = {"gate_logprob": gate}  # None: off (the default is on, at -0.5)
    reasoning = ReasoningConfig(strategy="specreason", options=options, **config)
    return SpeculativeReasoner(draft, target, reasoning), draft, target


async def test_a_confident_step_is_kept_without_a_judge_call():
    reasoner, draft, target = make(["so \\boxed{4}"], [[-0.1, -0.2]])
    result = await reasoner.ainvoke("q")
    (step,) = result.steps
    assert step.source == "draft"
    assert step.note == {"gated": True}
    assert not step.judged
    assert step.score is None
    assert step.judge.calls == 0
    assert target.count("next_token") == 0
    assert target.calls == []
    assert draft.count("generate") == 1  # the logprobs came with the step: no extra call
    totals = result.totals
    assert (totals.gated_steps, totals.judge_calls, totals.judged_steps) == (1, 0, 0)
    assert totals.acceptance_rate is None  # nothing was judged
    assert result.answer == "4"


async def test_an_uncertain_step_goes_to_the_judge():
    reasoner, _, target = make(["a \\boxed{4}"], [[-0.1, -2.0]], scores=[9])
    result = await reasoner.ainvoke("q")
    (step,) = result.steps
    assert step.judged
    assert step.score == 9.0
    assert "gated" not in step.note
    assert target.count("next_token") == 1
    assert (result.totals.gated_steps, result.totals.judge_calls) == (0, 1)


async def test_an_uncertain_step_the_judge_rejects_is_corrected():
    reasoner, _, _ = make(["bad"], [[-3.0]], scores=[1], target_steps=["good \\boxed{2}"])
    result = await reasoner.ainvoke("q")
    (step,) = result.steps
    assert (step.source, step.rejected_draft) == ("target", "bad")
    assert result.totals.rejected_steps == 1
    assert result.answer == "2"


async def test_gating_and_judging_mix_and_the_totals_count_both():
    reasoner, _, target = make(
        ["sure one", "unsure two", "sure three", "so \\boxed{1}"],
        [0.0, [-0.1, -1.0], [-0.5, -0.5], 0.0],
        scores=[9],
    )
    result = await reasoner.ainvoke("q")
    assert [s.note.get("gated", False) for s in result.steps] == [True, False, True, True]
    assert target.count("next_token") == 1
    totals = result.totals
    assert (totals.gated_steps, totals.judged_steps, totals.judge_calls) == (3, 1, 1)
    assert totals.accepted_steps == 1
    assert totals.acceptance_rate == 1.0


@pytest.mark.parametrize(
    ("logprobs", "bound", "expected"),
    [
        ([-0.5, -0.1], -0.5, True),  # the bound is inclusive
        ([-0.5001], -0.5, False),
        ([0.0, 0.0, -7.0], -0.5, False),  # one doubtful token is enough
        ([], -0.5, False),  # no logprobs: not known to be confident
        (None, -0.5, False),
        ([-3.0], -5.0, True),
    ],
)
def test_confident_means_every_token_at_or_above_the_bound(logprobs, bound, expected):
    assert confident(Candidate(text="x", token_logprobs=logprobs), bound) is expected


async def test_a_step_without_logprobs_is_judged():
    reasoner, _, target = make(["a \\boxed{1}"], [[]], scores=[9])
    result = await reasoner.ainvoke("q")
    assert result.steps[0].judged
    assert target.count("next_token") == 1


async def test_logprobs_are_asked_for_only_when_gating():
    reasoner, draft, _ = make(["a", "b \\boxed{1}"], [-0.1, -0.1], scores=[9, 9], gate=None)
    result = await reasoner.ainvoke("q")
    assert [c.request.logprobs for c in draft.calls] == [False, False]
    assert list(draft.step_logprobs) == [-0.1, -0.1]  # never consumed
    assert result.totals.gated_steps == 0
    assert result.totals.judge_calls == 2
    reasoner, draft, _ = make(["a", "b \\boxed{1}"], [-0.1, -0.1])
    result = await reasoner.ainvoke("q")
    assert [c.request.logprobs for c in draft.calls] == [True, True]
    assert result.totals.gated_steps == 2


async def test_warm_up_steps_are_not_gated():
    reasoner, draft, _ = make(["d \\boxed{1}"], [0.0], target_steps=["t1"], warmup_steps=1)
    result = await reasoner.ainvoke("q")
    assert [(s.source, s.note) for s in result.steps] == [
        ("target", {}),
        ("draft", {"gated": True}),
    ]
    assert draft.calls[0].prefix == "t1\n\n"


async def test_pipelining_with_gating_asks_the_early_draft_for_logprobs_too():
    draft = ScriptedFakeBackend(
        "fake-draft", steps=["unsure", "so \\boxed{1}"], step_logprobs=[[-3.0], 0.0], delay_s=0.01
    )
    target = ScriptedFakeBackend("fake-target", scores=[9], delay_s=0.01)
    config = ReasoningConfig(strategy="specreason", pipeline=True, options={"gate_logprob": -0.5})
    result = await SpeculativeReasoner(draft, target, config).ainvoke("q")
    assert [s.note.get("gated", False) for s in result.steps] == [False, True]
    assert [c.request.logprobs for c in draft.calls] == [True, True]
    assert draft.calls[1].prefix == "unsure\n\n"  # the early draft, used as is
    assert draft.count("generate") == 2
    assert target.count("next_token") == 1


async def test_gating_ends_within_max_steps_and_the_budget_without_a_boxed_answer():
    never = [f"step {i} w" for i in range(200)]
    reasoner, _, target = make(never, [0.0] * 200, max_steps=7)
    result = await reasoner.ainvoke("q")
    assert len(result.steps) == 7
    assert result.stop_reason == "max_steps"
    assert result.totals.gated_steps == 7
    assert target.count("next_token") == 0
    reasoner, _, _ = make(never, [0.0] * 200, token_budget=8)
    result = await reasoner.ainvoke("q")
    assert sum(s.tokens for s in result.steps) <= 8
    assert result.stop_reason == "budget"


def test_the_gate_is_a_specreason_option_and_must_be_a_log_probability():
    base = ReasoningConfig(strategy="specreason")
    assert base.with_overrides(gate_logprob=-0.5).options == {"gate_logprob": -0.5}
    with pytest.raises(UserError, match="gate_logprob"):
        base.with_overrides(gate_logprob=0.5)
    with pytest.raises(UserError, match="gate_logprob"):
        base.with_overrides(strategy="scot", gate_logprob=-0.5)  # not a SCoT option


def test_gating_is_on_by_default_at_the_frontier_choice():
    # chosen on the 50-question tuning slice (docs/frontier.md)
    config = ReasoningConfig()
    assert config.strategy == "specreason"
    assert get_strategy("specreason").options(config).gate_logprob == -0.5
