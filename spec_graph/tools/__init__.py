"""Tools a reasoning step can call: a calculator, a Python sandbox, and the plumbing.

A step writes a call as text (`protocol`: the ``<tool_call>`` format Qwen models are trained
on), the executor runs it against any LangChain tool within `ToolLimits` and never raises,
and `format_tool_result` carries the result back into the chain. See ``docs/tools.md``.

This package imports nothing from spec-graph but `spec_graph.errors`, so the graph's nodes
can import it without a cycle.
"""

from spec_graph.tools._errors import ToolError
from spec_graph.tools.calculator import calculator, evaluate
from spec_graph.tools.executor import ToolLimits, ToolResult, run_tool_call, tools_by_name
from spec_graph.tools.protocol import (
    ToolCall,
    format_tool_result,
    parse_tool_calls,
    tool_instructions,
)
from spec_graph.tools.python_tool import python_sandbox
from spec_graph.tools.sandbox import SandboxResult, run_python

__all__ = [
    "SandboxResult",
    "ToolCall",
    "ToolError",
    "ToolLimits",
    "ToolResult",
    "calculator",
    "evaluate",
    "format_tool_result",
    "parse_tool_calls",
    "python_sandbox",
    "run_python",
    "run_tool_call",
    "tool_instructions",
    "tools_by_name",
]
