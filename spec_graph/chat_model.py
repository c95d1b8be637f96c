"""`SpeculativeReasoningChatModel`: the speculative-reasoning graph as a LangChain chat model.

Swap it in for ``ChatOpenAI``: the draft model reasons step by step, the target judges and
corrects each step (the graph), then the target writes the reply, with native tool calling
and structured output. The accepted steps come back as reasoning content, the reply as text.

Streaming order (the standard-test contract): one chunk per kept reasoning step, as soon as it
is kept (``additional_kwargs["reasoning_content"]``, shown by ``content_blocks`` as reasoning),
then the reply token by token (one contiguous text block, or ``tool_call_chunks``), then a last
chunk (``chunk_position="last"``) with usage and metadata.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from spec_graph import nodes
from spec_graph._sync import run_sync
from spec_graph.backends.openai_compat import OpenAICompatibleBackend
from spec_graph.config import EndpointConfig, ReasoningConfig, SpecGraphSettings
from spec_graph.errors import UserError
from spec_graph.graph import build_graph
from spec_graph.local import EmbeddedModels
from spec_graph.prompts import chain_prefix
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult, Step

__all__ = ["SpeculativeReasoningChatModel"]

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
# Settings a caller may override per call (invoke kwargs or .bind()).
_REASONING_KWARGS = frozenset(ReasoningConfig.model_fields) - {
    "draft_sampling",
    "target_sampling",
    "tools",
}


def _chat_reasoning_defaults() -> ReasoningConfig:
    # A chat turn is shorter than a competition proof: cap the chain so a reply comes fast.
    return ReasoningConfig(token_budget=1024, max_steps=16, max_step_tokens=256)


class SpeculativeReasoningChatModel(BaseChatModel):
    """Speculative reasoning (draft writes, target judges and corrects) as a chat model.

    Setup:
        Embedded local models (fetched on first use)::

            model = SpeculativeReasoningChatModel(profile="tiny")

        Your own servers (vLLM in production)::

            model = SpeculativeReasoningChatModel(
                draft=EndpointConfig(base_url="http://127.0.0.1:8001/v1", model="draft"),
                target=EndpointConfig(base_url="http://127.0.0.1:8000/v1", model="target"),
            )

        A customised graph: ``SpeculativeReasoningChatModel(reasoner=SpeculativeReasoner(...,
        graph=build_graph(draft=my_draft, answer=nodes.finish)))``.

    Invoke:
        .. code-block:: python

            msg = model.invoke("How many primes are below 20?")
            msg.content  # the reply
            msg.additional_kwargs["reasoning_content"]  # the kept reasoning steps
            msg.response_metadata["acceptance_rate"]

    Per-call settings: ``stop``, ``temperature``, ``max_tokens`` (of the reply), any
    `ReasoningConfig` field (``threshold``, ``strategy``, ...) and ``model`` (the name traced).
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model_name: str = Field(default="spec-graph", alias="model")
    """Name reported in traces and ``response_metadata`` (a per-call ``model=`` overrides it)."""
    profile: str = "default"
    """Embedded profile for any role without an endpoint (``default`` or ``tiny``)."""
    draft: EndpointConfig | None = None
    """The draft model's server; None: the profile's embedded draft."""
    target: EndpointConfig | None = None
    """The target model's server; None: the profile's embedded target."""
    reasoning: ReasoningConfig = Field(default_factory=_chat_reasoning_defaults)
    """Speculation settings (threshold, strategy, budgets, sampling of steps)."""
    temperature: float | None = None
    """Sampling temperature of the reply (default: the target's step sampling)."""
    max_tokens: int | None = 1024
    """Longest reply (the reasoning has its own ``reasoning.token_budget``); None: the
    server's own limit, which on llama.cpp is the whole context."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences of the reply."""
    max_concurrency: int = Field(default=4, ge=1)
    """Default bound on concurrent requests in ``batch``/``abatch``."""
    reasoner: Any = Field(default=None, exclude=True)
    """A prebuilt `SpeculativeReasoner` (e.g. with your own graph); overrides the endpoints."""

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_env(cls, data: Any) -> Any:
        """Fill what the caller left out from ``SPEC_GRAPH_...`` env vars (`SpecGraphSettings`)."""
        if not isinstance(data, dict):
            return data
        settings = SpecGraphSettings()
        data = dict(data)
        for role in ("draft", "target"):
            if data.get(role) is None and (endpoint := settings.endpoint(role)) is not None:
                data[role] = endpoint
        if "profile" not in data and "SPEC_GRAPH_PROFILE" in os.environ:
            data["profile"] = settings.profile
        return data

    _built: SpeculativeReasoner | None = PrivateAttr(default=None)
    _build_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # -- identity ----------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "speculative-reasoning"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "profile": self.profile,
            "draft": self.draft.model if self.draft else None,
            "target": self.target.model if self.target else None,
            "strategy": self.reasoning.strategy.value,
            "threshold": self.reasoning.threshold,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="spec-graph",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        if max_tokens := kwargs.get("max_tokens", self.max_tokens):
            params["ls_max_tokens"] = max_tokens
        if stop := stop or kwargs.get("stop") or self.stop:
            params["ls_stop"] = stop
        return params

    # -- models ------------------------------------------------------------------------------

    def _reasoner(self) -> SpeculativeReasoner:
        if self.reasoner is not None:
            return self.reasoner
        with self._build_lock:
            if self._built is None:
                draft, target = self.draft, self.target
                if draft is None or target is None:
                    embedded = EmbeddedModels.shared(self.profile)
                    draft, target = draft or embedded.draft, target or embedded.target
                self._built = SpeculativeReasoner(
                    OpenAICompatibleBackend(draft),
                    OpenAICompatibleBackend(target),
                    self.reasoning,
                    graph=build_graph(answer=nodes.finish, checkpointer=False),
                )
            return self._built

    # -- generation --------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream = self._astream(messages, stop, None, **kwargs)
        try:
            while True:
                try:
                    chunk = run_sync(stream.__anext__())
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            run_sync(stream.aclose())  # closing early stops the servers' work

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = _CallSettings.resolve(self, stop, kwargs)
        reasoner = self._reasoner()
        wire = _to_wire(messages)
        reasoning_messages = _with_reasoning_instruction(wire, call.tools)
        if call.tools:
            call.reasoning["tools"] = call.tools
        steps: list[str] = []
        result: ReasoningResult | None = None
        async for item in reasoner.astream(
            messages=reasoning_messages,
            run_config={"tags": [TAG_NOSTREAM], "callbacks": None},
            **call.reasoning,
        ):
            if isinstance(item, Step):
                if item.text.strip():
                    steps.append(item.text)
                    yield _reasoning_chunk(item.text + reasoner.config.step_delimiter)
            else:
                result = item
        assert result is not None
        reply_messages = _reply_messages(wire, reasoning_messages, steps, call)
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0}
        finish_reason = None
        text_emitted = False
        reply_started = asyncio.get_running_loop().time()
        async for piece in reasoner.target.stream_reply(
            reply_messages,
            max_tokens=call.max_tokens,
            stop=call.stop,
            sampling=call.sampling(reasoner),
            tools=call.tools,
            tool_choice=call.tool_choice,
            response_format=call.response_format,
        ):
            if piece.has_usage:
                usage = {
                    "prompt_tokens": piece.prompt_tokens,
                    "completion_tokens": piece.completion_tokens,
                    "cached_tokens": piece.cached_tokens,
                }
            finish_reason = piece.finish_reason or finish_reason
            if piece.text or piece.tool_calls:
                # Tool-call indexes double as content-block indexes in output_version="v1":
                # number them after the reasoning and text blocks so blocks never merge.
                offset = int(bool(steps)) + int(text_emitted)
                text_emitted = text_emitted or bool(piece.text)
                chunk = AIMessageChunk(
                    content=piece.text,
                    tool_call_chunks=[
                        tool_call_chunk(name=t.name, args=t.args, id=t.id, index=t.index + offset)
                        for t in piece.tool_calls
                    ],
                )
                yield ChatGenerationChunk(message=chunk)
        reply_s = asyncio.get_running_loop().time() - reply_started
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=_usage_metadata(result, usage),
                response_metadata=_response_metadata(
                    call.model or self.model_name, result, usage, finish_reason, reply_s
                ),
                chunk_position="last",
            )
        )

    # -- batch, tools, structured output -----------------------------------------------------

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[BaseMessage]:
        """Run several conversations concurrently (at most ``max_concurrency`` at once)."""
        return super().batch(
            inputs, self._bounded(config), return_exceptions=return_exceptions, **kwargs
        )

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[BaseMessage]:
        """Async `batch`, bounded the same way."""
        return await super().abatch(
            inputs, self._bounded(config), return_exceptions=return_exceptions, **kwargs
        )

    def _bounded(
        self, config: RunnableConfig | list[RunnableConfig] | None
    ) -> RunnableConfig | list[RunnableConfig]:
        if isinstance(config, list):
            return [{"max_concurrency": self.max_concurrency, **c} for c in config]
        return {"max_concurrency": self.max_concurrency, **(config or {})}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, BaseMessage]:
        """Bind OpenAI-format tools; the target calls them natively after reasoning.

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (must call
        one), or a tool name (must call that one).
        """
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
        return super().bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Reply as an instance of ``schema`` (pydantic model, TypedDict or JSON schema).

        ``json_schema`` (default) constrains the target's reply to the schema on the server
        (llama.cpp grammar, vLLM guided decoding); ``function_calling`` forces a tool call;
        ``json_mode`` asks for any JSON object.
        """
        if kwargs:
            raise UserError(f"unsupported arguments: {sorted(kwargs)}")
        is_model = isinstance(schema, type) and is_basemodel_subclass(schema)
        tool = convert_to_openai_tool(schema)
        function = tool["function"]
        # Tracing metadata LangChain expects from with_structured_output (standard tests).
        traced = {"kwargs": {"method": method, "strict": strict}, "schema": tool}
        parser: Runnable[Any, Any]
        if method == "function_calling":
            llm = self.bind_tools(
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
            llm = self.bind(response_format=response_format, ls_structured_output_format=traced)
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_model else JsonOutputParser()
            )  # type: ignore[arg-type]
        else:
            raise UserError(f"unknown structured-output method {method!r}")
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )


class _CallSettings:
    """Per-call settings: constructor fields overridden by ``invoke``/``bind`` kwargs."""

    def __init__(self) -> None:
        self.reasoning: dict[str, Any] = {}
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
    ) -> _CallSettings:
        call = cls()
        kwargs = dict(kwargs)
        call.stop = list(stop or kwargs.pop("stop", None) or model.stop or [])
        call.temperature = kwargs.pop("temperature", model.temperature)
        call.max_tokens = kwargs.pop("max_tokens", model.max_tokens)
        call.model = kwargs.pop("model", None)
        call.tools = kwargs.pop("tools", None)
        call.tool_choice = kwargs.pop("tool_choice", None)
        call.response_format = kwargs.pop("response_format", None)
        kwargs.pop("ls_structured_output_format", None)  # set by with_structured_output
        call.reasoning = {k: kwargs.pop(k) for k in list(kwargs) if k in _REASONING_KWARGS}
        if kwargs:
            raise UserError(f"unsupported arguments for {model._llm_type}: {sorted(kwargs)}")
        return call

    def sampling(self, reasoner: SpeculativeReasoner) -> Any:
        sampling = reasoner.config.target_sampling
        if self.temperature is not None:
            sampling = sampling.model_copy(update={"temperature": self.temperature})
        return sampling


# -- conversions ------------------------------------------------------------------------------


def _to_wire(messages: list[BaseMessage]) -> list[dict[str, Any]]:
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


def _with_reasoning_instruction(
    wire: list[dict[str, Any]], tools: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Put the step-by-step instruction in the system message (same prefix for every call).

    With tools bound, the models also see the tools while reasoning (the chat template lists
    them) and are told to plan a call rather than work out by hand what the tool computes.
    """
    instruction = REASONING_INSTRUCTION
    if tools:
        instruction += f"\n\n{TOOLS_INSTRUCTION}"
    messages = list(wire)
    if messages and messages[0]["role"] == "system":
        text = f"{messages[0]['content']}\n\n{instruction}".strip()
        messages[0] = {**messages[0], "content": text}
    else:
        messages.insert(0, {"role": "system", "content": instruction})
    return messages


