"""`SpeculativeReasoner`: run the graph on a question and get the chain, the answer and the cost.

A thin, typed front door over the compiled graph: it builds the input, passes the models and
settings as the run's context, bounds the recursion, streams kept steps as they land, and turns
the final state into a `ReasoningResult`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from spec_graph._deadline import within
from spec_graph._sync import run_sync
from spec_graph.backends import backend_for
from spec_graph.backends.base import ModelBackend
from spec_graph.config import EndpointConfig, ReasoningConfig
from spec_graph.errors import RunTimeoutError, UserError
from spec_graph.judging import StepScorer
from spec_graph.nodes import SpecContext
from spec_graph.prompts import ChatMessage
from spec_graph.state import ReasoningResult, SpecState, Step, summarize
from spec_graph.strategies import Strategy, get_strategy
from spec_graph.strategies.base import built_for
from spec_graph.threads import thread_input
from spec_graph.tools import ToolLimits, tools_by_name

__all__ = ["SpeculativeReasoner"]

# Supersteps per kept step: at most draft, judge/select, correct (+1 slack); plus start, answer.
_SUPERSTEPS_PER_STEP = 4


class SpeculativeReasoner:
    """Speculative reasoning with a draft and a target model.

    Args:
        draft: the small, fast model that writes steps.
        target: the large model that judges and corrects them.
        config: default knobs; override any of them per call (``threshold=8``).
        graph: a graph from `spec_graph.build_graph` (or a strategy's ``build``) with your
            own nodes; it then serves every run. None: each run uses its strategy's graph.
        judge: the step judge of every run (`spec_graph.judging`: ``AllOf(ArithmeticJudge(),
            TargetJudge("yesno"))``, an `LLMJudge`, a `RewardJudge`, ...). None: the target's
            logprob judge in the strategy's ``judge_prompt`` formulation.
        tools: tools a reasoning step may call (LangChain ``BaseTool`` objects or plain
            functions; `spec_graph.tools` has a calculator and a sandboxed Python): a kept step
            that calls one is followed by a ``tool`` step with the result (docs/tools.md).
        tool_limits: bounds on tool use (calls per run, seconds per call, output size).
        checkpointer: a LangGraph checkpointer (e.g. `spec_graph.threads.sqlite_checkpointer`)
            for durable threads: with it, a run given a ``thread_id`` is saved after every
            node, resumes after a crash, and a new question on the thread starts a new run
            (`spec_graph.threads`). Ignored when ``graph`` is given (compile it with one).

    Example:
        >>> reasoner = SpeculativeReasoner.from_endpoints(draft_endpoint, target_endpoint)  # doctest: +SKIP
        >>> result = reasoner.invoke("What is 7 * 6?")  # doctest: +SKIP
        >>> result.answer, result.totals.acceptance_rate  # doctest: +SKIP
    """

    def __init__(
        self,
        draft: ModelBackend,
        target: ModelBackend,
        config: ReasoningConfig | None = None,
        *,
        graph: CompiledStateGraph[Any, Any, Any, Any] | None = None,
        judge: StepScorer | None = None,
        tools: Sequence[Any] = (),
        tool_limits: ToolLimits | None = None,
        checkpointer: Any = None,
    ) -> None:
        self.draft = draft
        self.target = target
        if judge is not None and not isinstance(judge, StepScorer):
            raise UserError(f"judge={judge!r} is not a StepScorer (a name and async ascore)")
        self.judge = judge
        self.tools = tools_by_name(tools)
        self.tool_limits = tool_limits or ToolLimits()
        if config is None:
            # a graph built for a strategy runs that strategy unless a config says otherwise
            owner = built_for(graph) if graph is not None else None
            config = ReasoningConfig(strategy=owner) if owner else ReasoningConfig()
        self.config = config
        self.graph = graph
        self.checkpointer = checkpointer
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}

    @classmethod
    def from_endpoints(
        cls,
        draft: EndpointConfig,
        target: EndpointConfig,
        config: ReasoningConfig | None = None,
        **kwargs: Any,
    ) -> SpeculativeReasoner:
        """Reasoner over two OpenAI-compatible servers (vLLM, llama.cpp, ...)."""
        return cls(backend_for(draft), backend_for(target), config, **kwargs)

    def resolve_config(self, **overrides: Any) -> ReasoningConfig:
        """The default config with per-call overrides applied and validated."""
        if not overrides:
            return self.config
        return self.config.with_overrides(**overrides)

    async def astream(
        self,
        question: str = "",
        *,
        messages: Sequence[ChatMessage] | None = None,
        thread_id: str | None = None,
        resume: bool = False,
        run_config: RunnableConfig | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Step | ReasoningResult]:
        """Yield each kept `Step` as soon as it is kept, then the `ReasoningResult`.

        Args:
            question: the problem (or give ``messages``; empty with ``resume``).
            messages: a conversation to continue instead of one question.
            thread_id: run on this durable thread (needs a checkpointer): the same question
                again resumes its unfinished run, a new one starts a new run in the same
                conversation (`spec_graph.threads`). Also read from
                ``run_config["configurable"]["thread_id"]``.
            resume: continue the thread's unfinished run (an error if it has none).
            run_config: merged into the LangGraph run config (tags, callbacks).
            **overrides: `ReasoningConfig` fields and strategy settings for this run.
        """
        config = self.resolve_config(**overrides)
        strategy = get_strategy(config.strategy)
        graph = self._graph_for(strategy)
        run: dict[str, Any] = dict(run_config or {})
        configurable = dict(run.get("configurable") or {})
        thread_id = thread_id or configurable.get("thread_id")
        graph_input: SpecState | None
        if thread_id is None:
            if resume:
                raise UserError("resume=True needs a thread_id (the run to resume)")
            graph_input = _graph_input(question, messages)
        else:
            run["configurable"] = {**configurable, "thread_id": str(thread_id)}
            fresh = (
                {} if resume and not (question or messages) else _graph_input(question, messages)
            )
            graph_input, question, kept_before = await thread_input(  # type: ignore[assignment]
                graph, run, dict(fresh), resume=resume, system_prompt=config.system_prompt
            )
            for step in kept_before:  # a resumed run: the steps it kept before it stopped
                yield step
        context = SpecContext(
            draft=self.draft,
            target=self.target,
            config=config,
            strategy=strategy,
            options=strategy.options(config),  # the config's, validated once with it
            judge=self.judge,
            tools=self.tools,
            tool_limits=self.tool_limits,
        )
        run["recursion_limit"] = config.max_steps * _SUPERSTEPS_PER_STEP + 8
        started = time.perf_counter()
        final: dict[str, Any] = {}
        last_node = "__start__"
        kept = 0
        # On a thread, each node's state is saved before the next node runs ("sync"), and a
        # step is shown once the node after it has started: a step seen is a step saved.
        durable = thread_id is not None
        unsaved: list[Step] = []
        updates = graph.astream(
            graph_input,
            config=cast("RunnableConfig", run),
            context=context,
            stream_mode=["updates", "values"],
            durability="sync" if durable else None,
        )
        try:
            async for mode, chunk in _before_deadline(updates, config.run_timeout_s, started):
                if mode == "values":
                    final = cast("dict[str, Any]", chunk)
                    continue
                for step in unsaved:
                    yield step
                unsaved = []
                for node, update in cast("dict[str, Any]", chunk).items():
                    last_node = node
                    for step in (update or {}).get("steps", []):
                        kept += 1
                        if durable:
                            unsaved.append(step)
                        else:
                            yield step
            for step in unsaved:  # the run ended: its last state is saved
                yield step
        except asyncio.TimeoutError:
            msg = (
                f"the run did not finish within its {config.run_timeout_s:g} s deadline "
                f"(run_timeout_s) and was stopped after {kept} kept steps"
            )
            raise RunTimeoutError(msg) from None
        finally:
            close = getattr(updates, "aclose", None)  # a stopped run stops its nodes, and
            if close is not None:  # their HTTP calls, now rather than when collected
                await close()
            await context.cancel_prefetched()  # pipelining: never leave an early draft running
        if last_node not in ("answer", "__interrupt__"):
            raise UserError(
                f"the graph ended after node {last_node!r} without reaching 'answer': a "
                "replacement node must return a Command saying where to go next, as the "
                "default it replaces does (wrap it, or end with spec_graph.nodes.keep/decide)"
            )
        state: SpecState = final  # type: ignore[assignment]
        yield ReasoningResult(
            question=question or _last_user_text(messages or []),
            strategy=strategy.name,
            draft_model=self.draft.model_name,
            target_model=self.target.model_name,
            steps=state.get("steps", []),
            answer=state.get("answer"),
            stop_reason=state.get("stop_reason"),
            totals=summarize(state, time.perf_counter() - started),
            telemetry=strategy.telemetry(state),
            context=state.get("context", []),
        )

    def _graph_for(self, strategy: Strategy) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The given graph, if it serves ``strategy``; else the strategy's own."""
        if self.graph is None and self.checkpointer is None:
            return strategy.graph()
        if self.graph is None:
            if strategy.name not in self._graphs:
                self._graphs[strategy.name] = strategy.build(checkpointer=self.checkpointer)
            return self._graphs[strategy.name]
        owner = built_for(self.graph)
        if owner is not None and owner != strategy.name:
            msg = (
                f"this reasoner's graph was built for strategy {owner!r}, not "
                f"{strategy.name!r}: build one with build_graph({strategy.name!r}, ...)"
            )
            raise UserError(msg)
        return self.graph

    async def ainvoke(
        self,
        question: str = "",
        *,
        messages: Sequence[ChatMessage] | None = None,
        thread_id: str | None = None,
        resume: bool = False,
        **overrides: Any,
    ) -> ReasoningResult:
        """Reason about ``question`` (or continue ``messages``) and return the full result.

        ``thread_id`` and ``resume``: durable threads, as in `astream`.
        """
        result: ReasoningResult | None = None
        stream = self.astream(
            question, messages=messages, thread_id=thread_id, resume=resume, **overrides
        )
        async for item in stream:
            if isinstance(item, ReasoningResult):
                result = item
        assert result is not None
        return result

    def invoke(
        self,
        question: str = "",
        *,
        messages: Sequence[ChatMessage] | None = None,
        **overrides: Any,
    ) -> ReasoningResult:
        """Synchronous `ainvoke` (works from plain scripts and from inside Jupyter)."""
        return run_sync(self.ainvoke(question, messages=messages, **overrides))

    async def aclose(self) -> None:
        """Close both backends' connections."""
        await self.draft.aclose()
        if self.target is not self.draft:
            await self.target.aclose()


async def _before_deadline(
    items: AsyncIterator[Any], seconds: float | None, started: float
) -> AsyncIterator[Any]:
    """``items`` as they come, until ``seconds`` after ``started`` (then `asyncio.TimeoutError`)."""
    while True:
        pending = items.__anext__()
        left = None if seconds is None else seconds - (time.perf_counter() - started)
        try:
            item = await (pending if left is None else within(pending, left))
        except StopAsyncIteration:
            return
        yield item


def _graph_input(question: str, messages: Sequence[ChatMessage] | None) -> SpecState:
    if messages:
        return {"question": question or _last_user_text(messages), "messages": list(messages)}
    if not question or not question.strip():
        raise UserError("the question is empty")
    return {"question": question.strip()}


def _last_user_text(messages: Sequence[ChatMessage]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return str(message["content"])
    return ""
