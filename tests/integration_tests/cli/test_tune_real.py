"""`spec-graph tune` end to end on the tiny profile: sweep, choose, write, and be read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., subprocess.CompletedProcess[str]]
"""The `cli` fixture of conftest.py."""


def test_tune_writes_the_choice_that_ask_and_the_chat_model_then_use(tmp_path: Path, cli: Cli):
    settings = tmp_path / "settings.json"
    env = {"SPEC_GRAPH_SETTINGS_FILE": str(settings)}
    proc = cli(
        "tune", "--profile", "tiny", "--limit", "2", "--max-steps", "4",
        "--mode", "target-only", "--mode", "draft-only", "--mode", "handoff",
        "--out", str(tmp_path / "sweep"),
        env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Chosen:" in proc.stdout
    assert "handoff" in proc.stdout
    assert "frontier" in proc.stdout.lower()  # the frontier table is shown
    data = json.loads(settings.read_text())
    # the only speculative mode is the choice, whatever its accuracy on two questions
    assert data["reasoning"]["strategy"] == "handoff"
    assert data["reasoning"]["draft_sampling"]["temperature"] == 0.0
    assert data["tuned"]["mode"] == "handoff"
    assert {p["mode"] for p in data["tuned"]["points"]} == {"target-only", "draft-only", "handoff"}
    assert data["tuned"]["questions"] == 2
    assert (tmp_path / "sweep" / "raw.jsonl").is_file()
    assert (tmp_path / "sweep" / "frontier.png").is_file()

    # ask starts from the tuned settings (and says so), flags still win
    asked = cli("ask", "--profile", "tiny", "--max-steps", "3", "What is 2 + 3?", env=env)
    assert asked.returncode == 0, asked.stderr
    assert "settings from" in asked.stderr
    assert "handoff" in asked.stderr
    as_json = cli(
        "ask", "--profile", "tiny", "--json", "--max-steps", "3", "What is 2 + 3?", env=env
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["strategy"] == "handoff"
    flagged = cli(
        "ask", "--profile", "tiny", "--json", "--max-steps", "3", "--strategy", "target-only",
        "What is 2 + 3?", env=env,
    )  # fmt: skip
    assert json.loads(flagged.stdout)["strategy"] == "target-only"

    # the chat model reads the same file
    code = (
        "from spec_graph import SpeculativeReasoningChatModel as M; "
        "print(M(embedded_profile='tiny').reasoning.strategy)"
    )
    chat = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip() == "handoff"


def test_tune_without_target_only_is_a_usage_error(tmp_path: Path, cli: Cli):
    proc = cli(
        "tune", "--profile", "tiny", "--mode", "specreason", "--no-write",
        env={"SPEC_GRAPH_SETTINGS_FILE": str(tmp_path / "s.json")},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "target-only" in proc.stderr
    assert "Traceback" not in proc.stderr
