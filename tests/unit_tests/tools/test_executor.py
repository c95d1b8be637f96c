"""The executor: any LangChain tool, bounded, and a result (never an exception) for anything."""

from __future__ import annotations

import asyncio
import time

import pytest
from langchain_core.tools import tool
from pydantic import ValidationError

from spec_graph.errors import UserError
from spec_graph.tools import (
    ToolCall,
    ToolLimits,
    ToolResult,
    calculator,
    parse_tool_calls,
    python_sandbox,
    run_tool_call,
    tools_by_name,
)

TOOLS = tools_by_name([calculator, python_sandbox])


def call(name: str, **arguments) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, raw="")


async def test_runs_a_parsed_call():
    [parsed] = parse_tool_calls(
        '<tool_call>{"name": "calculator", "arguments": {"expression": "12*7"}}</tool_call>'
    )
    result = await run_tool_call(parsed, TOOLS, ToolLimits())
    assert isinstance(result, ToolResult)
    assert (result.name, result.arguments, result.output, result.error) == (
        "calculator",
        {"expression": "12*7"},
        "84",
        False,
    )
    assert result.seconds >= 0


async def test_a_custom_tool_really_runs():
    seen: list[tuple[str, int]] = []

    @tool
    def record(word: str, times: int = 1) -> str:
        """Record a word."""
        seen.append((word, times))
        return word * times

    result = await run_tool_call(call("record", word="ab", times=3), tools_by_name([record]))
    assert seen == [("ab", 3)]
    assert (result.output, result.error) == ("ababab", False)


async def test_an_async_tool_and_a_non_string_result():
    @tool
    async def stats(values: list[float]) -> dict:
        """Mean and count."""
        await asyncio.sleep(0)
        return {"mean": sum(values) / len(values), "n": len(values)}

    result = await run_tool_call(call("stats", values=[1, 2, 3]), tools_by_name([stats]))
    assert (result.output, result.error) == ('{"mean": 2.0, "n": 3}', False)


async def test_unknown_tool_lists_the_known_ones():
    result = await run_tool_call(call("web_search", query="x"), TOOLS)
    assert result.error
    assert result.output == (
        "error: unknown tool 'web_search'; known tools: calculator, python_sandbox"
    )


async def test_malformed_call():
    [broken] = parse_tool_calls("<tool_call>calculator(1+1)</tool_call>")
    result = await run_tool_call(broken, TOOLS)
    assert result.error
    assert result.output.startswith("error: malformed tool call: no JSON object")


async def test_bad_arguments_give_the_validation_message():
    result = await run_tool_call(call("calculator", expr="1+1"), TOOLS)
    assert result.error
    assert result.output.startswith("error: bad arguments for tool calculator: expression:")
    assert "Field required" in result.output
    assert result.output.endswith("(expects: expression)")


async def test_a_failing_tool():
    @tool
    def boom(x: int) -> int:
        """Always fails."""
        raise RuntimeError(f"kaput {x}")

    result = await run_tool_call(call("boom", x=3), tools_by_name([boom]))
    assert (result.output, result.error) == ("error: tool boom failed: RuntimeError: kaput 3", True)
    result = await run_tool_call(call("calculator", expression="1/0"), TOOLS)
    assert result.output == (
        "error: tool calculator failed: cannot evaluate '1/0': division by zero"
    )


async def test_a_slow_async_tool_times_out():
    @tool
    async def slow() -> str:
        """Takes forever."""
        await asyncio.sleep(30)
        return "done"

    started = time.perf_counter()
    result = await run_tool_call(call("slow"), tools_by_name([slow]), ToolLimits(timeout_s=0.2))
    assert time.perf_counter() - started < 2
    assert (result.output, result.error) == ("error: tool slow timed out after 0.2 s", True)


async def test_a_slow_sync_tool_times_out():
    @tool
    def blocking() -> str:
        """Blocks its thread."""
        time.sleep(0.6)
        return "done"

    started = time.perf_counter()
    result = await run_tool_call(
        call("blocking"), tools_by_name([blocking]), ToolLimits(timeout_s=0.1)
    )
    assert time.perf_counter() - started < 0.5
    assert result.error
    assert "timed out after 0.1 s" in result.output


async def test_output_is_truncated():
    @tool
    def chatty() -> str:
        """Says a lot."""
        return "y" * 5000 + "END"

    result = await run_tool_call(
        call("chatty"), tools_by_name([chatty]), ToolLimits(max_output_chars=100)
    )
    assert not result.error
    assert len(result.output) <= 100
    assert "characters truncated" in result.output
    assert result.output.endswith("END")


async def test_the_sandbox_through_the_executor():
    result = await run_tool_call(call("python_sandbox", code="sum(range(10))"), TOOLS)
    assert (result.output, result.error) == ("45\n", False)


def test_limits_are_validated_and_frozen():
    limits = ToolLimits()
    assert (limits.max_calls_per_run, limits.timeout_s, limits.max_output_chars) == (8, 10, 2000)
    with pytest.raises(ValidationError):
        ToolLimits(timeout_s=0)
    with pytest.raises(ValidationError):
        limits.timeout_s = 1  # type: ignore[misc]


def test_tools_by_name_converts_functions_and_refuses_duplicates():
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    tools = tools_by_name([calculator, double])
    assert list(tools) == ["calculator", "double"]
    assert tools["double"].invoke({"x": 21}) == 42

    with pytest.raises(UserError, match="two tools are named 'calculator'"):
        tools_by_name([calculator, calculator])

    def undocumented(x: int) -> int:
        return x

    with pytest.raises(UserError, match="cannot make a tool"):
        tools_by_name([undocumented])
    with pytest.raises(UserError, match="not a tool or a function"):
        tools_by_name(["calculator"])  # type: ignore[list-item]
