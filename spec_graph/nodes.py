"""The graph's nodes and their routing: draft, judge, correct, answer.

Each node is a small async function ``(state, runtime) -> Command`` that reads its models and
settings from ``runtime.context`` (a `SpecContext`) and returns its state update together with
the next node (`keep` and `decide` hold that routing logic), so any node can be replaced or
wrapped by a function of the same shape (see `spec_graph.graph.build_graph`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from spec_graph.backends.base import Generation, ModelBackend
from spec_graph.config import ReasoningConfig, Strategy
from spec_graph.judges import JUDGES
from spec_graph.prompts import ChatMessage, chain_prefix, problem_messages
from spec_graph.state import Candidate, SpecState, Step, StopReason

__all__ = [
    "NextNode",
    "SpecContext",
    "answer",
    "correct",
    "decide",
    "draft",
    "draft_step",
    "extract_boxed",
    "finish",
    "judge",
    "keep",
    "next_node",
    "start_condition",
    "stop_reason",
]


@dataclass(frozen=True)
class SpecContext:
    """Per-run dependencies and settings (LangGraph ``context``): the two models and the knobs."""

    draft: ModelBackend
    target: ModelBackend
    config: ReasoningConfig = field(default_factory=ReasoningConfig)
    prefetched: dict[str, asyncio.Task[Generation]] = field(default_factory=dict)
    """Pipelining: early drafts in flight, keyed by the chain they continue (one run's)."""

    async def cancel_prefetched(self) -> None:
        """Cancel early drafts nobody will use (rejection, end of run); the server stops too."""
        tasks = list(self.prefetched.values())
        self.prefetched.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# -- helpers ---------------------------------------------------------------------------------


def conversation(state: SpecState, config: ReasoningConfig) -> list[ChatMessage]:
    """The messages both models continue: given ones, or built from the question."""
    return state.get("messages") or problem_messages(state["question"], config.system_prompt)


def _texts(state: SpecState) -> list[str]:
    return [s.text for s in state.get("steps", [])]


def _tokens_used(state: SpecState) -> int:
    return sum(s.tokens for s in state.get("steps", []))


def _step_max_tokens(state: SpecState, config: ReasoningConfig) -> int:
    return max(1, min(config.max_step_tokens, config.token_budget - _tokens_used(state)))


_BOXED = "\\boxed{"


def extract_boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` in ``text`` (braces balanced), or None."""
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    depth, i = 1, start + len(_BOXED)
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


# -- routing ---------------------------------------------------------------------------------


def stop_reason(state: SpecState, config: ReasoningConfig) -> StopReason | None:
    """Why the chain should end now, or None to write another step."""
    steps = state.get("steps", [])
    if not steps:
        return None
    last = steps[-1]
    if extract_boxed(last.text) is not None:
        return "boxed"
    if not last.text.strip():
        return "finished"
    if _tokens_used(state) >= config.token_budget:
        return "budget"
    if len(steps) >= config.max_steps:
        return "max_steps"
    window = steps[-config.repetition_limit :]
    if len(window) == config.repetition_limit and len({s.text.strip() for s in window}) == 1:
        return "repetition"
    return None


NextNode = Literal["draft", "correct", "answer"]
"""Where the chain goes after a step is kept."""


def next_node(state: SpecState, config: ReasoningConfig) -> NextNode:
    """After a step is kept: stop, let the target write (warm-up, target-only), or draft."""
    if stop_reason(state, config) is not None:
        return "answer"
    if config.strategy is Strategy.TARGET_ONLY:
        return "correct"
    if config.strategy is Strategy.SPECREASON and len(state.get("steps", [])) < config.warmup_steps:
        return "correct"
    return "draft"


async def start_condition(state: SpecState, runtime: Runtime[SpecContext]) -> NextNode:
    """The first node of a run (``async``: LangGraph runs a sync router in a thread pool)."""
    return next_node(state, runtime.context.config)


def keep(state: SpecState, step: Step, config: ReasoningConfig) -> Command[NextNode]:
    """Append ``step`` to the chain, clear the candidate, and go where the longer chain leads.

    Nodes route with `Command` rather than conditional edges: a LangGraph branch re-reads the
    whole state after every node, which was a third of the graph's overhead per step.
    """
    chain: SpecState = {**state, "steps": [*state.get("steps", []), step]}
    return Command(update={"steps": [step], "candidate": None}, goto=next_node(chain, config))


async def decide(
    state: SpecState, runtime: Runtime[SpecContext], judged: Candidate
) -> Command[NextNode]:
    """Apply the threshold to a judged candidate: keep it, or send it to the target to correct.

    The last line of any judge, including your own: score the candidate, then ``return await
    decide(state, runtime, candidate.model_copy(update={"score": s, "judged": True}))``.
    No verdict (score None) means reject.
    """
    ctx = runtime.context
    if judged.score is not None and judged.score >= ctx.config.threshold:
        return keep(state, draft_step(state, judged), ctx.config)
    await ctx.cancel_prefetched()  # pipelining: the early draft continued a rejected step
    return Command(update={"candidate": judged}, goto="correct")


# -- nodes -----------------------------------------------------------------------------------


async def _write_step(
    state: SpecState, ctx: SpecContext, role: Literal["draft", "target"]
) -> Generation:
    """One model writes the next step: continue the chain up to the step delimiter."""
    config = ctx.config
    backend = ctx.draft if role == "draft" else ctx.target
    return await backend.generate(
        conversation(state, config),
        prefix=chain_prefix(_texts(state), config.step_delimiter),
        max_tokens=_step_max_tokens(state, config),
        stop=[config.step_delimiter],
        sampling=config.draft_sampling if role == "draft" else config.target_sampling,
        tools=config.tools,
    )


async def draft(
    state: SpecState, runtime: Runtime[SpecContext]
) -> Command[Literal["judge", "draft", "correct", "answer"]]:
    """The draft model writes the next step after the chain so far (draft-only: and keeps it).

    With pipelining, the step may already be in flight (started while the previous step was
    judged); then ``draft_s`` is only the time still waited for it.
    """
    ctx = runtime.context
    early = ctx.prefetched.pop(chain_prefix(_texts(state), ctx.config.step_delimiter), None)
    if early is not None:
        started = time.perf_counter()
        generation = await early
        waited = time.perf_counter() - started
    else:
        generation = await _write_step(state, ctx, "draft")
        waited = generation.elapsed_s
    candidate = Candidate(
        text=generation.text.strip(),
        tokens=generation.completion_tokens,
        prompt_tokens=generation.prompt_tokens,
        cached_tokens=generation.cached_tokens,
        draft_s=waited,
    )
    if ctx.config.strategy is Strategy.DRAFT_ONLY:
        return keep(state, draft_step(state, candidate), ctx.config)
    # an empty draft means the draft thinks the chain is done: the target writes the step
    return Command(update={"candidate": candidate}, goto="judge" if candidate.text else "correct")


def _start_early_draft(state: SpecState, ctx: SpecContext, candidate: Candidate) -> None:
    """Pipelining: start drafting the step after ``candidate`` as if it were accepted."""
    config = ctx.config
    if not config.pipeline or config.strategy is not Strategy.SPECREASON:
        return
    steps = state.get("steps", [])
    optimistic: SpecState = {
        **state,
        "steps": [*steps, Step(index=len(steps), text=candidate.text, source="draft",
                               draft_tokens=candidate.tokens)],
    }  # fmt: skip
    if stop_reason(optimistic, config) is not None:
        return  # accepting it ends the chain: there is no next step to draft
    key = chain_prefix(_texts(optimistic), config.step_delimiter)
    ctx.prefetched[key] = asyncio.create_task(_write_step(optimistic, ctx, "draft"))


async def judge(state: SpecState, runtime: Runtime[SpecContext]) -> Command[NextNode]:
    """The target scores the candidate step; `decide` keeps it or sends it to be corrected.

    One greedy token, read from its top logprobs; the question asked and the reading of the
    answer are ``config.judge``'s formulation. Keeping the step here, not in a node of its own,
    saves a LangGraph superstep (~0.4 ms on a small CPU) on every accepted step.
    """
    ctx = runtime.context
    config = ctx.config
    candidate = state["candidate"]
    assert candidate is not None, "judge runs only after draft"
    formulation = JUDGES[config.judge]
    messages, reply_prefix = formulation.request(
        conversation(state, config), _texts(state), candidate.text, config.step_delimiter
    )
    _start_early_draft(state, ctx, candidate)
    try:
        token = await ctx.target.next_token(
            messages,
            prefix=reply_prefix,
            top_logprobs=config.judge_top_logprobs,
            tools=config.tools,
            prompt_logprobs=formulation.needs_prompt_logprobs,
        )
    except BaseException:
        await ctx.cancel_prefetched()
        raise
    verdict = formulation.score(token, config.score_method, candidate.text)
    judged = candidate.model_copy(
        update={
            "judged": True,
            "score": verdict.score,
            "digit_probs": verdict.digit_probs,
            "judge_prompt_tokens": token.prompt_tokens,
            "judge_cached_tokens": token.cached_tokens,
            "judge_s": token.elapsed_s,
        }
    )
    return await decide(state, runtime, judged)


def draft_step(state: SpecState, candidate: Candidate) -> Step:
    """The draft's candidate as the chain's next step."""
    return Step(
        index=len(state.get("steps", [])),
        text=candidate.text,
        source="draft",
        judged=candidate.judged,
        score=candidate.score,
        digit_probs=candidate.digit_probs,
        draft_tokens=candidate.tokens,
        draft_prompt_tokens=candidate.prompt_tokens,
        draft_cached_tokens=candidate.cached_tokens,
        judge_prompt_tokens=candidate.judge_prompt_tokens,
        judge_cached_tokens=candidate.judge_cached_tokens,
        draft_s=candidate.draft_s,
        judge_s=candidate.judge_s,
    )


async def correct(state: SpecState, runtime: Runtime[SpecContext]) -> Command[NextNode]:
    """The target writes the step itself (rejected draft, warm-up, or target-only)."""
    generation = await _write_step(state, runtime.context, "target")
    candidate = state.get("candidate") or Candidate(text="")
    step = Step(
        index=len(state.get("steps", [])),
        text=generation.text.strip(),
        source="target",
        judged=candidate.judged,
        score=candidate.score,
        digit_probs=candidate.digit_probs,
        rejected_draft=candidate.text if state.get("candidate") is not None else None,
        draft_tokens=candidate.tokens,
        target_tokens=generation.completion_tokens,
        draft_prompt_tokens=candidate.prompt_tokens,
        draft_cached_tokens=candidate.cached_tokens,
        correct_prompt_tokens=generation.prompt_tokens,
        correct_cached_tokens=generation.cached_tokens,
        judge_prompt_tokens=candidate.judge_prompt_tokens,
        judge_cached_tokens=candidate.judge_cached_tokens,
        draft_s=candidate.draft_s,
        judge_s=candidate.judge_s,
        correct_s=generation.elapsed_s,
    )
    return keep(state, step, runtime.context.config)


async def finish(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """End of the chain without an answer step: the caller writes the reply (chat model)."""
    return {"stop_reason": stop_reason(state, runtime.context.config)}


_TRAILING = re.compile(r"[\s.$}]+$")


async def answer(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """The final answer: the last boxed one in the chain, else the target states it briefly."""
    ctx = runtime.context
    config = ctx.config
    reason = stop_reason(state, config)
    for step in reversed(state.get("steps", [])):
        boxed = extract_boxed(step.text)
        if boxed is not None:
            return {"answer": boxed, "stop_reason": reason}
    lead = "The final answer is " + _BOXED
    generation = await ctx.target.generate(
        conversation(state, config),
        prefix=chain_prefix(_texts(state), config.step_delimiter) + lead,
        max_tokens=config.answer_max_tokens,
        stop=["\n"],
        sampling=config.target_sampling.model_copy(update={"temperature": 0.0}),
    )
    text = extract_boxed(lead + generation.text) or _TRAILING.sub("", generation.text.strip())
    return {
        "answer": text or None,
        "stop_reason": reason,
        "answer_tokens": generation.completion_tokens,
        "answer_prompt_tokens": generation.prompt_tokens,
        "answer_s": generation.elapsed_s,
    }
