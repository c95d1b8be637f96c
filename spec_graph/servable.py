"""`servable_graph`: the reasoning graph for LangGraph Server, configured by plain data.

A strategy's own graph takes live backend objects as its runtime context (`SpecContext`),
which a server cannot send: ``langgraph dev`` over it fails on the first run with
``SpecContext.__init__() missing ... 'draft' and 'target'``. The graph built here takes a
`ServedContext` instead (endpoints, embedded profile, strategy, options: JSON), builds the
backends when a run starts, runs the strategy's graph as a subgraph with a `SpecContext`
over them, and closes them when the run ends. The same graph runs in-process::

    graph = servable_graph()
    await graph.ainvoke({"question": "What is 7 * 6?"}, context={"profile": "tiny"})

and under LangGraph Server (``integrations/langgraph-server/``), where a run's ``context``
is the same JSON. What the context leaves out comes from `SpecGraphSettings` (env
``SPEC_GRAPH_TARGET__BASE_URL``, ``SPEC_GRAPH_PROFILE``, ``SPEC_GRAPH_REASONING__...``, the
tuned settings file); a role with no endpoint anywhere gets the profile's embedded model.

A thread is a conversation: after a run its ``messages`` hold the conversation and the
answer, and a new ``question`` on the thread is asked as the next turn. A run that stopped
mid-chain (a crash, a restart) resumes from the subgraph's last checkpoint when the thread
is run again without input.

Blocking work (reading the settings file, fetching and starting embedded models) runs in a
worker thread, so LangGraph Server's blocking-call guard never trips on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from spec_graph._deadline import within
from spec_graph.backends import backend_for
from spec_graph.backends.base import ModelBackend
from spec_graph.config import ROLES, EndpointConfig, ReasoningConfig, Role, SpecGraphSettings
from spec_graph.embedded import EmbeddedModels, get_profile
from spec_graph.errors import RunTimeoutError, UserError
from spec_graph.nodes import SpecContext
from spec_graph.prompts import ChatMessage, problem_messages
from spec_graph.reasoner import _SUPERSTEPS_PER_STEP, SpeculativeReasoner
from spec_graph.state import StopReason, summarize
from spec_graph.strategies import get_strategy, strategy_names
from spec_graph.threads import run_input
from spec_graph.tools import ToolLimits

__all__ = [
    "ServedContext",
    "ServedInput",
    "ServedState",
    "open_backends",
    "reasoner_from_settings",
    "servable_graph",
]


class ServedContext(BaseModel):
    """A run's configuration as plain data (LangGraph ``context``); every field optional.

    Left out: the settings' value (`SpecGraphSettings`: env vars, the settings file).

    Keep API keys out of it: a server stores a run's context with the run. Give them to the
    server's environment (``SPEC_GRAPH_TARGET__API_KEY``), with the endpoints.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: EndpointConfig | None = None
    """The draft model's server; None: the settings' (``SPEC_GRAPH_DRAFT__...``), else embedded."""
    target: EndpointConfig | None = None
    """The target model's server; None: the settings', else the profile's embedded target."""
    profile: str | None = None
    """Embedded model pair for a role with no endpoint (``tiny``, ``default``); None: the
    settings' (``SPEC_GRAPH_PROFILE``)."""
    strategy: str | None = None
    """A registered strategy (``specreason``, ``scot``, ...); None: the graph's default."""
    options: dict[str, Any] = Field(default_factory=dict)
    """`ReasoningConfig` fields and the strategy's own settings, as ``SpeculativeReasoner``
    takes them per call: ``{"threshold": 7, "max_steps": 12}``."""

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None:
            get_profile(value)
        return value

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str | None) -> str | None:
        if value is not None and value not in strategy_names():
            raise ValueError(f"unknown strategy {value!r}; known: {', '.join(strategy_names())}")
        return value


class ServedInput(TypedDict, total=False):
    """A run's input: a ``question``, or a whole conversation (``messages``, ending with a user turn)."""

    question: str
    messages: list[ChatMessage]


class ServedState(ServedInput, total=False):
    """What a thread keeps: the last run's chain, answer and cost, and the conversation.

    Plain JSON, as a server's clients read it and any checkpointer stores it: ``steps`` are
    `Step` records dumped (``Step.model_validate`` reads one back), ``totals`` is `RunTotals`.
    """

    steps: list[dict[str, Any]]
    context: list[dict[str, Any]]
    answer: str | None
    stop_reason: StopReason | None
    totals: dict[str, Any]
    telemetry: dict[str, Any]
    strategy: str
    models: dict[str, str]
    """The served model names, ``{"draft": ..., "target": ...}``."""


