"""Pieces of `SpeculativeReasoningChatModel`: per-call settings, messages, metadata.

- `CallSettings`: a call's keyword arguments over the model's fields (reply settings, the
  reasoning config with per-call overrides and the strategy's own options);
- `reply_graph`: a strategy's graph ending without an answer (the chat model replies itself);
- conversions: LangChain messages to the OpenAI shape, the reasoning and reply requests;
- `tool_binding`, `structured_output`: what ``bind_tools`` / ``with_structured_output`` bind;
- `usage_metadata`, `response_metadata`: what a reply's last chunk reports.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import langchain_core
import pydantic
import pydantic_core
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from langgraph.graph.state import CompiledStateGraph

from spec_graph import nodes
from spec_graph.config import ReasoningConfig, SamplingConfig
from spec_graph.errors import UserError
from spec_graph.prompts import ChatMessage, chain_prefix, with_system_note
from spec_graph.state import ReasoningResult
from spec_graph.strategies import Strategy, get_strategy
from spec_graph.usage import Usage

if TYPE_CHECKING:
    from spec_graph.chat_model import SpeculativeReasoningChatModel

REASONING_INSTRUCTION = (
    "Before you reply, think step by step about the conversation. Separate the steps with a "
    "blank line. Stop when you know what to reply."
)
TOOLS_INSTRUCTION = (
    "Your reply can call the tools you have been given. When one of them does what is asked, "
    "plan to call it (with which arguments) rather than working out its result yourself."
)
REPLY_INSTRUCTION = (
    "Now write your reply to my last message, based on the reasoning above, without "
    "repeating the reasoning."
)
REPLY_WITH_TOOLS_INSTRUCTION = (
    "Act on these notes now. If they plan a tool call whose result is not in the conversation "
    "yet, make that call. If the tool results are already above, answer my question directly "
    "with those results (state the values), without repeating the notes."
)
# `ReasoningConfig` fields a caller may override per call (invoke kwargs or .bind()); any other
# keyword that the call's strategy declares as a setting goes to ``ReasoningConfig.options``.
_REASONING_KWARGS = frozenset(ReasoningConfig.model_fields) - {
    "draft_sampling",
    "target_sampling",
    "tools",
}


class CallSettings:
    """Per-call settings: the model's fields overridden by ``invoke``/``bind`` kwargs."""

    def __init__(self, config: ReasoningConfig) -> None:
        self.config = config
        """The call's reasoning settings (validated; the strategy's options included)."""
        self.stop: list[str] = []
        self.temperature: float | None = None
        self.max_tokens: int | None = None
        self.model: str | None = None
        self.tools: list[dict[str, Any]] | None = None
        self.tool_choice: Any = None
        self.response_format: dict[str, Any] | None = None

    @classmethod
    def resolve(
        cls, model: SpeculativeReasoningChatModel, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> CallSettings:
        kwargs = dict(kwargs)
        base = model.reasoner.config if model.reasoner is not None else model.reasoning
        call = cls(base)
        call.stop = list(stop or kwargs.pop("stop", None) or model.stop or [])
        call.temperature = kwargs.pop("temperature", model.temperature)
        call.max_tokens = kwargs.pop("max_tokens", model.max_tokens)
        call.model = kwargs.pop("model", None)
        call.tools = kwargs.pop("tools", None) or None  # create_agent binds tools=[]
        call.tool_choice = kwargs.pop("tool_choice", None)
        call.response_format = kwargs.pop("response_format", None)
        kwargs.pop("ls_structured_output_format", None)  # set by with_structured_output
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in _REASONING_KWARGS}
        strategy = get_strategy(overrides.get("strategy", base.strategy))  # UserError if unknown
        for key in [k for k in kwargs if k in strategy.Settings.model_fields]:
            overrides[key] = kwargs.pop(key)  # the strategy's own setting -> options
        if kwargs:
            own = ", ".join(strategy.Settings.model_fields) or "none"
            msg = (
                f"unsupported arguments for {model._llm_type}: {sorted(kwargs)} (strategy "
                f"{strategy.name!r} takes: {own})"
            )
            raise UserError(msg)
        if call.tools:
            overrides["tools"] = call.tools  # shown to both models while reasoning
        if overrides:
            call.config = base.with_overrides(**overrides)
        return call

    def sampling(self) -> SamplingConfig:
        """The reply's sampling: the target's step sampling at the call's temperature."""
        sampling = self.config.target_sampling
        if self.temperature is not None:
            sampling = sampling.model_copy(update={"temperature": self.temperature})
        return sampling


_REPLY_GRAPHS: weakref.WeakKeyDictionary[Strategy, CompiledStateGraph[Any, Any, Any, Any]] = (
    weakref.WeakKeyDictionary()
)
_REPLY_GRAPHS_LOCK = threading.Lock()


