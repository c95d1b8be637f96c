"""What the CLI prints of model text cannot drive the terminal; odd input is one clear line."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_graph.cli import run
from spec_graph.cli.ask import read_question
from spec_graph.cli.display import shown
from spec_graph.errors import UserError

ATTACKS = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;owned\x07",  # set the window title
    "\x1b]52;c;ZWNobyBvd25lZA==\x07",  # OSC 52: write the clipboard
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",  # a hidden hyperlink
    "\x1bP+q\x1b\\",  # DCS query
    "\x9b31m",  # C1 CSI
    "\x1bc",  # full reset
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_terminal_control_sequences_are_removed(attack):
    text = shown(f"step 1{attack} = 42")
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert text.startswith("step 1")
    assert text.endswith("= 42")


def test_plain_text_newlines_and_markup_survive_as_text():
    assert shown("a\n\tb [bold]c[/]") == "a\n\tb \\[bold]c\\[/]"


@given(st.text())
def test_no_control_character_survives(text):
    cleaned = shown(text)
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in cleaned)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in cleaned)


def test_question_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"What is 7 * 6?\n")))
    assert read_question("-") == "What is 7 * 6?\n"


def test_non_utf8_stdin_is_one_clear_error(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"What is \xff?")))
    with pytest.raises(UserError, match="not UTF-8"):
        read_question("-")


def test_non_utf8_argument_is_one_clear_line(capsys):
    # Bytes that are not UTF-8 reach Python's argv as lone surrogates.
    assert run(["ask", "--profile", "tiny", "What is \udcff?"]) == 2
    message = capsys.readouterr().err.strip()
    assert message == "error: the question is not valid UTF-8 (character 8)"