@dataclass(frozen=True)
class _Plan:
    """A run resolved from its context and the settings: the config and both endpoints."""

    config: ReasoningConfig
    draft: EndpointConfig
    target: EndpointConfig
    tool_limits: ToolLimits


def _plan(served: ServedContext, strategy: str | None) -> _Plan:
    """Resolve a run (blocking: reads the settings file, may fetch and start models)."""
    settings = SpecGraphSettings()
    config = settings.reasoning
    chosen = served.strategy or strategy
    overrides = {**({"strategy": chosen} if chosen else {}), **served.options}
    if overrides:
        config = config.with_overrides(**overrides)
    draft, target = _endpoints(
        settings, {role: getattr(served, role) for role in ROLES}, served.profile
    )
    return _Plan(config=config, draft=draft, target=target, tool_limits=settings.tools)


def _endpoints(
    settings: SpecGraphSettings, given: Mapping[Role, EndpointConfig | None], profile: str | None
) -> tuple[EndpointConfig, EndpointConfig]:
    """The draft and target endpoints: given, else the settings', else embedded (blocking)."""
    found = {role: given.get(role) or settings.endpoint(role) for role in ROLES}
    if None in found.values():
        embedded = EmbeddedModels.shared(profile or settings.profile)
        for role in ROLES:
            if found[role] is None:
                found[role] = settings.apply(role, getattr(embedded, role))
    draft, target = found["draft"], found["target"]
    assert draft is not None
    assert target is not None
    return draft, target


@dataclass
class _Shared:
    backend: ModelBackend
    users: int = 0


_OPEN: dict[tuple[str, int], _Shared] = {}
"""Backends in use, by endpoint and event loop: runs in flight on one loop share a backend
(one connection pool, one server probe); the last run to finish closes it."""


@contextlib.asynccontextmanager
async def open_backends(
    *endpoints: EndpointConfig,
) -> AsyncIterator[tuple[ModelBackend, ...]]:
    """Backends for ``endpoints``, closed on exit (when no other run on this loop uses them).

    The same endpoint twice (one server for both roles) is one backend.
    """
    loop = id(asyncio.get_running_loop())
    keys: list[tuple[str, int]] = []
    try:
        for endpoint in endpoints:
            secret = endpoint.api_key.get_secret_value() if endpoint.api_key else ""
            key = (endpoint.model_dump_json() + secret, loop)
            if key not in _OPEN:
                backend = await asyncio.to_thread(backend_for, endpoint)
                if key in _OPEN:  # another run built one meanwhile
                    await backend.aclose()
                else:
                    _OPEN[key] = _Shared(backend)
            _OPEN[key].users += 1
            keys.append(key)
        yield tuple(_OPEN[key].backend for key in keys)
    finally:
        for key in keys:
            shared = _OPEN[key]
            shared.users -= 1
            if shared.users == 0:
                del _OPEN[key]
                await shared.backend.aclose()


def _inner_input(state: ServedState, system_prompt: str | None) -> dict[str, Any]:
    """The strategy graph's input: this turn, after the thread's conversation if there is one."""
    question = (state.get("question") or "").strip()
    messages = list(state.get("messages") or [])
    if messages and messages[-1]["role"] == "assistant":  # the thread's conversation so far
        if not question:
            raise UserError("a thread's next run needs a question (or messages ending with one)")
        fresh = {"question": question}
        return cast(
            "dict[str, Any]",
            run_input(
                {"messages": messages},
                False,
                fresh,
                resume=False,
                thread_id="",
                system_prompt=system_prompt,
            ),
        )
    if messages:  # the caller sent the conversation, ending with the user's turn
        return {"question": _last_user_text(messages) or question, "messages": messages}
    if not question:
        raise UserError("the question is empty")
    return {"question": question}


