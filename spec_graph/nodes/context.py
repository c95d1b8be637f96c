"""What every node shares: the run's context, the conversation, the chain so far, when to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from langchain_core.tools import BaseTool
from pydantic import BaseModel

from spec_graph.backends.base import Generation, ModelBackend, PrefixStep
from spec_graph.judging.contract import JudgeSettings, StepScorer, judge_settings
from spec_graph.prompts import (
    ChatMessage,
    problem_messages,
    sanitize_step,
    with_context,
    with_system_note,
)
from spec_graph.reasoning import STRATEGIES, ReasoningConfig
from spec_graph.state import NodeRole, SpecState, StopReason
from spec_graph.tools.executor import ToolLimits
from spec_graph.tools.protocol import tool_instructions

__all__ = [
    "Routing",
    "SpecContext",
    "conversation",
    "extract_boxed",
    "own_tokens",
    "prefix_steps",
    "repeats_a_cycle",
    "step_max_tokens",
    "step_texts",
    "stop_reason",
    "tokens_used",
]


class Routing(Protocol):
    """What the nodes need of the run's strategy: where a run starts and where it goes on.

    `spec_graph.strategies.Strategy` keeps it; the nodes never import the strategies.
    """

    @property
    def name(self) -> str:
        """The strategy's name."""
        ...

    @property
    def tool_steps(self) -> bool:
        """Kept steps may call tools (the graph has a ``tools`` node)."""
        ...

    def first_node(self, state: SpecState, ctx: SpecContext) -> str:
        """Where a run starts."""
        ...

    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        """Where the chain goes after a kept step (when it goes on)."""
        ...


@dataclass(frozen=True)
class SpecContext:
    """Per-run dependencies and settings (LangGraph ``context``): models, knobs, strategy.

    ``strategy`` and ``options`` are filled from the config when not given (the registered
    strategy ``config.strategy`` and ``config.strategy_settings``, validated with the config,
    never again), so ``SpecContext(draft=..., target=..., config=...)`` is all a caller needs.
    """

    draft: ModelBackend
    target: ModelBackend
    config: ReasoningConfig = field(default_factory=ReasoningConfig)
    strategy: Routing = None  # type: ignore[assignment]
    """The `spec_graph.strategies.Strategy` this run follows (routing after a kept step)."""
    options: BaseModel = None  # type: ignore[assignment]
    """That strategy's validated settings (``config.strategy_settings``)."""
    prefetched: dict[str, asyncio.Task[Generation]] = field(default_factory=dict)
    """Pipelining: early drafts in flight, keyed by the chain they continue (one run's)."""
    judge: StepScorer | None = None
    """A custom judge object (`spec_graph.judging`: a reward model, an LLM judge, the
    calculator, combinations); None: ``TargetJudge(ctx.judging.judge_prompt)``, the target's logprobs."""
    tools: Mapping[str, BaseTool] = field(default_factory=dict)
    """Tools a step may call (by name; `spec_graph.tools.tools_by_name`); empty: none."""
    tool_limits: ToolLimits = field(default_factory=ToolLimits)
    """Bounds on tool use: calls per run, seconds per call, output size."""

    def __post_init__(self) -> None:
        if self.strategy is None:
            strategy = cast(Routing, STRATEGIES.get(self.config.strategy))
            object.__setattr__(self, "strategy", strategy)
        if self.options is None:
            object.__setattr__(self, "options", self.config.strategy_settings)

    @property
    def judging(self) -> JudgeSettings:
        """How steps are judged in this run (``threshold``, ``judge_prompt``, ...).

        The strategy's settings if they are `JudgeSettings`, else the defaults.
        """
        return judge_settings(self.options)

    async def cancel_prefetched(self) -> None:
        """Cancel early drafts nobody will use (rejection, end of run); the server stops too."""
        tasks = list(self.prefetched.values())
        self.prefetched.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def conversation(
    state: SpecState, ctx: SpecContext, role: NodeRole | None = None
) -> list[ChatMessage]:
    """The messages the models continue: given ones or built from the question, with context.

    The one place a prompt's conversation is built, so the draft, the judge and the target see
    the same one (and the servers' prefix caches stay warm across roles): the run's tools are
    described in the system message, and the items of the ``context`` channel that ``role``
    may see are appended to the last user message as data.
    """
    config = ctx.config
    messages = state.get("messages") or problem_messages(state["question"], config.system_prompt)
    if ctx.tools:
        messages = with_system_note(messages, tool_instructions(list(ctx.tools.values())))
    items = [
        c for c in state.get("context", ()) if role is None or c.roles is None or role in c.roles
    ]
    return with_context(messages, items) if items else messages


