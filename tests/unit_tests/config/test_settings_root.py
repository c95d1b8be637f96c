"""`SpecGraphSettings` is the one configuration root: every endpoint field, the embedded
servers and the tool limits come from code, env or the settings file, and reach the run."""

from __future__ import annotations

import pytest

from spec_graph import EndpointConfig, SpecGraphSettings
from spec_graph.cli import run
from spec_graph.cli.options import ServerFlags, endpoint_config
from spec_graph.config import EmbeddedSettings, RoleEndpoint
from spec_graph.tools import ToolLimits

NO_FLAGS: tuple[None, None, None] = (None, None, None)


def test_every_endpoint_field_is_settable_from_env(monkeypatch):
    # The env mirror is derived from EndpointConfig, so it cannot fall behind it.
    assert set(RoleEndpoint.model_fields) == set(EndpointConfig.model_fields)
    monkeypatch.setenv("SPEC_GRAPH_TARGET__TIMEOUT_S", "30")
    monkeypatch.setenv("SPEC_GRAPH_TARGET__CONNECT_TIMEOUT_S", "2")
    monkeypatch.setenv("SPEC_GRAPH_TARGET__MAX_RETRIES", "0")
    settings = SpecGraphSettings()
    assert settings.endpoint_overrides("target") == {
        "timeout_s": 30.0,
        "connect_timeout_s": 2.0,
        "max_retries": 0,
    }
    assert settings.endpoint("target") is None  # no URL: the embedded server is used


def test_an_invalid_endpoint_setting_is_rejected_with_the_field(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_TARGET__TIMEOUT_S", "-1")
    with pytest.raises(ValueError, match=r"target endpoint settings: timeout_s"):
        SpecGraphSettings()


def test_an_invalid_env_value_is_one_line_from_the_cli(monkeypatch, capsys):
    monkeypatch.setenv("SPEC_GRAPH_TARGET__TIMEOUT_S", "soon")
    assert run(["ask", "What is 7 * 6?"]) == 2
    message = capsys.readouterr().err.strip()
    assert "Traceback" not in message
    assert message.startswith("error: invalid SPEC_GRAPH_* setting")
    assert "timeout_s" in message


def test_env_timeouts_reach_an_embedded_servers_endpoint(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_TARGET__TIMEOUT_S", "30")
    settings = SpecGraphSettings.untuned()
    servers = ServerFlags("tiny", NO_FLAGS, NO_FLAGS, None).model_servers(settings, quiet=True)

    class Started:  # what EmbeddedModels hands out once its servers run
        draft = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="d")
        target = EndpointConfig(base_url="http://127.0.0.1:2/v1", model="t")

    monkeypatch.setattr(servers, "_embedded", Started())
    assert servers.target.timeout_s == 30
    assert servers.target.base_url == "http://127.0.0.1:2/v1"  # the server's own URL stays
    assert servers.draft.timeout_s == EndpointConfig.model_fields["timeout_s"].default


def test_the_timeout_flag_beats_the_env(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_TARGET__TIMEOUT_S", "30")
    settings = SpecGraphSettings.untuned()
    endpoint = endpoint_config("target", "http://gpu:8000/v1", "m", settings, timeout=7)
    assert endpoint is not None
    assert endpoint.timeout_s == 7


@pytest.mark.parametrize("variable", ["SPEC_GRAPH_TARGET__API_KEY", "SPEC_GRAPH_TARGET_API_KEY"])
def test_a_url_flag_keeps_the_roles_api_key(monkeypatch, variable):
    # Defect (issue 16, item 5): --target-url sent "Bearer not-needed" instead of the key.
    monkeypatch.setenv(variable, "sk-role-key")
    if "__" in variable:
        settings = SpecGraphSettings.untuned()
    else:  # the flat spelling of earlier releases still works, with a warning
        with pytest.warns(DeprecationWarning, match="SPEC_GRAPH_TARGET__API_KEY"):
            settings = SpecGraphSettings.untuned()
    endpoint = endpoint_config("target", "http://gpu:8000/v1", None, settings)
    assert endpoint is not None
    assert endpoint.api_key is not None
    assert endpoint.api_key.get_secret_value() == "sk-role-key"
    assert "sk-role-key" not in repr(settings) + repr(endpoint)


def test_embedded_and_tool_sections(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_EMBEDDED__SLOTS", "4")
    monkeypatch.setenv("SPEC_GRAPH_EMBEDDED__N_CTX", "16384")
    monkeypatch.setenv("SPEC_GRAPH_EMBEDDED__TARGET_SPECULATION", "3")
    monkeypatch.setenv("SPEC_GRAPH_TOOLS__TIMEOUT_S", "5")
    settings = SpecGraphSettings.untuned()
    assert settings.embedded == EmbeddedSettings(n_ctx=16384, slots=4, target_speculation=3)
    assert settings.tools == ToolLimits(timeout_s=5)
    servers = ServerFlags("tiny", NO_FLAGS, NO_FLAGS, None).model_servers(settings, quiet=True)
    assert servers.server_options["n_parallel"] == 4
    assert servers.server_options["n_ctx"] == 16384
    assert servers.server_options["target_speculation"] == 3
