"""Step-level best-of-n on scripted fake backends: pick, reject-all, malformed picks, budget.

The fakes replay scripted candidates and option tokens (`ScriptedFakeBackend`); they test
routing and bookkeeping, not model behaviour.
"""

from __future__ import annotations

import math

import pytest

from spec_graph import ReasoningConfig, SamplingConfig, SpeculativeReasoner, UserError
from spec_graph.testing import ScriptedFakeBackend


class BatchCountingFake(ScriptedFakeBackend):
    """A fake that also records each ``generate_many`` batch size."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    async def generate_many(self, request, n):
        self.batches.append(n)
        return await super().generate_many(request, n)


def make(candidates, picks=(), target_steps=(), *, answers=("0",), k=2, **config):
    draft = BatchCountingFake("fake-draft", steps=candidates)
    target = ScriptedFakeBackend("fake-target", scores=picks, steps=target_steps, answers=answers)
    options = {"k": k, **{key: config.pop(key) for key in ("temperature",) if key in config}}
    reasoning = ReasoningConfig(strategy="best-of-n", options=options, **config)
    return SpeculativeReasoner(draft, target, reasoning), draft, target


def picks(target):
    return [c for c in target.calls if c.kind == "next_token"]


async def test_k_candidates_per_step_in_one_batch_and_the_target_picks_one():
    reasoner, draft, target = make(
        ["cand A1", "cand B1", "A2 \\boxed{1}", "B2 \\boxed{2}"],
        [[("2", -0.1), ("1", -2.0)], [("1", -0.1), ("3", -4.0)]],
    )
    result = await reasoner.ainvoke("q")
    assert result.strategy == "best-of-n"
    assert draft.batches == [2, 2]
    assert [c.prefix for c in draft.calls] == ["", "", "cand B1\n\n", "cand B1\n\n"]
    assert [(s.source, s.text) for s in result.steps] == [
        ("draft", "cand B1"),
        ("draft", "A2 \\boxed{1}"),
    ]
    first = result.steps[0]
    p2 = math.exp(-0.1) / (math.exp(-0.1) + math.exp(-2.0))
    assert first.judged
    assert first.score == pytest.approx(9 * p2)
    assert first.digit_probs == pytest.approx({"1": 1 - p2, "2": p2})
    assert first.note["chosen"] == 1
    assert (first.note["candidates"], first.note["options"]) == (2, 2)
    assert first.judge.calls == 1
    assert target.count("generate") == 0
    assert result.answer == "1"
    totals = result.totals
    assert (totals.judge_calls, totals.accepted_steps, totals.rejected_steps) == (2, 2, 0)
    assert totals.acceptance_rate == 1.0
    assert totals.draft_tokens == 2 + 2 + 2 + 2  # every candidate was paid for


async def test_the_pick_prompt_shows_the_chain_and_the_numbered_candidates():
    reasoner, _, target = make(
        ["first", "first too", "x \\boxed{1}", "y \\boxed{2}"], [[("1", 0.0)], [("2", 0.0)]]
    )
    result = await reasoner.ainvoke("What is 1?")
    one, two = picks(target)
    user, assistant, ask = one.messages
    assert user["role"] == "user"
    assert assistant == {"role": "assistant", "content": "(no steps yet)"}
    assert ask["content"].startswith("[option 1]\nfirst\n[/option 1]\n\n[option 2]\nfirst too\n")
    assert "Option 3 means: none of them is correct" in ask["content"]
    assert one.prefix == "Option "
    assert two.messages[1] == {"role": "assistant", "content": "first"}
    assert result.answer == "2"


async def test_reject_all_makes_the_target_write_the_step():
    reasoner, _, target = make(
        ["wrong a", "wrong b"], [[("3", -0.1), ("1", -3.0)]], ["right \\boxed{5}"]
    )
    result = await reasoner.ainvoke("q")
    (step,) = result.steps
    assert (step.source, step.text) == ("target", "right \\boxed{5}")
    assert step.rejected_draft == "wrong a"
    assert step.judged
    assert step.score == 0.0
    assert step.draft.completion_tokens == 4  # both candidates
    assert step.judge.calls == 1
    (write,) = [c for c in target.calls if c.kind == "generate"]
    assert write.prefix == ""
    assert result.totals.rejected_steps == 1
    assert result.totals.acceptance_rate == 0.0
    assert result.answer == "5"


@pytest.mark.parametrize(
    "pick",
    [None, [], [("Yes", 0.0), ("No", -1.0)], [("0", -0.1)], [("7", -0.1)], 9],
    ids=["no-digit", "empty", "words", "zero", "out-of-range", "judge-score"],
)
async def test_a_missing_or_malformed_option_token_means_the_target_writes(pick):
    reasoner, _, target = make(["a", "b"], [pick], ["mine \\boxed{3}"])
    result = await reasoner.ainvoke("q")
    (step,) = result.steps
    assert step.source == "target"
    assert step.rejected_draft == "a"
    assert step.score == 0.0
    assert target.count("next_token") == 1
    assert result.answer == "3"


async def test_only_the_chosen_candidate_counts_against_the_budget():
    reasoner, draft, _ = make(
        ["a b c d", "e", "f g", "h i"], [[("2", 0.0)], [("1", 0.0)]], answers=["9"], token_budget=6
    )
    result = await reasoner.ainvoke("q")
    first = result.steps[0]
    assert first.text == "e"
    assert first.tokens == 1
    assert first.draft.completion_tokens == 5
    # what is left of the budget after each kept step: 6 - 1 (not 6 - 5), then 6 - 3
    assert [c.max_tokens for c in draft.calls] == [6, 6, 5, 5, 3, 3]
    assert [s.tokens for s in result.steps[:2]] == [1, 2]
    assert result.totals.draft_tokens == 5 + 4


async def test_duplicate_and_empty_candidates_are_shown_once_and_the_pick_maps_back():
    reasoner, draft, target = make(["same", "", "same", "other \\boxed{2}"], [[("2", 0.0)]], k=4)
    result = await reasoner.ainvoke("q")
    assert draft.batches == [4]
    ask = picks(target)[0].messages[-1]["content"]
    assert "[option 1]\nsame\n[/option 1]\n\n[option 2]\nother \\boxed{2}\n[/option 2]" in ask
    assert "[option 3]" not in ask
    step = result.steps[0]
    assert step.text == "other \\boxed{2}"
    assert step.note["chosen"] == 1
    assert (step.note["candidates"], step.note["options"]) == (4, 2)
    assert step.tokens == 2


async def test_all_empty_candidates_go_to_the_target_without_a_pick():
    reasoner, _, target = make(["", ""], target_steps=["t \\boxed{8}"])
    result = await reasoner.ainvoke("q")
    assert target.count("next_token") == 0
    assert [s.source for s in result.steps] == ["target"]
    assert result.answer == "8"


async def test_candidates_sample_at_the_strategy_temperature_with_distinct_seeds():
    greedy = SamplingConfig(temperature=0.0, seed=11)
    reasoner, draft, _ = make(["a \\boxed{1}", "b"], [[("1", 0.0)]], draft_sampling=greedy)
    await reasoner.ainvoke("q")
    assert [c.request.sampling.temperature for c in draft.calls] == [0.6, 0.6]
    assert [c.request.sampling.seed for c in draft.calls] == [11, 12]
    reasoner, draft, _ = make(["a \\boxed{1}", "b"], [[("1", 0.0)]], temperature=1.2)
    await reasoner.ainvoke("q")
    assert {c.request.sampling.temperature for c in draft.calls} == {1.2}


async def test_warm_up_steps_are_written_by_the_target_without_a_pick():
    reasoner, draft, target = make(["x \\boxed{1}", "y"], [[("1", 0.0)]], ["warm"], warmup_steps=1)
    result = await reasoner.ainvoke("q")
    assert [(s.source, s.judged) for s in result.steps] == [("target", False), ("draft", True)]
    assert draft.calls[0].prefix == "warm\n\n"
    assert target.count("next_token") == 1


@pytest.mark.parametrize("pick", [[("1", 0.0)], [("3", 0.0)]], ids=["picks", "rejects"])
async def test_best_of_n_ends_within_max_steps_and_the_budget_without_a_boxed_answer(pick):
    candidates = [f"draft {i} w" for i in range(400)]
    spans = [f"target {i} w" for i in range(200)]
    reasoner, _, _ = make(candidates, [pick] * 200, spans, answers=["1"], max_steps=5)
    result = await reasoner.ainvoke("q")
    assert len(result.steps) == 5
    assert result.stop_reason == "max_steps"
    assert result.answer == "1"
    reasoner, _, _ = make(candidates, [pick] * 200, spans, answers=["1"], token_budget=10)
    result = await reasoner.ainvoke("q")
    assert sum(s.tokens for s in result.steps) <= 10
    assert result.stop_reason == "budget"


def test_k_is_bounded_by_the_single_digit_option_numbers():
    base = ReasoningConfig()
    assert base.with_overrides(strategy="best-of-n", k=8).options == {"k": 8}
    with pytest.raises(UserError, match="k"):
        base.with_overrides(strategy="best-of-n", k=9)
    with pytest.raises(UserError, match="k"):
        base.with_overrides(strategy="best-of-n", k=0)
