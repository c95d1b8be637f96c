"""The text protocol for tool calls written inside a reasoning step.

Steps are generated as plain continuations of an unfinished assistant message, so there are
no native tool calls to read: a call is text. The format is Hermes/Qwen2.5's, the one the
Qwen-family models' chat templates render and the models are trained on::

    <tool_call>
    {"name": "calculator", "arguments": {"expression": "12*7"}}
    </tool_call>

and the result goes back into the chain as::

    <tool_response>
    84
    </tool_response>

`parse_tool_calls` is tolerant of what small models write: single-quoted (Python-literal)
JSON, text after the object, a code fence around it, ``"parameters"`` for ``"arguments"``,
arguments given as a JSON string, and a last call whose ``</tool_call>`` was cut off by a
stop sequence. A block that still cannot be read is *not* dropped: it comes back as a
`ToolCall` with ``name=""`` and ``error`` set, so the executor can tell the model what was
wrong instead of silently ignoring its call.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from spec_graph.tools.executor import ToolResult

__all__ = [
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "TOOL_RESPONSE_CLOSE",
    "TOOL_RESPONSE_OPEN",
    "ToolCall",
    "format_tool_result",
    "parse_tool_calls",
    "tool_instructions",
]

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"

_OPEN, _CLOSE = re.escape(TOOL_CALL_OPEN), re.escape(TOOL_CALL_CLOSE)
_BLOCK = re.compile(rf"{_OPEN}(.*?)(?:{_CLOSE}|(?={_OPEN})|\Z)", re.DOTALL)
"""A block ends at its closing tag, at the next opening tag (a close the model forgot) or at
the end of the text (a close the ``</tool_call>`` stop sequence cut off)."""


class ToolCall(BaseModel):
    """One call as written in a step."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The tool's name; ``""`` when the block could not be read (see ``error``)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw: str
    """The text between the tags, as written."""
    error: str | None = None
    """Why the block could not be read as a call (None for a well-formed call)."""


def _object_text(text: str) -> str | None:
    """The first balanced ``{...}`` in ``text`` (quotes respected), or None."""
    start = text.find("{")
    if start < 0:
        return None
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        c = text[i]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _load(text: str) -> Any:
    """A JSON object, or the same written as a Python literal (single quotes, True/None)."""
    start = text.find("{")
    if start >= 0:
        try:
            return json.JSONDecoder().raw_decode(text, start)[0]  # ignores trailing text
        except ValueError:
            pass
    candidate = _object_text(text)
    if candidate is None:
        raise ValueError("no JSON object")
    try:
        return ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not valid JSON") from None


def _read_call(raw: str) -> ToolCall:
    try:
        data = _load(raw)
    except ValueError as error:
        return ToolCall(name="", raw=raw, error=f"{error}: {raw.strip()[:200]!r}")
    if not isinstance(data, dict):
        return ToolCall(name="", raw=raw, error="the call is not a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        return ToolCall(name="", raw=raw, error='the call has no "name"')
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # OpenAI style: the arguments as a JSON string
        try:
            arguments = _load(arguments) if arguments.strip() else {}
        except ValueError:
            return ToolCall(name=name.strip(), raw=raw, error='"arguments" is not a JSON object')
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return ToolCall(name=name.strip(), raw=raw, error='"arguments" is not a JSON object')
    return ToolCall(name=name.strip(), arguments=arguments, raw=raw)


def parse_tool_calls(text: str) -> list[ToolCall]:
    """Every ``<tool_call>`` block in ``text``, in order (an unclosed last block included).

    A block that cannot be read gives a `ToolCall` with ``name=""`` and ``error`` set; text
    without blocks gives ``[]``.
    """
    return [_read_call(match.group(1)) for match in _BLOCK.finditer(text)]


def tool_instructions(tools: Sequence[BaseTool]) -> str:
    """The system-prompt section that offers ``tools`` (Qwen2.5's own wording and format).

    Each tool is listed as its OpenAI function schema (name, description, argument names,
    types and descriptions), which is what the Qwen chat template itself renders.
    """
    signatures = "\n".join(
        json.dumps(convert_to_openai_tool(t), ensure_ascii=False, separators=(", ", ": "))
        for t in tools
    )
    return (
        "# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{signatures}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        f"within {TOOL_CALL_OPEN}{TOOL_CALL_CLOSE} XML tags:\n"
        f'{TOOL_CALL_OPEN}\n{{"name": <function-name>, "arguments": <args-json-object>}}\n'
        f"{TOOL_CALL_CLOSE}\n\n"
        f"The result appears right after the call within {TOOL_RESPONSE_OPEN}"
        f"{TOOL_RESPONSE_CLOSE} XML tags; continue your reasoning from it."
    )


def format_tool_result(result: ToolResult | str) -> str:
    """The text that carries one result into the chain (the output between the tags).

    ``<tool_response>``, newline, the output (stripped), newline, ``</tool_response>``.
    Takes a `spec_graph.tools.ToolResult` (its ``output``; an error result's output already
    says it failed) or a plain string.
    """
    output = result if isinstance(result, str) else result.output
    return f"{TOOL_RESPONSE_OPEN}\n{output.strip()}\n{TOOL_RESPONSE_CLOSE}"
