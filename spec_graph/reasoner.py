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
        run_config: RunnableConfig | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Step | ReasoningResult]:
        """Yield each kept `Step` as soon as it is kept, then the `ReasoningResult`.

        ``run_config`` is merged into the LangGraph run config (tags, callbacks, thread id).
        """
        config = self.resolve_config(**overrides)
        graph_input = _graph_input(question, messages)
        strategy = get_strategy(config.strategy)
        graph = self._graph_for(strategy)
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
        run_config = {
            **(run_config or {}),
            "recursion_limit": config.max_steps * _SUPERSTEPS_PER_STEP + 8,
        }
        started = time.perf_counter()
        final: dict[str, Any] = {}
        last_node = "__start__"
        kept = 0
        updates = graph.astream(
            graph_input, config=run_config, context=context, stream_mode=["updates", "values"]
        )
        try:
            async for mode, chunk in _before_deadline(updates, config.run_timeout_s, started):
                if mode == "values":
                    final = cast("dict[str, Any]", chunk)
                    continue
                for node, update in cast("dict[str, Any]", chunk).items():
                    last_node = node
                    for step in (update or {}).get("steps", []):
                        kept += 1
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
        if self.graph is None:
            return strategy.graph()
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
        **overrides: Any,
    ) -> ReasoningResult:
        """Reason about ``question`` (or continue ``messages``) and return the full result."""
        result: ReasoningResult | None = None
        async for item in self.astream(question, messages=messages, **overrides):
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
