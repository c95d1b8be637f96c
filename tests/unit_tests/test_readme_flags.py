"""The README names only flags and settings that exist (its commands and its configuration table).

Every ``spec-graph ask|bench|tune|models|serve ...`` command in the README (code blocks and inline
code) may use only flags that command's ``--help`` lists, and the configuration table's
settings are `ReasoningConfig` fields; a renamed or removed flag fails here, not for a reader.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spec_graph import ReasoningConfig
from spec_graph.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMAND = re.compile(r"spec-graph (ask|bench|tune|models|serve)\b([^`&#\n]*)")


@cache
def _flags(command: str) -> set[str]:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return set(FLAG.findall(result.output)) | {"--help"}


def _commands() -> list[tuple[str, str]]:
    text = README.replace("\\\n", " ")  # shell line continuations
    spans = re.findall(r"`([^`]+)`", text)  # inline code and code blocks' lines alike
    found = []
    for chunk in [*spans, *text.splitlines()]:
        for command, rest in COMMAND.findall(" ".join(chunk.split())):
            found.append((command, rest))
    return found


def test_the_readme_has_commands():
    assert {command for command, _ in _commands()} >= {"ask", "bench", "tune"}


@pytest.mark.parametrize("command", ["ask", "bench", "tune", "models"])
def test_readme_commands_use_existing_flags(command):
    used = {flag for name, rest in _commands() if name == command for flag in FLAG.findall(rest)}
    unknown = used - _flags(command)
    assert not unknown, f"the README uses spec-graph {command} {sorted(unknown)}"


def _configuration_rows() -> list[list[str]]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]
    assert rows
    return rows


def test_configuration_table_names_real_settings_and_flags():
    from spec_graph.strategies import SpecReasonSettings

    # SpecReason's own settings (threshold, judge_prompt, ...) are set the same way; `judge`
    # and `tools` are the deprecated names of judge_prompt and tool_schemas (still working)
    fields = set(ReasoningConfig.model_fields) | set(SpecReasonSettings.model_fields)
    fields |= {"judge", "tools"}
    every_flag = set().union(*(_flags(c) for c in ("ask", "bench", "tune")))
    for setting, _default, flags, _env, _meaning in _configuration_rows():
        for name in re.findall(r"`(\w+)`", setting):
            assert name in fields, f"README configuration table: no ReasoningConfig.{name}"
        for flag in FLAG.findall(flags):
            assert flag in every_flag, f"README configuration table: no flag {flag}"


def test_sampling_settings_are_the_sampling_fields():
    from spec_graph import SamplingConfig

    row = next(r for r in _configuration_rows() if "draft_sampling" in r[0])
    named = set(re.findall(r"`(\w+)`", row[1]))
    assert named == set(SamplingConfig.model_fields)
