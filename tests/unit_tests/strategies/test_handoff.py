"""Hand-off (speculative thinking) on scripted fake backends: both triggers, settings, bounds.

The fakes replay scripted steps and per-token logprobs (`ScriptedFakeBackend`); they test
routing and bookkeeping, not model behaviour.
"""

from __future__ import annotations

import pytest

from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError
from spec_graph.strategies.handoff import cue_in
from spec_graph.testing import ScriptedFakeBackend


def make(draft_steps, target_steps=(), *, logprobs=(), answers=("0",), options=None, **config):
    draft = ScriptedFakeBackend("fake-draft", steps=draft_steps, step_logprobs=logprobs)
    target = ScriptedFakeBackend("fake-target", steps=target_steps, answers=answers)
    reasoning = ReasoningConfig(strategy="handoff", options=options or {}, **config)
    return SpeculativeReasoner(draft, target, reasoning), draft, target


def writes(fake):
    return [c for c in fake.calls if c.kind == "generate"]


async def test_a_plain_confident_draft_reasons_alone():
    reasoner, draft, target = make(["Add them.", "So \\boxed{4}"])
    result = await reasoner.ainvoke("q")
    assert result.strategy == "handoff"
    assert [s.source for s in result.steps] == ["draft", "draft"]
    assert [s.note["mean_logprob"] for s in result.steps] == [0.0, 0.0]
    assert all(c.request.logprobs for c in draft.calls)  # the draft's own logprobs, same call
    assert target.calls == []
    assert result.totals.judge_calls == 0
    assert result.telemetry == {"handoffs": 0, "by_cue": 0, "by_low_confidence": 0}


async def test_a_reflection_cue_discards_the_draft_step_and_the_target_writes_a_bounded_span():
    reasoner, draft, target = make(
        ["Add 2 and 2.", "Wait, let me recheck that.", "So \\boxed{4}"],
        ["it is four indeed yes really"],
        options={"span_tokens": 3},
    )
    result = await reasoner.ainvoke("q")
    assert [(s.source, s.text) for s in result.steps] == [
        ("draft", "Add 2 and 2."),
        ("target", "it is four"),  # cut at span_tokens
        ("draft", "So \\boxed{4}"),
    ]
    span = result.steps[1]
    assert span.rejected_draft == "Wait, let me recheck that."
    assert span.note == {"handoff": "cue"}
    assert span.tokens == 3
    assert span.draft.completion_tokens == 5  # the discarded step's cost stays on the books
    (span_call,) = writes(target)
    assert span_call.max_tokens == 3
    assert span_call.prefix == "Add 2 and 2.\n\n"  # the target writes the reflection step itself
    assert span_call.stop == ("\n\n",)
    assert draft.calls[2].prefix == "Add 2 and 2.\n\nit is four\n\n"  # then the draft goes on
    assert target.count("next_token") == 0
    assert result.telemetry == {"handoffs": 1, "by_cue": 1, "by_low_confidence": 0}
    assert result.totals.draft_tokens == 4 + 5 + 2
    assert result.totals.target_tokens == 3


async def test_the_span_is_bounded_by_what_is_left_of_the_budget():
    reasoner, _, target = make(
        ["a b c", "Hmm, odd."], ["x y z w v"], options={"span_tokens": 100}, token_budget=5
    )
    result = await reasoner.ainvoke("q")
    assert writes(target)[0].max_tokens == 2
    assert sum(s.tokens for s in result.steps) == 5
    assert result.stop_reason == "budget"


async def test_low_confidence_keeps_the_step_and_hands_the_next_span_to_the_target():
    reasoner, draft, target = make(
        ["I think it is 4.", "So \\boxed{4}"],
        ["Indeed 2 + 2 = 4."],
        logprobs=[[-2.0, -1.0, -0.5, -0.5], 0.0],
    )
    result = await reasoner.ainvoke("q")
    assert [(s.source, s.text) for s in result.steps] == [
        ("draft", "I think it is 4."),
        ("target", "Indeed 2 + 2 = 4."),
        ("draft", "So \\boxed{4}"),
    ]
    kept = result.steps[0]
    assert kept.note == {"mean_logprob": pytest.approx(-1.0), "low_confidence": True}
    assert result.steps[1].note == {"handoff": "low-confidence"}
    assert result.steps[1].rejected_draft is None
    (span_call,) = writes(target)
    assert span_call.prefix == "I think it is 4.\n\n"
    assert span_call.max_tokens == 128  # the default span
    assert result.telemetry == {"handoffs": 1, "by_cue": 0, "by_low_confidence": 1}
    assert draft.count("generate") == 2


