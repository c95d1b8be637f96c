"""What ``bind_tools`` and ``with_structured_output`` bind (OpenAI tools, response formats)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from spec_graph.errors import UserError

__all__ = ["structured_output", "tool_binding"]


def tool_binding(
    tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
    tool_choice: dict[str, Any] | str | bool | None,
) -> tuple[list[dict[str, Any]], Any]:
    """OpenAI-format tools and the ``tool_choice`` the servers understand (see `bind_tools`)."""
    formatted = [convert_to_openai_tool(t) for t in tools]
    choice: Any = tool_choice
    if tool_choice in ("any", "required", True):
        choice = "required"
    elif isinstance(tool_choice, str) and tool_choice not in ("auto", "none"):
        choice = {"type": "function", "function": {"name": tool_choice}}
    if isinstance(choice, dict):
        # Forcing one named tool works everywhere as "required" over just that tool.
        name = choice.get("function", {}).get("name")
        chosen = [t for t in formatted if t["function"]["name"] == name]
        if not chosen:
            raise UserError(f"tool_choice names {name!r}, which is not among the tools")
        formatted, choice = chosen, "required"
    return formatted, choice


def structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    method: str,
    include_raw: bool,
    strict: bool | None,
    kwargs: dict[str, Any],
) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
    """``model.with_structured_output(...)``: bind the schema, parse the reply (see there)."""
    if kwargs:
        raise UserError(f"unsupported arguments: {sorted(kwargs)}")
    is_model = isinstance(schema, type) and is_basemodel_subclass(schema)
    tool = convert_to_openai_tool(schema)
    function = tool["function"]
    # Tracing metadata LangChain expects from with_structured_output (standard tests).
    traced = {"kwargs": {"method": method, "strict": strict}, "schema": tool}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        llm = model.bind_tools(
            [schema], tool_choice=function["name"], ls_structured_output_format=traced
        )
        parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_model
            else JsonOutputKeyToolsParser(key_name=function["name"], first_tool_only=True)
        )
    elif method in ("json_schema", "json_mode"):
        response_format: dict[str, Any] = {"type": "json_object"}
        if method == "json_schema":
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": function["name"],
                    "schema": function.get("parameters", {}),
                    "strict": bool(strict) if strict is not None else True,
                },
            }
        llm = model.bind(response_format=response_format, ls_structured_output_format=traced)
        parser = PydanticOutputParser(pydantic_object=schema) if is_model else JsonOutputParser()
    else:
        raise UserError(f"unknown structured-output method {method!r}")
    if not include_raw:
        return llm | parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parse.with_fallbacks([fallback], exception_key="parsing_error")
