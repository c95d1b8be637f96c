"""``--help`` reads like a click CLI's: TEXT / INTEGER / PATH, no Python type labels."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from spec_graph.cli import app

TYPE_LABEL = re.compile(r"<(bool|str|int|float|path|list\[\w+\])( range)?>")


@pytest.mark.parametrize("command", [[], ["ask"], ["serve"], ["bench"], ["tune"], ["models"]])
def test_help_has_no_python_type_labels(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert not TYPE_LABEL.findall(result.output), result.output


def test_help_names_values_the_click_way_and_flags_take_none():
    result = CliRunner().invoke(app, ["ask", "--help"], env={"COLUMNS": "200"})
    lines = {line.split()[1]: line for line in result.output.splitlines() if "│ --" in line}
    assert "TEXT" in lines["--profile"]
    assert "INTEGER" in lines["--seed"]
    assert "FLOAT" in lines["--threshold"]
    assert "PATH" in lines["--draft-gguf"]
    assert "[QUESTION]" in result.output  # the usage line names the argument
    flag = lines["--check-arithmetic"].split("--no-check-arithmetic")[1]
    assert flag.split()[0] == "The", "a flag takes no value: its help comes next"
