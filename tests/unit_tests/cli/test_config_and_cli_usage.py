"""Config validation, secrets, env loading, and CLI usage errors (no server needed)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from spec_graph import EndpointConfig, ReasoningConfig, SpecGraphSettings
from spec_graph.cli import run
from spec_graph.judging.digits import score_from_logprobs


def test_api_key_never_in_repr_or_dump_json():
    endpoint = EndpointConfig(
        base_url="http://h:1/v1", model="m", api_key=SecretStr("sk-secret-123")
    )
    assert "sk-secret-123" not in repr(endpoint)
    assert "sk-secret-123" not in str(endpoint)
    assert "sk-secret-123" not in endpoint.model_dump_json()
    assert endpoint.api_key is not None
    assert endpoint.api_key.get_secret_value() == "sk-secret-123"


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_PROFILE", "tiny")
    monkeypatch.setenv("SPEC_GRAPH_TARGET__BASE_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("SPEC_GRAPH_TARGET__MODEL", "Qwen/QwQ-32B")
    monkeypatch.setenv("SPEC_GRAPH_TARGET__API_KEY", "sk-env-456")
    monkeypatch.setenv("SPEC_GRAPH_REASONING__THRESHOLD", "8.5")
    settings = SpecGraphSettings()
    assert settings.profile == "tiny"
    assert settings.reasoning.strategy_settings.threshold == 8.5  # SpecReason's own setting
    target = settings.endpoint("target")
    assert target is not None
    assert target.model == "Qwen/QwQ-32B"
    assert target.api_key is not None
    assert target.api_key.get_secret_value() == "sk-env-456"
    assert settings.endpoint("draft") is None
    assert "sk-env-456" not in repr(settings)


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 9.5},
        {"threshold": -1},
        {"score_method": "median"},
        {"strategy": "fast"},
        {"max_steps": 0},
    ],
)
def test_invalid_reasoning_settings_rejected(bad):
    with pytest.raises(ValidationError):
        ReasoningConfig(**bad)


def test_base_url_must_be_http():
    with pytest.raises(ValidationError, match="http"):
        EndpointConfig(base_url="localhost:8000", model="m")


def test_score_merges_space_prefixed_digits_and_ignores_words():
    import math

    tops = [
        (" 8", math.log(0.3)),
        ("8", math.log(0.3)),
        ("Yes", math.log(0.3)),
        ("3", math.log(0.1)),
    ]
    score = score_from_logprobs(tops, "greedy")
    assert score.score == 8.0
    assert score.digit_mass == pytest.approx(0.7)
    assert score.top_token in {" 8", "8", "Yes"}
    assert score_from_logprobs([], "average").score is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "empty"),
        (["ask", "--profile", "huge", "q"], "unknown profile 'huge'"),
        (["ask", "--threshold", "12", "q"], "--threshold"),
        (["ask", "--strategy", "fast", "q"], "--strategy"),
        (["ask", "--score-method", "median", "q"], "score_method"),
        (["models", "--fetch", "gpt-5"], "unknown local model 'gpt-5'"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(argv, message, capsys):
    code = run(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_ask_help_offers_the_arithmetic_check_and_it_reaches_the_config():
    from typer.testing import CliRunner

    from spec_graph.cli import app
    from spec_graph.cli.options import reasoning_config
    from spec_graph.config import SpecGraphSettings

    result = CliRunner().invoke(app, ["ask", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--check-arithmetic" in result.output
    settings = SpecGraphSettings()
    assert reasoning_config(settings, {"check_arithmetic": True}, {}).check_arithmetic is True
    assert reasoning_config(settings, {"check_arithmetic": None}, {}).check_arithmetic is False


def test_none_or_off_turns_an_option_off_on_the_command_line():
    from spec_graph.cli.options import strategy_options

    assert strategy_options(["gate_logprob=none", "n=3"]) == {"gate_logprob": None, "n": "3"}
    assert strategy_options(["gate_logprob=OFF"]) == {"gate_logprob": None}


def test_version_and_short_help(capsys):
    from importlib.metadata import version

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"spec-graph {version('spec-graph')}"
    assert run(["-h"]) == 0
    assert "Commands" in capsys.readouterr().out
    assert run(["ask", "-h"]) == 0
    assert "--thread" in capsys.readouterr().out


def test_an_unknown_strategy_names_the_flag_once(capsys):
    assert run(["ask", "--strategy", "nope", "q"]) == 2
    err = capsys.readouterr().err
    assert err.count("--strategy") == 1, err
    assert "unknown strategy 'nope'" in err
