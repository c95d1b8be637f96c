"""Tool calling for servers that render tools but do not parse tool calls themselves.

Some llama.cpp builds show the tools to the model (chat template) but return the model's call
as text, e.g. a ```json block or ``<tool_call>`` tags, and ignore ``tool_choice="required"``.
For those servers the backend (1) forces a call, when one is required, with a JSON-schema
constraint over ``{"name", "arguments"}`` of the bound tools, and (2) parses a call out of the
text otherwise. Only a JSON object naming a bound tool becomes a tool call; anything else stays
text, except a reply cut off by ``max_tokens`` while it wrote a call (`cut_tool_call`): that is
the call, cut, as a server that parses calls would stream it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = ["cut_tool_call", "forced_call_format", "reply_tool_calls"]

_OPENED_CALL = re.compile(r'\{\s*"name"\s*:\s*"([^"\\]*)"')
_ARGUMENTS = re.compile(r'"(?:arguments|parameters)"\s*:\s*')


def forced_call_format(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A ``response_format`` that only admits a call of one of ``tools``."""
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool["function"]["name"]},
                "arguments": tool["function"].get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema}}


def reply_tool_calls(text: str, tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls written as text (``[{"id", "name", "args"}]``), or [] if the text is an answer.

    For a *reply* (any JSON object naming a bound tool becomes a call, in OpenAI's shape). The
    calls a *reasoning step* makes are ``<tool_call>`` blocks read by
    `spec_graph.tools.parse_tool_calls`, which also reports unreadable blocks to the model.

    Scans for JSON objects anywhere in the text (bare, in a ```json fence, in ``<tool_call>``
    tags, or with the doubled outer braces some models copy from their template's example)
    and keeps those that name a bound tool with object arguments.
    """
    names = {tool["function"]["name"] for tool in tools}
    decoder = json.JSONDecoder()
    calls: list[dict[str, Any]] = []
    position = 0
    while (start := text.find("{", position)) >= 0:
        try:
            item, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        position = end
        if not isinstance(item, dict) or item.get("name") not in names:
            continue
        args = item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                continue
        if isinstance(args, dict):
            calls.append(
                {"id": f"call_{uuid.uuid4().hex[:12]}", "name": item["name"], "args": args}
            )
    return calls


def cut_tool_call(
    text: str, tools: Sequence[dict[str, Any]], *, forced: bool
) -> dict[str, Any] | None:
    """The call a reply cut off by ``max_tokens`` was writing, or None if it wrote none.

    ``{"id", "name", "args"}`` with ``args`` the arguments' JSON as far as it came ("" if
    the cut came before them; ``name`` None if it came inside the name). A *forced* reply
    (``forced_call_format``) is a call from its first brace; another is one when it opens a
    call of a bound tool.
    """
    names = {tool["function"]["name"] for tool in tools}
    opened = _OPENED_CALL.search(text)
    name = opened.group(1) if opened else None
    if name not in names and not (forced and text.lstrip().startswith("{")):
        return None
    arguments = _ARGUMENTS.search(text, opened.end() if opened else 0)
    return {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "name": name if name in names else None,
        "args": text[arguments.end() :] if arguments else "",
    }
