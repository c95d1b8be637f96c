"""The server stays an extra: the core import is light; settings and the CLI command."""

from __future__ import annotations

import subprocess
import sys

from pydantic import SecretStr

from spec_graph.cli import run
from spec_graph.config import ServeSettings, SpecGraphSettings


def test_import_spec_graph_does_not_import_the_server():
    code = (
        "import sys, spec_graph, spec_graph.cli, spec_graph.reply;"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'sse_starlette', 'starlette') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_settings_from_env(monkeypatch):
    monkeypatch.setenv("SPEC_GRAPH_SERVE__API_KEY", "from-env")
    monkeypatch.setenv("SPEC_GRAPH_SERVE__MAX_CONCURRENCY", "9")
    serve = SpecGraphSettings().serve
    assert serve.api_key == SecretStr("from-env")
    assert serve.max_concurrency == 9
    assert "from-env" not in repr(serve)
    assert ServeSettings().host == "127.0.0.1"  # loopback unless told otherwise


def test_serve_is_a_command(capsys):
    assert run(["serve", "--help"]) == 0
    shown = capsys.readouterr().out
    for flag in (
        "--profile",
        "--host",
        "--port",
        "--max-concurrency",
        "--api-key-env",
        "--target-url",
    ):
        assert flag in shown


def test_api_key_env_must_name_a_set_variable(monkeypatch, capsys):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    assert run(["serve", "--api-key-env", "NO_SUCH_KEY_VAR"]) == 2
    assert "NO_SUCH_KEY_VAR" in capsys.readouterr().err
