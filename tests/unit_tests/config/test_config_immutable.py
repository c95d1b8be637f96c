"""`ReasoningConfig` is immutable, validated once, and holds no knob of one strategy alone."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

import pytest

import spec_graph.config
import spec_graph.reasoning
from spec_graph import ReasoningConfig, SpeculativeReasoner, UserError, get_strategy
from spec_graph.strategies import SCoTSettings, SpecReasonSettings
from spec_graph.testing import ScriptedFakeBackend


def test_options_cannot_be_mutated_after_validation():
    config = ReasoningConfig(strategy="scot", options={"n": "3"})
    assert config.options == {"n": 3}  # typed once
    for change in (
        lambda o: o.__setitem__("n", 99),
        lambda o: o.update(n=99),
        lambda o: o.pop("n"),
        lambda o: o.clear(),
        lambda o: o.setdefault("k", 1),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change(config.options)
    assert config.options == {"n": 3}
    assert config.strategy_settings == SCoTSettings(n=3)
    assert config.strategy_settings.model_config["frozen"]


def test_a_frozen_config_still_copies_pickles_and_compares():
    config = ReasoningConfig(strategy="scot", options={"n": 3})
    assert copy.deepcopy(config) == config
    assert pickle.loads(pickle.dumps(config)) == config
    assert config.with_overrides(n=4).options == {"n": 4}
    assert config.options == {"n": 3}


def test_the_strategy_settings_are_validated_once_per_config(monkeypatch):
    config = ReasoningConfig(options={"gate_logprob": None})
    calls = []
    original = SpecReasonSettings.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(SpecReasonSettings, "model_validate", classmethod(counting))
    draft = ScriptedFakeBackend("fake-draft", steps=["4 \\boxed{4}"])
    target = ScriptedFakeBackend("fake-target", scores=[9])
    result = SpeculativeReasoner(draft, target, config).invoke("q")
    assert result.answer == "4"
    assert calls == []  # the run used the config's settings, validated when it was made
    assert get_strategy("specreason").options(config) is config.strategy_settings


def test_specreason_knobs_are_its_own_settings():
    for knob in ("threshold", "judge", "judge_prompt", "score_method", "check_arithmetic"):
        assert knob not in ReasoningConfig.model_fields
    assert "pipeline" not in ReasoningConfig.model_fields
    assert {"threshold", "judge_prompt", "score_method", "check_arithmetic", "pipeline"} <= set(
        SpecReasonSettings.model_fields
    )
    # given as fields (as in earlier releases) they are SpecReason's options
    config = ReasoningConfig(threshold=7, pipeline=True, score_method="greedy")
    assert config.options == {"threshold": 7.0, "pipeline": True, "score_method": "greedy"}
    assert config.strategy_settings.threshold == 7.0


@pytest.mark.parametrize("knob", ["threshold", "score_method", "check_arithmetic", "pipeline"])
def test_other_strategies_refuse_specreason_knobs(knob):
    value = {"threshold": 7, "score_method": "greedy", "check_arithmetic": True, "pipeline": True}
    with pytest.raises(ValueError, match=knob):
        ReasoningConfig(strategy="scot", **{knob: value[knob]})
    with pytest.raises(UserError, match=knob):
        ReasoningConfig(strategy="handoff").with_overrides(**{knob: value[knob]})


def test_renamed_fields_warn_and_still_work():
    with pytest.warns(DeprecationWarning, match="tool_schemas"):
        config = ReasoningConfig(tools=[{"type": "function", "function": {"name": "f"}}])
    assert config.tool_schemas == [{"type": "function", "function": {"name": "f"}}]
    with pytest.warns(DeprecationWarning, match="judge_prompt"):
        judged = ReasoningConfig(judge="inline")
    assert judged.strategy_settings.judge_prompt == "inline"
    with pytest.warns(DeprecationWarning, match="judge_prompt"):
        assert ReasoningConfig().with_overrides(judge="reviewer").options == {
            "judge_prompt": "reviewer"
        }
    with pytest.warns(DeprecationWarning, match="tool_schemas"):
        assert ReasoningConfig().with_overrides(tools=[]).tool_schemas == []
    with pytest.warns(DeprecationWarning, match="strategy_settings"):
        assert judged.judge == "inline"
    with pytest.warns(DeprecationWarning, match="strategy_settings"):
        assert ReasoningConfig(threshold=6).threshold == 6.0
    with pytest.warns(DeprecationWarning, match="tool_schemas"):
        assert config.tools == config.tool_schemas


def test_json_dumps_every_setting_so_equal_runs_dump_equal():
    explicit = ReasoningConfig(options={"threshold": 8})
    assert explicit.options == {"threshold": 8.0}  # in Python: the given ones
    assert explicit.model_dump_json() == ReasoningConfig().model_dump_json()


def test_config_imports_no_strategy_code():
    tree = ast.parse(Path(spec_graph.config.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not {m for m in imported if m.startswith(("spec_graph.strategies", "spec_graph.nodes"))}


def test_an_unknown_strategy_is_still_refused_when_the_config_is_made():
    with pytest.raises(ValueError, match="unknown strategy 'fastest'; known: specreason"):
        ReasoningConfig(strategy="fastest")
