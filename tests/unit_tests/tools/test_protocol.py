"""The text protocol: Hermes/Qwen2.5 ``<tool_call>`` blocks, parsed tolerantly."""

from __future__ import annotations

import json

from langchain_core.tools import tool

from spec_graph.tools import (
    ToolCall,
    ToolResult,
    calculator,
    format_tool_result,
    parse_tool_calls,
    python_sandbox,
    tool_instructions,
)
from spec_graph.tools.protocol import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

CANONICAL = (
    "The total is 12 times 7.\n"
    '<tool_call>\n{"name": "calculator", "arguments": {"expression": "12*7"}}\n</tool_call>'
)


def test_parses_the_canonical_format():
    [call] = parse_tool_calls(CANONICAL)
    assert call == ToolCall(
        name="calculator",
        arguments={"expression": "12*7"},
        raw='\n{"name": "calculator", "arguments": {"expression": "12*7"}}\n',
    )
    assert call.error is None


def test_no_block_no_calls():
    assert parse_tool_calls("Just reasoning, 12 * 7 = 84.") == []


def test_several_calls_in_order():
    text = (
        '<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call> then '
        '<tool_call>{"name": "b", "arguments": {"y": [1, 2]}}</tool_call>'
    )
    assert [(c.name, c.arguments) for c in parse_tool_calls(text)] == [
        ("a", {"x": 1}),
        ("b", {"y": [1, 2]}),
    ]


def test_tolerates_what_small_models_write():
    variants = [
        "<tool_call>\n{'name': 'calculator', 'arguments': {'expression': '2+2'}}\n</tool_call>",
        '<tool_call>{"name": "calculator", "arguments": {"expression": "2+2"}} done</tool_call>',
        '<tool_call>\n```json\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n```\n'
        "</tool_call>",
        '<tool_call>{"name": "calculator", "parameters": {"expression": "2+2"}}</tool_call>',
        '<tool_call>{"name": "calculator", "arguments": "{\\"expression\\": \\"2+2\\"}"}'
        "</tool_call>",
        # the </tool_call> stop sequence cut the closing tag off
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n',
    ]
    for text in variants:
        [call] = parse_tool_calls(text)
        assert (call.name, call.arguments, call.error) == (
            "calculator",
            {"expression": "2+2"},
            None,
        ), text


def test_a_forgotten_close_does_not_swallow_the_next_call():
    text = '<tool_call>{"name": "a", "arguments": {}}\n<tool_call>{"name": "b"}</tool_call>'
    assert [c.name for c in parse_tool_calls(text)] == ["a", "b"]
    assert parse_tool_calls(text)[1].arguments == {}


def test_unreadable_blocks_come_back_as_errors_not_silence():
    broken, nameless, bad_args = parse_tool_calls(
        "<tool_call>calculator(12*7)</tool_call>"
        '<tool_call>{"arguments": {"x": 1}}</tool_call>'
        '<tool_call>{"name": "calculator", "arguments": [1, 2]}</tool_call>'
    )
    assert broken.name == ""
    assert "no JSON object" in broken.error
    assert "calculator(12*7)" in broken.error
    assert nameless.name == ""
    assert 'no "name"' in nameless.error
    assert bad_args.name == "calculator"
    assert '"arguments" is not a JSON object' in bad_args.error


def test_instructions_name_every_tool_and_the_format():
    @tool
    def lookup(term: str, limit: int = 3) -> str:
        """Look a term up in the glossary."""
        return term

    text = tool_instructions([calculator, python_sandbox, lookup])
    assert text == tool_instructions([calculator, python_sandbox, lookup])  # deterministic
    for name, description, arg in [
        ("calculator", calculator.description, "expression"),
        ("python_sandbox", python_sandbox.description, "code"),
        ("lookup", "Look a term up in the glossary.", "limit"),
    ]:
        assert f'"name": "{name}"' in text
        assert description in text
        assert f'"{arg}"' in text
    assert TOOL_CALL_OPEN in text
    assert TOOL_CALL_CLOSE in text
    assert "<tool_response>" in text
    # every listed signature is valid JSON (what the Qwen template itself renders)
    block = text.split("<tools>\n")[1].split("\n</tools>")[0]
    assert [json.loads(line)["function"]["name"] for line in block.splitlines()] == [
        "calculator",
        "python_sandbox",
        "lookup",
    ]


def test_format_tool_result_is_short_and_deterministic():
    assert format_tool_result("84") == "<tool_response>\n84\n</tool_response>"
    result = ToolResult(name="calculator", arguments={}, output="84\n", error=False, seconds=0.1)
    assert format_tool_result(result) == "<tool_response>\n84\n</tool_response>"


def test_a_result_does_not_parse_as_a_call():
    text = CANONICAL + "\n" + format_tool_result("84") + "\nSo the total is 84."
    assert [c.name for c in parse_tool_calls(text)] == ["calculator"]