def _reply_messages(
    wire: list[dict[str, Any]],
    reasoning_messages: list[dict[str, Any]],
    steps: Sequence[str],
    call: _CallSettings,
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


def _reasoning_chunk(text: str) -> ChatGenerationChunk:
    return ChatGenerationChunk(
        message=AIMessageChunk(content="", additional_kwargs={"reasoning_content": text})
    )


def _usage_metadata(result: ReasoningResult, reply: dict[str, int]) -> dict[str, Any]:
    t = result.totals
    reasoning_out = t.draft_tokens + t.target_tokens + t.judge_calls  # judge: one token each
    inputs = t.draft_prompt_tokens + t.target_prompt_tokens + reply["prompt_tokens"]
    outputs = reasoning_out + reply["completion_tokens"]
    return {
        "input_tokens": inputs,
        "output_tokens": outputs,
        "total_tokens": inputs + outputs,
        "input_token_details": {"cache_read": t.cached_prompt_tokens + reply["cached_tokens"]},
        "output_token_details": {"reasoning": reasoning_out},
    }


def _response_metadata(
    model_name: str,
    result: ReasoningResult,
    reply: dict[str, int],
    finish_reason: str | None,
    reply_s: float,
) -> dict[str, Any]:
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
        "stop_reason": result.stop_reason,
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
                "input_tokens": t.target_prompt_tokens + reply["prompt_tokens"],
                "output_tokens": t.target_tokens + t.judge_calls + reply["completion_tokens"],
            },
        },
    }