def step_texts(state: SpecState) -> list[str]:
    """The kept steps' texts, in order."""
    return [s.text for s in state.get("steps", [])]


def prefix_steps(state: SpecState, delimiter: str) -> list[PrefixStep]:
    """The chain as `GenerateRequest.prefix_steps`: each kept step's text and own tokens.

    Their texts join to ``chain_prefix(step_texts(state), delimiter)``; a step whose text the
    prompt cleans (control tokens) is sent as text.
    """
    steps = []
    for step in state.get("steps", []):
        text = sanitize_step(step.text)
        ids = step.token_ids if text == step.text else None
        steps.append(PrefixStep(text=text + delimiter, token_ids=ids, token_model=step.token_model))
    return steps


def own_tokens(generation: Generation, delimiter: str) -> list[int] | None:
    """A step's tokens to continue from: only when it ended at the delimiter (which they hold)."""
    return generation.token_ids if generation.stop == delimiter else None


def tokens_used(state: SpecState) -> int:
    """Tokens of the kept chain (what counts against the budget)."""
    return sum(s.tokens for s in state.get("steps", []))


def step_max_tokens(state: SpecState, config: ReasoningConfig, cap: int | None = None) -> int:
    """The longest next step: the step cap (or ``cap``), never past the budget."""
    longest = config.max_step_tokens if cap is None else cap
    return max(1, min(longest, config.token_budget - tokens_used(state)))


BOXED = "\\boxed{"


def extract_boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` in ``text`` (braces balanced), or None."""
    start = text.rfind(BOXED)
    if start < 0:
        return None
    depth, i = 1, start + len(BOXED)
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


def stop_reason(state: SpecState | dict[str, Any], config: ReasoningConfig) -> StopReason | None:
    """Why the chain should end now, or None to write another step."""
    steps = state.get("steps", [])
    if not steps:
        return None
    last = steps[-1]
    if extract_boxed(last.text) is not None:
        return "boxed"
    if not last.text.strip():
        return "finished"
    if tokens_used(state) >= config.token_budget:  # type: ignore[arg-type]
        return "budget"
    if len(steps) >= config.max_steps:
        return "max_steps"
    # Steps since the last tool result: a tool brings news from outside, so calling it again is
    # not a loop by itself (tool calls have their own bound, `ToolLimits.max_calls_per_run`).
    since_tool = [s.text for s in steps[_after_last_tool(steps) :]]
    if repeats_a_cycle(since_tool, config.repetition_limit) is not None:
        return "repetition"
    return None


def _after_last_tool(steps: list[Any]) -> int:
    for i in range(len(steps) - 1, -1, -1):
        if steps[i].source == "tool":
            return i + 1
    return 0


MAX_CYCLE_STEPS = 8
"""The longest cycle of steps `repeats_a_cycle` looks for."""


def repeats_a_cycle(texts: list[str], times: int, max_period: int = MAX_CYCLE_STEPS) -> int | None:
    """The length of the step cycle ``texts`` ends with, repeated ``times`` in a row, or None.

    A greedy model that writes A, B, C, A, B, C has entered a loop it will not leave: it burns
    the whole budget (one GSM8K question ran 281 s that way) and the answer is no better. One
    step written twice is the cycle of length 1. Steps compare by their words (spacing ignored).
    The check is bounded: ``max_period * times`` steps at most.
    """
    words = [" ".join(t.split()) for t in texts[-max_period * times :]]
    for period in range(1, max_period + 1):
        window = words[len(words) - period * times :] if period * times <= len(words) else []
        if window and all(window[i] == window[i % period] for i in range(len(window))):
            return period
    return None
