"""`SpeculativeReasoningChatModel`: the speculative-reasoning graph as a LangChain chat model.

Swap it in for ``ChatOpenAI``: the draft model reasons step by step, the target judges and
corrects each step (the graph), then the target writes the reply, with native tool calling
and structured output. The accepted steps come back as reasoning content, the reply as text.

A thin adapter over `spec_graph.reply.reply_stream`: LangChain messages go in as OpenAI
dicts, and the pipeline's events come out as ``AIMessageChunk``:

- `ReasoningDelta` -> ``additional_kwargs["reasoning_content"]`` (one chunk per kept step,
  shown by ``content_blocks`` as reasoning);
- `TextDelta` / `ToolCallDelta` -> the reply token by token (one contiguous text block, or
  ``tool_call_chunks``);
- `ReplyDone` -> a last chunk (``chunk_position="last"``) with usage and metadata.

As ChatOpenAI: one response id per reply, ``model_name`` the served (target) model's,
``llm_output`` with OpenAI's ``token_usage`` (`._results`), and token counts by the target's
own tokenizer (`._tokens`); the reasoning graph stays out of the caller's events
(`._isolation`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing
from typing import Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import (
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator

from spec_graph._sync import run_sync
from spec_graph.backends import backend_for
from spec_graph.chat_models._env_defaults import (
    chat_reasoning_defaults,
    defaults_from_env,
    with_limits,
)
from spec_graph.chat_models._isolation import isolated
from spec_graph.chat_models._messages import ChunkMapper, to_wire
from spec_graph.chat_models._profile import EMBEDDED_N_CTX, chat_profile
from spec_graph.chat_models._results import chat_result, combine_llm_outputs
from spec_graph.chat_models._structured import structured_output, tool_binding
from spec_graph.chat_models._threads import ThreadedCalls, current_thread
from spec_graph.chat_models._tokens import TargetTokenCounts
from spec_graph.config import EndpointConfig, ReasoningConfig
from spec_graph.embedded import EmbeddedModels, get_profile
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.reply import CallSettings
from spec_graph.reply.pipeline import run_reply
from spec_graph.slots import Slots

__all__ = ["EMBEDDED_N_CTX", "SpeculativeReasoningChatModel"]


class SpeculativeReasoningChatModel(TargetTokenCounts, ThreadedCalls):
    """Speculative reasoning (draft writes, target judges and corrects) as a chat model.

    Setup:
        Embedded local models (fetched on first use)::

            model = SpeculativeReasoningChatModel(embedded_profile="tiny")

        Your own servers (vLLM in production)::

            model = SpeculativeReasoningChatModel(
                draft=EndpointConfig(base_url="http://127.0.0.1:8001/v1", model="draft"),
                target=EndpointConfig(base_url="http://127.0.0.1:8000/v1", model="target"),
            )

        Another strategy: ``reasoning=ReasoningConfig(strategy="scot", options={"n": 3})``, or
        per call ``model.invoke(q, strategy="best-of-n", k=3)``.

        A customised graph: ``SpeculativeReasoningChatModel(reasoner=SpeculativeReasoner(...,
        graph=build_graph(draft=my_draft, answer=nodes.finish)))``.

    Invoke:
        .. code-block:: python

            msg = model.invoke("How many primes are below 20?")
            msg.content  # the reply
            msg.additional_kwargs["reasoning_content"]  # the kept reasoning steps
            msg.response_metadata["acceptance_rate"]
            msg.response_metadata["telemetry"]  # the strategy's own (e.g. SCoT's selection)

    Per-call settings: ``stop``, ``temperature``, ``max_tokens`` (of the reply), any
    `ReasoningConfig` field (``threshold``, ``strategy`` = any registered strategy, ...), the
    call's strategy's own settings by name (``n=3`` for ``scot``, ``k=3`` for ``best-of-n``;
    or ``options={...}``), and ``model`` (the name traced).

    ``profile`` is LangChain's `ModelProfile` (what the model supports, its context size), as
    on every chat model; the embedded models are chosen by ``embedded_profile``.
    """

    # hide_input_in_errors: a validation error must never print the api_key it was given
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    model_name: str = Field(default="spec-graph", alias="model")
    """Name reported in traces; ``response_metadata["model_name"]`` is the served target's
    (a per-call ``model=`` names both)."""
    embedded_profile: str = "default"
    """Embedded profile for any role without an endpoint (``default``, ``tiny``, ...; env
    ``SPEC_GRAPH_PROFILE``)."""
    draft: EndpointConfig | None = None
    """The draft model's server; None: the profile's embedded draft."""
    target: EndpointConfig | None = None
    """The target model's server; None: the profile's embedded target."""
    reasoning: ReasoningConfig = Field(default_factory=chat_reasoning_defaults)
    """Speculation settings (strategy and its options, threshold, budgets, sampling of steps)."""
    temperature: float | None = None
    """Sampling temperature of the reply (default: the target's step sampling)."""
    max_tokens: int | None = 1024
    """Longest reply (the reasoning has its own ``reasoning.token_budget``); None: the
    server's own limit, which on llama.cpp is the whole context."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences of the reply."""
    max_concurrency: int = Field(default=4, ge=1)
    """Most runs of this model at once (``batch``, concurrent ``ainvoke``/``astream`` alike);
    the rest wait their turn, so 200 callers do not each get 1/200 of the servers."""
    timeout: float | None = Field(default=None, gt=0)
    """Deadline of each call to either server, seconds (their ``timeout_s``); None: theirs."""
    max_retries: int | None = Field(default=None, ge=0)
    """Retries of a transient failure, both servers (their ``max_retries``); None: theirs."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """Key for both servers, where their `EndpointConfig` has none; never shown."""
    streaming: bool = False
    """``invoke`` reports tokens to callbacks as they come (the servers are always streamed)."""
    checkpointer: Any = Field(default=None, exclude=True)
    """For durable threads: with a LangGraph checkpointer (`spec_graph.threads`), a call
    made with ``config={"configurable": {"thread_id": ...}}`` saves its reasoning run, and
    the same call again after a crash resumes it instead of starting over."""
    reasoner: Any = Field(default=None, exclude=True)
    """A prebuilt `SpeculativeReasoner` (e.g. with your own graph); overrides the endpoints."""

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_env(cls, data: Any) -> Any:
        """Fill what the caller left out from ``SPEC_GRAPH_...`` env vars (`defaults_from_env`)."""
        known = {*cls.model_fields, *(f.alias for f in cls.model_fields.values() if f.alias)}
        return defaults_from_env(data, known)

    @field_validator("embedded_profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        get_profile(value)  # UserError (a ValueError) listing the known profiles
        return value

    _built: SpeculativeReasoner | None = PrivateAttr(default=None)
    _run_slots: Slots | None = PrivateAttr(default=None)
    _build_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # -- identity ----------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "speculative-reasoning"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "embedded_profile": self.embedded_profile,
            "draft": self.draft.model if self.draft else None,
            "target": self.target.model if self.target else None,
            "strategy": self.reasoning.strategy,
            "threshold": getattr(self.reasoning.strategy_settings, "threshold", None),
        }

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What LangChain (e.g. ``create_agent``) may rely on (`chat_profile`)."""
        return chat_profile(
            prebuilt=self.reasoner is not None, draft=self.draft, target=self.target
        )

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

    def _slots(self) -> Slots:
        with self._build_lock:
            if self._run_slots is None or self._run_slots.limit != self.max_concurrency:
                self._run_slots = Slots(self.max_concurrency)
            return self._run_slots

    def _reasoner(self) -> SpeculativeReasoner:
        """The given reasoner, or one over the endpoints / embedded models (built once)."""
        if self.reasoner is not None:
            return cast("SpeculativeReasoner", self.reasoner)
        with self._build_lock:
            if self._built is None:
                draft, target = self.draft, self.target
                if draft is None or target is None:
                    embedded = EmbeddedModels.shared(self.embedded_profile)
                    draft, target = draft or embedded.draft, target or embedded.target
                limits = (self.timeout, self.max_retries, self.api_key)
                draft, target = with_limits(draft, *limits), with_limits(target, *limits)
                self._built = SpeculativeReasoner(
                    backend_for(draft),
                    backend_for(target),
                    self.reasoning,
                    checkpointer=self.checkpointer,
                )
            return self._built

    def _token_backend(self) -> Any:
        return self._reasoner().target  # its server counts tokens (`TargetTokenCounts`)

    # -- generation --------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return chat_result(list(self._stream(messages, stop, run_manager, **kwargs)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return chat_result([c async for c in self._astream(messages, stop, run_manager, **kwargs)])

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None], /) -> dict[str, Any]:
        return combine_llm_outputs(llm_outputs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream = cast(
            "AsyncGenerator[ChatGenerationChunk, None]",
            # _astream runs on run_sync's loop, outside this context: the thread goes along
            self._astream(messages, stop, None, **kwargs, _thread_id=current_thread()),
        )
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
        kwargs = dict(kwargs)
        thread_id = kwargs.pop("_thread_id", None) or current_thread()
        model_name = kwargs.pop("model", None)  # the name traced; None: the target's
        kwargs.pop("ls_structured_output_format", None)  # set by with_structured_output
        kwargs.pop("stream", None)  # LangChain's stream=True/False: it chose _stream already
        wire = to_wire(messages)
        # Resolved before the models are built: a bad argument never starts embedded servers.
        call = CallSettings.resolve(
            self.reasoner.config if self.reasoner is not None else self.reasoning,
            tools=kwargs.pop("tools", None),
            tool_choice=kwargs.pop("tool_choice", None),
            parallel_tool_calls=kwargs.pop("parallel_tool_calls", None),
            response_format=kwargs.pop("response_format", None),
            max_tokens=kwargs.pop("max_tokens", self.max_tokens),
            stop=list(stop or kwargs.pop("stop", None) or self.stop or []),
            temperature=kwargs.pop("temperature", self.temperature),
            overrides=kwargs,
            caller=self._llm_type,
            thread_id=thread_id if self._saves_threads() else None,
        )
        mapper = ChunkMapper(model_name, block_indexes=self.output_version == "v1")
        # At most max_concurrency runs of this model at once; closing early stops the
        # servers' work.
        # Building it may fetch and start embedded models: off the loop (langgraph dev's guard)
        ready = self.reasoner is not None or self._built is not None
        reasoner = self._reasoner() if ready else await asyncio.to_thread(self._reasoner)
        async with (
            self._slots().taken(),
            aclosing(run_reply(reasoner, wire, call)) as events,
        ):
            async for event in isolated(events):  # the caller's callbacks see this model only
                yield mapper.chunk(event)

    # -- batch, tools, structured output -----------------------------------------------------

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
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
    ) -> list[AIMessage]:
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
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind OpenAI-format tools; the target calls them natively after reasoning.

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (must call
        one), or a tool name (must call that one). ``parallel_tool_calls=False``: at most one
        call per reply (asked of the server; a reply that makes more keeps the first).
        """
        formatted, choice = tool_binding(tools, tool_choice)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
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
        return structured_output(self, schema, method, include_raw, strict, kwargs)