def _last_user_text(messages: list[ChatMessage]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return str(message["content"])
    return ""


async def _run_chain(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    graph_input: dict[str, Any],
    config: RunnableConfig,
    ctx: SpecContext,
    write: Callable[[Any], None],
) -> dict[str, Any]:
    """Run the strategy's graph to its end; each kept step is also written to ``custom``."""
    final: dict[str, Any] = {}
    stream = graph.astream(graph_input, config, context=ctx, stream_mode=["updates", "values"])
    try:
        async for mode, chunk in stream:
            if mode == "values":
                final = cast("dict[str, Any]", chunk)
                continue
            for update in cast("dict[str, Any]", chunk).values():
                for step in (update or {}).get("steps", []) if isinstance(update, dict) else []:
                    write({"step": step.model_dump(mode="json")})
    finally:
        close = getattr(stream, "aclose", None)  # a stopped run stops its nodes now
        if close is not None:
            await close()
        await ctx.cancel_prefetched()  # pipelining: never leave an early draft running
    return final


def _reason_node(
    strategy: str | None,
) -> Callable[..., Any]:
    async def reason(
        state: ServedState, config: RunnableConfig, runtime: Runtime[ServedContext]
    ) -> dict[str, Any]:
        served = runtime.context if isinstance(runtime.context, ServedContext) else None
        plan = await asyncio.to_thread(_plan, served or ServedContext(), strategy)
        chosen = get_strategy(plan.config.strategy)
        graph = chosen.graph()
        graph_input = _inner_input(state, plan.config.system_prompt)
        run = cast(
            "RunnableConfig",
            {**config, "recursion_limit": plan.config.max_steps * _SUPERSTEPS_PER_STEP + 8},
        )
        async with open_backends(plan.draft, plan.target) as (draft, target):
            ctx = SpecContext(
                draft=draft,
                target=target,
                config=plan.config,
                strategy=chosen,
                options=chosen.options(plan.config),
                tool_limits=plan.tool_limits,
            )
            started = asyncio.get_running_loop().time()
            chain = _run_chain(graph, graph_input, run, ctx, runtime.stream_writer)
            seconds = plan.config.run_timeout_s
            try:
                final = await (chain if seconds is None else within(chain, seconds))
            except asyncio.TimeoutError:
                msg = f"the run did not finish within its {seconds:g} s deadline (run_timeout_s)"
                raise RunTimeoutError(msg) from None
            elapsed = asyncio.get_running_loop().time() - started
        answer = final.get("answer")
        conversation = list(
            final.get("messages")
            or problem_messages(graph_input["question"], plan.config.system_prompt)
        )
        reply = f"\\boxed{{{answer}}}" if answer else "(no answer)"
        return {
            "question": graph_input["question"],
            "messages": [*conversation, {"role": "assistant", "content": reply}],
            "steps": [step.model_dump(mode="json") for step in final.get("steps", [])],
            "context": [item.model_dump(mode="json") for item in final.get("context", [])],
            "answer": answer,
            "stop_reason": final.get("stop_reason"),
            "totals": summarize(cast("Any", final), elapsed).model_dump(mode="json"),
            "telemetry": _json(chosen.telemetry(final)),
            "strategy": chosen.name,
            "models": {"draft": draft.model_name, "target": target.model_name},
        }

    return reason


def _json(value: Any) -> Any:
    """``value`` with any pydantic records in it dumped to JSON data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def servable_graph(
    strategy: str | None = None,
    *,
    checkpointer: Checkpointer = None,
    name: str = "spec-graph",
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The reasoning graph with a serializable context (`ServedContext`), for any server.

    Args:
        strategy: the strategy when a run's context names none (None: the settings',
            ``SPEC_GRAPH_REASONING__STRATEGY``, else the package default).
        checkpointer: for durable threads in-process; leave it out under LangGraph Server,
            which brings its own.
        name: the compiled graph's name (shown in traces and by the server).

    Example:
        >>> graph = servable_graph("specreason")  # doctest: +SKIP
        >>> await graph.ainvoke({"question": "2+2?"}, context={"profile": "tiny"})  # doctest: +SKIP
    """
    if strategy is not None:
        get_strategy(strategy)  # an unknown name fails here, not on the first run
    builder = StateGraph(ServedState, context_schema=ServedContext, input_schema=ServedInput)
    builder.add_node("reason", _reason_node(strategy))
    builder.add_edge(START, "reason")
    builder.add_edge("reason", END)
    return builder.compile(checkpointer=checkpointer, name=name)


def reasoner_from_settings(settings: SpecGraphSettings | None = None) -> SpeculativeReasoner:
    """A `SpeculativeReasoner` over the settings' endpoints (embedded models for the rest).

    Blocking (it may fetch and start the embedded models): call it from a worker thread, as
    `spec_graph.serve.create_app` does with a function it is given. The embedded servers
    are the process's shared ones (`EmbeddedModels.shared`), stopped at exit.
    """
    settings = settings or SpecGraphSettings()
    draft, target = _endpoints(settings, {}, None)
    return SpeculativeReasoner(
        backend_for(draft),
        backend_for(target),
        settings.reasoning,
        tool_limits=settings.tools,
    )
