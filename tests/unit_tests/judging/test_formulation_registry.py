"""Judge formulations are registrable: a new judge prompt is one `Judge` and one call."""

from __future__ import annotations

import importlib
import sys

import pytest

from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError
from spec_graph.judging import FORMULATIONS, Judge, TargetJudge, register_formulation
from spec_graph.judging.formulations import JUDGES, formulation_names
from spec_graph.testing import ScriptedFakeBackend

MINE = Judge(
    "strict-check", "own-turn", "Is the LAST step flawless? Yes or No.", "Answer:", "yesno"
)


@pytest.fixture
def registered():
    register_formulation(MINE.name, MINE)
    yield MINE
    FORMULATIONS.unregister(MINE.name)


def test_the_built_in_formulations_are_registered_in_order():
    assert formulation_names()[:5] == ["specreason", "yesno", "inline", "reviewer", "likelihood"]
    assert JUDGES is FORMULATIONS  # the earlier name, same registry
    assert JUDGES["yesno"].answer == "yesno"


def test_an_unknown_judge_prompt_is_rejected_listing_the_known_ones():
    with pytest.raises(ValueError, match="unknown judge formulation 'nope'; known: specreason"):
        ReasoningConfig(options={"judge_prompt": "nope"})
    with pytest.raises(UserError, match="unknown judge formulation"):
        TargetJudge("nope")


def test_a_taken_name_is_an_error_unless_replaced(registered):
    other = Judge("strict-check", "inline", "Right? (Yes/No):", "", "yesno")
    with pytest.raises(UserError, match="already registered"):
        register_formulation("strict-check", other)
    register_formulation("strict-check", other, replace=True)
    assert FORMULATIONS["strict-check"].layout == "inline"


def test_register_formulation_takes_a_judge():
    with pytest.raises(UserError, match="takes a Judge"):
        register_formulation("x", "not a judge")  # type: ignore[arg-type]


async def test_a_registered_prompt_is_selectable_by_name_and_asked(registered):
    config = ReasoningConfig(options={"gate_logprob": None, "judge_prompt": "strict-check"})
    assert config.strategy_settings.judge_prompt == "strict-check"
    draft = ScriptedFakeBackend("fake-draft", steps=["4 \\boxed{4}"])
    target = ScriptedFakeBackend("fake-target", scores=[9])
    result = await SpeculativeReasoner(draft, target, config).ainvoke("q")
    (call,) = [c for c in target.calls if c.kind == "next_token"]
    assert call.messages[-1]["content"] == MINE.instruction
    assert call.prefix == "Answer:"
    assert result.steps[0].judged
    assert result.steps[0].score == 9.0
    # and per call, by its name
    again = await SpeculativeReasoner(
        ScriptedFakeBackend("d", steps=["x \\boxed{1}"]),
        ScriptedFakeBackend("t", scores=[9]),
        ReasoningConfig(options={"gate_logprob": None}),
    ).ainvoke("q", judge_prompt="strict-check")
    assert again.steps[0].judged


@pytest.mark.parametrize(
    ("old", "names"),
    [
        ("spec_graph.judges", ["JUDGES", "Judge", "StepView", "yes_no_score", "likelihood_score"]),
        ("spec_graph.scoring", ["JudgeScore", "score_from_logprobs"]),
        ("spec_graph.selection", ["OptionPicker", "OptionsView", "Selection", "MAX_OPTIONS"]),
        ("spec_graph.judging._contract", ["StepScorer", "Verdict"]),
    ],
)
def test_the_old_paths_warn_and_re_export(old, names):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    judging = importlib.import_module("spec_graph.judging")
    for name in names:
        assert getattr(module, name) is getattr(judging, name, getattr(module, name))


def test_the_unused_step_judge_protocol_is_gone():
    sys.modules.pop("spec_graph.judges", None)
    with pytest.warns(DeprecationWarning, match="spec_graph.judges"):
        judges = importlib.import_module("spec_graph.judges")
    assert not hasattr(judges, "StepJudge")
