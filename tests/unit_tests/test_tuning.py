"""The tuned settings file: written from a frontier's choice, read by settings and chat model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec_graph import ReasoningConfig, SamplingConfig, SpecGraphSettings
from spec_graph.bench.frontier import frontier_of
from spec_graph.chat_model import SpeculativeReasoningChatModel
from spec_graph.errors import UserError
from spec_graph.tuning import read_settings_file, tuned_reasoning, write_settings_file

GREEDY = SamplingConfig(temperature=0.0)


@pytest.fixture
def settings_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "settings.json"
    monkeypatch.setenv("SPEC_GRAPH_SETTINGS_FILE", str(path))
    return path


def _frontier():
    return frontier_of(
        [
            ("target-only", 0.70, None, 10),
            ("draft-only", 0.30, 1.5, 10),
            ("specreason gate_logprob=-0.5 threshold=9", 0.70, 0.8, 10),
            ("scot n=2", 0.40, 0.9, 10),
        ]
    )


def test_tuned_reasoning_has_the_strategy_its_options_and_the_measured_sampling():
    base = ReasoningConfig(draft_sampling=GREEDY, target_sampling=GREEDY)
    section = tuned_reasoning("specreason gate_logprob=-0.5 threshold=9", base)
    assert section["strategy"] == "specreason"
    # threshold is SpecReason's own setting now: it travels with the strategy's options
    assert section["options"] == {"gate_logprob": -0.5, "threshold": 9.0}
    assert "threshold" not in section
    assert section["draft_sampling"]["temperature"] == 0.0
    assert "token_budget" not in section  # budgets stay the user's own


def test_round_trip_settings_read_the_choice(settings_path: Path):
    base = ReasoningConfig(draft_sampling=GREEDY, target_sampling=GREEDY)
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(json.dumps({"profile": "tiny", "reasoning": {"strategy": "scot"}}))
    written = write_settings_file(settings_path, _frontier(), base, provenance={"questions": 10})
    assert written["tuned"]["mode"] == "specreason gate_logprob=-0.5 threshold=9"
    assert written["tuned"]["meets_quality"] is True
    assert written["tuned"]["questions"] == 10
    data = read_settings_file(settings_path)
    assert data["profile"] == "tiny"  # a hand-written key survives the rewrite

    settings = SpecGraphSettings()
    assert settings.profile == "tiny"
    assert settings.reasoning.strategy == "specreason"
    assert settings.reasoning.options == {"gate_logprob": -0.5, "threshold": 9.0}
    assert settings.reasoning.strategy_settings.threshold == 9.0
    assert settings.reasoning.draft_sampling.temperature == 0.0


def test_env_vars_and_code_beat_the_file(settings_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_settings_file(settings_path, _frontier(), ReasoningConfig())
    monkeypatch.setenv("SPEC_GRAPH_REASONING__THRESHOLD", "6")
    assert SpecGraphSettings().reasoning.strategy_settings.threshold == 6.0
    assert SpecGraphSettings().reasoning.options == {"gate_logprob": -0.5, "threshold": 6.0}
    # SpecReason's threshold with another strategy is an error, not silently ignored
    monkeypatch.setenv("SPEC_GRAPH_REASONING__STRATEGY", "handoff")
    with pytest.raises(ValueError, match="threshold"):
        SpecGraphSettings()
    monkeypatch.delenv("SPEC_GRAPH_REASONING__THRESHOLD")
    # another strategy from the environment does not inherit the file's options
    assert SpecGraphSettings().reasoning.strategy == "handoff"
    assert SpecGraphSettings().reasoning.options == {}
    # a reasoning given in code replaces the file's as a whole
    code = SpecGraphSettings(reasoning=ReasoningConfig(strategy="scot"))
    assert code.reasoning.strategy == "scot"
    assert "threshold" not in code.reasoning.options


def test_chat_model_starts_from_the_tuned_settings_with_its_chat_caps(settings_path: Path):
    write_settings_file(settings_path, _frontier(), ReasoningConfig())
    model = SpeculativeReasoningChatModel(embedded_profile="tiny")
    assert model.reasoning.strategy == "specreason"
    assert model.reasoning.options == {"gate_logprob": -0.5, "threshold": 9.0}
    assert model.reasoning.token_budget == 1024  # the chat cap: the file says nothing of it


def test_without_a_file_everything_is_the_library_default():
    assert SpecGraphSettings().reasoning == ReasoningConfig()
    model = SpeculativeReasoningChatModel(embedded_profile="tiny")
    assert model.reasoning.strategy == ReasoningConfig().strategy


def test_a_broken_file_is_a_clear_error(settings_path: Path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        SpecGraphSettings()
    with pytest.raises(UserError, match="not valid JSON"):
        read_settings_file(settings_path)


def test_nothing_to_choose_is_an_error(settings_path: Path):
    frontier = frontier_of([("target-only", 0.7, None, 5), ("draft-only", 0.3, 1.5, 5)])
    with pytest.raises(UserError, match="nothing to choose"):
        write_settings_file(settings_path, frontier, ReasoningConfig())
    assert not settings_path.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1, 2]", "JSON object"),
        ('{"reasoning": 3}', "not an object"),
        ('{"reasoning": {"strategy": "no-such-strategy"}}', "cannot use"),
        ('{"reasoning": {"threshhold": 8}}', "cannot use"),
    ],
)
def test_a_file_this_version_cannot_read_is_a_user_error(
    settings_path: Path, content: str, problem: str
):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(content)
    with pytest.raises(UserError, match=problem):
        SpecGraphSettings()


def test_any_spelling_of_the_env_strategy_drops_the_files_options(
    settings_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write_settings_file(settings_path, _frontier(), ReasoningConfig())
    monkeypatch.setenv("spec_graph_reasoning__strategy", "handoff")
    assert SpecGraphSettings().reasoning.options == {}
    monkeypatch.delenv("spec_graph_reasoning__strategy")
    monkeypatch.setenv("SPEC_GRAPH_REASONING", '{"strategy": "scot"}')
    assert SpecGraphSettings().reasoning.strategy == "scot"
    assert SpecGraphSettings().reasoning.options == {}


def test_untuned_settings_ignore_the_file(settings_path: Path):
    write_settings_file(settings_path, _frontier(), ReasoningConfig())
    assert SpecGraphSettings().reasoning.strategy_settings.threshold == 9.0
    assert SpecGraphSettings.untuned().reasoning == ReasoningConfig()
    # only that call skipped the file
    assert SpecGraphSettings().reasoning.strategy_settings.threshold == 9.0


def test_bench_defaults_include_the_tuned_mode(settings_path: Path):
    from spec_graph.cli.bench import bench_modes

    assert [m.name for m in bench_modes(None, None)][-1] == "specreason"
    write_settings_file(settings_path, _frontier(), ReasoningConfig())
    names = [m.name for m in bench_modes(None, None)]
    assert names == ["target-only", "draft-only", "specreason gate_logprob=-0.5 threshold=9"]