async def test_the_confidence_threshold_is_configurable_and_none_disables_it():
    steps = ["Unsure step.", "So \\boxed{4}"]
    reasoner, _, target = make(steps, ["span"], logprobs=[-0.8, 0.0])
    result = await reasoner.ainvoke("q")  # default -0.5: handed off
    assert result.telemetry["by_low_confidence"] == 1
    reasoner, _, target = make(steps, logprobs=[-0.8, 0.0], options={"min_mean_logprob": -1.0})
    result = await reasoner.ainvoke("q")
    assert result.telemetry["handoffs"] == 0
    assert target.calls == []
    reasoner, _, target = make(steps, logprobs=[-9.0, 0.0], options={"min_mean_logprob": None})
    result = await reasoner.ainvoke("q")
    assert [s.source for s in result.steps] == ["draft", "draft"]
    assert "low_confidence" not in result.steps[0].note
    assert target.calls == []


async def test_the_cues_are_configurable():
    steps = ["Wait, this is fine.", "Actually, check it.", "So \\boxed{1}"]
    reasoner, _, _ = make(steps, ["target span"], options={"cues": ["actually"]})
    result = await reasoner.ainvoke("q")
    assert [(s.source, s.text) for s in result.steps] == [
        ("draft", "Wait, this is fine."),  # "wait" is no longer a cue
        ("target", "target span"),
        ("draft", "So \\boxed{1}"),
    ]
    assert result.steps[1].rejected_draft == "Actually, check it."
    reasoner, _, target = make(steps, options={"cues": []})
    result = await reasoner.ainvoke("q")
    assert target.calls == []


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Wait, that is wrong.", "wait"),
        ("  **Hmm.** Let me see", "hmm"),
        ("ALTERNATIVELY we could", "alternatively"),
        ("Let me verify: 2+2=4", "let me verify"),
        ("let me check", "let me check"),
        ("Waiting for nothing", None),  # a cue is a whole word
        ("We wait.", None),  # only at the start of the step
        ("2 + 2 = 4", None),
    ],
)
def test_cue_in_matches_whole_cue_words_at_the_start(text, cue):
    assert cue_in(text, ("wait", "alternatively", "hmm", "let me check", "let me verify")) == cue


async def test_an_empty_draft_step_hands_the_step_to_the_target():
    reasoner, _, target = make(["a", ""], ["t \\boxed{2}"])
    result = await reasoner.ainvoke("q")
    assert [s.source for s in result.steps] == ["draft", "target"]
    assert result.steps[1].note == {"handoff": "empty-draft"}
    assert result.telemetry == {"handoffs": 1, "by_cue": 0, "by_low_confidence": 0}
    assert result.answer == "2"
    assert target.count("next_token") == 0


async def test_telemetry_counts_every_hand_off_by_trigger():
    reasoner, _, target = make(
        ["one", "Wait, two.", "three", "four", "Hmm, five.", "So \\boxed{6}"],
        ["span a", "span b", "span c"],
        logprobs=[0.0, 0.0, -3.0, 0.0, 0.0, 0.0],
    )
    result = await reasoner.ainvoke("q")
    assert [s.source for s in result.steps] == [
        "draft",  # one
        "target",  # cue: "Wait, two." discarded
        "draft",  # three, low confidence
        "target",  # the span after it
        "draft",  # four
        "target",  # cue: "Hmm, five." discarded
        "draft",  # boxed
    ]
    assert result.telemetry == {"handoffs": 3, "by_cue": 2, "by_low_confidence": 1}
    assert result.totals.target_steps == 3
    assert result.totals.judge_calls == 0
    assert target.count("generate") == 3


@pytest.mark.parametrize("logprob", [0.0, -3.0])
async def test_hand_off_ends_within_max_steps_and_the_budget_without_a_boxed_answer(logprob):
    never = [f"draft step {i}" for i in range(200)]
    spans = [f"target span {i}" for i in range(200)]
    reasoner, _, _ = make(never, spans, logprobs=[logprob] * 200, answers=["1"], max_steps=6)
    result = await reasoner.ainvoke("q")
    assert len(result.steps) == 6
    assert result.stop_reason == "max_steps"
    assert result.answer == "1"
    reasoner, _, _ = make(never, spans, logprobs=[logprob] * 200, answers=["1"], token_budget=9)
    result = await reasoner.ainvoke("q")
    assert sum(s.tokens for s in result.steps) <= 9
    assert result.stop_reason == "budget"


def test_bad_hand_off_options_are_user_errors_naming_the_key():
    base = ReasoningConfig()
    with pytest.raises(UserError, match="span_tokens"):
        base.with_overrides(strategy="handoff", span_tokens=0)
    with pytest.raises(UserError, match="min_mean_logprob"):
        base.with_overrides(strategy="handoff", min_mean_logprob=0.5)
    with pytest.raises(UserError, match="cue"):
        base.with_overrides(strategy="handoff", cue="wait")  # typo of "cues"