def reply_graph(strategy: Strategy) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``strategy``'s graph ending in `nodes.finish` (compiled once per strategy object).

    No checkpointer of its own, even as a node inside a checkpointed graph.
    """
    with _REPLY_GRAPHS_LOCK:
        graph = _REPLY_GRAPHS.get(strategy)
        if graph is None:
            graph = strategy.build(answer=nodes.finish, checkpointer=False)
            _REPLY_GRAPHS[strategy] = graph
        return graph


_WRAPPER_DIRS = tuple(
    os.path.dirname(m.__file__ or "") + os.sep for m in (pydantic, pydantic_core, langchain_core)
)
_CHAT_FILES = (__file__, os.path.join(os.path.dirname(__file__), "chat_model.py"))


def warn_at_caller(message: str) -> None:
    """Warn (`DeprecationWarning`) at the caller's line.

    The chat model's own frames and those of pydantic's and langchain-core's ``__init__``
    are skipped, so the warning names the user's code and Python's default filters show it
    in scripts.
    """
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and (
        frame.f_code.co_filename in _CHAT_FILES
        or frame.f_code.co_filename.startswith(_WRAPPER_DIRS)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


# -- conversions ------------------------------------------------------------------------------


def to_wire(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> OpenAI dicts; only text content is supported.

    An AI message's own reasoning and tool-call content blocks (``output_version="v1"``) are
    dropped from its content: the reasoning is not fed back, and the calls travel in
    ``tool_calls``.
    """
    messages = [
        m.model_copy(update={"content": m.text}) if isinstance(m, AIMessage) else m
        for m in messages
    ]
    wire = convert_to_openai_messages(messages, text_format="string")
    for message in wire:
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            kinds = sorted({str(b.get("type")) for b in content if isinstance(b, dict)})
            raise UserError(f"only text content is supported; got content blocks of type {kinds}")
        if message.get("content") is None:
            message["content"] = ""
    if not wire:
        raise UserError("no messages to reply to")
    return wire


def with_reasoning_instruction(
    wire: list[dict[str, Any]], tools: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Put the step-by-step instruction in the system message (same prefix for every call).

    With tools bound, the models also see the tools while reasoning (the chat template lists
    them) and are told to plan a call rather than work out by hand what the tool computes.
    """
    instruction = REASONING_INSTRUCTION
    if tools:
        instruction += f"\n\n{TOOLS_INSTRUCTION}"
    noted = with_system_note(cast("list[ChatMessage]", wire), instruction)
    messages = cast("list[dict[str, Any]]", noted)
    # stripped, as always: an empty system message leaves no blank line before the instruction
    messages[0] = {**messages[0], "content": messages[0]["content"].strip()}
    return messages


def reply_messages(
    wire: list[dict[str, Any]],
    reasoning_messages: list[dict[str, Any]],
    steps: Sequence[str],
    call: CallSettings,
) -> list[dict[str, Any]]:
    """The request for the reply, after the kept reasoning ``steps``.

    By default the reasoning stays the model's own (assistant) turn, exactly as the servers
    cached it, followed by a short user turn asking for the reply. When the model must *choose*
    whether to call a tool (tools bound, tool_choice not forced), the reasoning goes into the
    user turn as notes instead: after an assistant turn that "planned" a call, models answer
    as if the call had already happened (seen with Qwen2.5-Coder-1.5B).
    """
    if not steps:
        return wire
    notes = chain_prefix(steps, "\n\n").rstrip()
    if call.tools and call.tool_choice not in ("required", "none"):
        request = (
            "Your reasoning so far (private notes):\n<reasoning>\n"
            f"{notes}\n</reasoning>\n\n{REPLY_WITH_TOOLS_INSTRUCTION}"
        )
        return [*reasoning_messages, {"role": "user", "content": request}]
    return [
        *reasoning_messages,
        {"role": "assistant", "content": notes},
        {"role": "user", "content": REPLY_INSTRUCTION},
    ]


def reasoning_chunk(text: str) -> ChatGenerationChunk:
    """A streamed chunk carrying one kept reasoning step (as reasoning content)."""
    return ChatGenerationChunk(
        message=AIMessageChunk(content="", additional_kwargs={"reasoning_content": text})
    )


def usage_metadata(result: ReasoningResult, reply: Usage) -> dict[str, Any]:
    """LangChain's usage: both models, reasoning (the run's totals) and reply together."""
    t = result.totals
    reasoning_out = t.draft_tokens + t.target_tokens + t.judge_calls  # judge: one token each
    inputs = t.draft_prompt_tokens + t.target_prompt_tokens + reply.prompt_tokens
    outputs = reasoning_out + reply.completion_tokens
    return {
        "input_tokens": inputs,
        "output_tokens": outputs,
        "total_tokens": inputs + outputs,
        "input_token_details": {"cache_read": t.cached_prompt_tokens + reply.cached_tokens},
        "output_token_details": {"reasoning": reasoning_out},
    }


def response_metadata(
    model_name: str,
    result: ReasoningResult,
    reply: Usage,
    finish_reason: str | None,
    reply_s: float,
) -> dict[str, Any]:
    """The run at a glance: strategy, steps, acceptance, its telemetry, timings, per model."""
    t = result.totals
    return {
        "model_name": model_name,
        "model_provider": "spec-graph",
        "finish_reason": finish_reason,
        "strategy": result.strategy,
        "draft_model": result.draft_model,
        "target_model": result.target_model,
        "steps": t.steps,
        "draft_steps": t.draft_steps,
        "target_steps": t.target_steps,
        "acceptance_rate": t.acceptance_rate,
        "judge_calls": t.judge_calls,
        "gated_steps": t.gated_steps,
        "stop_reason": result.stop_reason,
        "telemetry": result.telemetry,
        "timings": {
            "draft_s": t.draft_s,
            "judge_s": t.judge_s,
            "correct_s": t.correct_s,
            "reasoning_s": t.wall_s,
            "reply_s": reply_s,
        },
        "usage_by_model": {
            "draft": {
                "input_tokens": t.draft_prompt_tokens,
                "output_tokens": t.draft_tokens,
            },
            "target": {
                "input_tokens": t.target_prompt_tokens + reply.prompt_tokens,
                "output_tokens": t.target_tokens + t.judge_calls + reply.completion_tokens,
            },
        },
    }


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
            PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
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
        parser = PydanticOutputParser(pydantic_object=schema) if is_model else JsonOutputParser()  # type: ignore[arg-type]
    else:
        raise UserError(f"unknown structured-output method {method!r}")
    if not include_raw:
        return llm | parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parse.with_fallbacks([fallback], exception_key="parsing_error")
