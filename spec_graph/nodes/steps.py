"""Step-level nodes: draft a step, judge it, correct it, and the routing after a kept step.

Each node is a small async function ``(state, runtime) -> Command`` that reads its models and
settings from ``runtime.context`` (a `SpecContext`) and returns its state update together with
the next node. Where the chain goes after a step is kept is the strategy's call
(`spec_graph.strategies.Strategy.next_node`); `keep` asks it, so the same nodes serve every
step-level strategy.

Nodes route with `Command` rather than conditional edges: a LangGraph branch re-reads the
whole state after every node, which was a third of the graph's overhead per step.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from spec_graph.backends.base import GenerateRequest, Generation
from spec_graph.judging.canonical import for_the_judge
from spec_graph.judging.default import default_judge
from spec_graph.judging.view import StepView
from spec_graph.nodes.context import (
    SpecContext,
    conversation,
    own_tokens,
    prefix_steps,
    step_max_tokens,
    step_texts,
    stop_reason,
)
from spec_graph.nodes.routing import keep, next_node, start_condition, warming_up
from spec_graph.nodes.settings import gate_of, pipelined
from spec_graph.prompts import chain_prefix
from spec_graph.state import Candidate, SpecState, Step
from spec_graph.tools.protocol import TOOL_CALL_CLOSE

__all__ = [
    "confident",
    "correct",
    "decide",
    "draft",
    "draft_candidate",
    "draft_step",
    "judge",
    "keep",
    "next_node",
    "start_condition",
    "step_request",
    "warming_up",
    "write_target_step",
]


def step_request(
    state: SpecState,
    ctx: SpecContext,
    role: Literal["draft", "target"],
    *,
    max_tokens: int | None = None,
    logprobs: bool = False,
) -> GenerateRequest:
    """The request that makes a model write the next step: continue the chain to the delimiter."""
    config = ctx.config
    return GenerateRequest(
        messages=conversation(state, ctx, "draft" if role == "draft" else "correct"),
        prefix=chain_prefix(step_texts(state), config.step_delimiter),
        prefix_steps=prefix_steps(state, config.step_delimiter),
        max_tokens=step_max_tokens(state, config, max_tokens),
        stop=[config.step_delimiter, TOOL_CALL_CLOSE] if ctx.tools else [config.step_delimiter],
        sampling=config.draft_sampling if role == "draft" else config.target_sampling,
        tools=config.tool_schemas,
        logprobs=logprobs,
    )


def draft_step(state: SpecState, candidate: Candidate, **note: object) -> Step:
    """The draft's candidate as the chain's next step."""
    return Step(
        index=len(state.get("steps", [])),
        text=candidate.text,
        source="draft",
        judged=candidate.judged,
        score=candidate.score,
        digit_probs=candidate.digit_probs,
        draft=candidate.draft,
        judge=candidate.judge,
        note=dict(note),
        token_ids=candidate.token_ids,
        token_model=candidate.token_model,
    )


def draft_candidate(generation: Generation, ctx: SpecContext) -> Candidate:
    """The draft's generation as a candidate step (with its own tokens, when it has them)."""
    ids = own_tokens(generation, ctx.config.step_delimiter)
    return Candidate(
        text=generation.text.strip(),
        draft=generation.usage,
        token_logprobs=generation.token_logprobs,
        token_ids=ids,
        token_model=ctx.draft.model_name if ids is not None else None,
    )


def _gate(ctx: SpecContext) -> float | None:
    """The confidence gate of the run's strategy settings (`GatedSettings`), if any."""
    return gate_of(ctx.options)


def confident(candidate: Candidate, bound: float) -> bool:
    """Every token of the step was at least ``exp(bound)`` likely to the draft itself."""
    logprobs = candidate.token_logprobs
    return bool(logprobs) and min(logprobs or ()) >= bound


async def draft(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft model writes the next step after the chain so far, for the judge.

    Confidence gating (`GatedSettings`, e.g. SpecReason's ``gate_logprob``): the draft's own token
    log-probabilities come with its generation; a step whose every token is above the bound
    is kept without a judge call. With pipelining, the step may already be in flight
    (started while the previous step was judged); then ``draft.seconds`` is only the wait.
    """
    ctx = runtime.context
    gate = _gate(ctx)
    early = ctx.prefetched.pop(chain_prefix(step_texts(state), ctx.config.step_delimiter), None)
    if early is not None:
        started = time.perf_counter()
        generation = await early
        usage = generation.usage.model_copy(update={"seconds": time.perf_counter() - started})
    else:
        request = step_request(state, ctx, "draft", logprobs=gate is not None)
        generation = await ctx.draft.generate(request)
        usage = generation.usage
    candidate = draft_candidate(generation, ctx).model_copy(update={"draft": usage})
    if not candidate.text:  # the draft thinks the chain is done: the target writes the step
        return Command(update={"candidate": candidate}, goto="correct")
    if gate is not None and confident(candidate, gate):
        return keep(state, draft_step(state, candidate, gated=True), ctx)
    return Command(update={"candidate": candidate}, goto="judge")


def _start_early_draft(state: SpecState, ctx: SpecContext, candidate: Candidate) -> None:
    """Pipelining: start drafting the step after ``candidate`` as if it were accepted."""
    config = ctx.config
    if not pipelined(ctx.options):
        return
    optimistic: SpecState = {
        **state,
        "steps": [*state.get("steps", []), draft_step(state, candidate)],
    }
    if stop_reason(optimistic, config) is not None:
        return  # accepting it ends the chain: there is no next step to draft
    key = chain_prefix(step_texts(optimistic), config.step_delimiter)
    request = step_request(optimistic, ctx, "draft", logprobs=_gate(ctx) is not None)
    ctx.prefetched[key] = asyncio.create_task(ctx.draft.generate(request))


async def decide(
    state: SpecState, runtime: Runtime[SpecContext], judged: Candidate
) -> Command[str]:
    """Apply the threshold to a judged candidate: keep it, or send it to the target to correct.

    The last line of any judge, including your own: score the candidate, then ``return await
    decide(state, runtime, candidate.model_copy(update={"score": s, "judged": True}))``.
    No verdict (score None) means reject.
    """
    ctx = runtime.context
    if judged.score is not None and judged.score >= ctx.judging.threshold:
        return keep(state, draft_step(state, judged), ctx)
    await ctx.cancel_prefetched()  # pipelining: the early draft continued a rejected step
    return Command(update={"candidate": judged}, goto="correct")


async def judge(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The judge scores the candidate step; `decide` keeps it or sends it to be corrected.

    The judge is ``ctx.judge`` (any `spec_graph.judging.StepScorer`) or by default the target:
    one greedy token, read from its top logprobs, in ``ctx.judging.judge_prompt``'s formulation. Keeping
    the step here, not in a node of its own, saves a LangGraph superstep on every accepted step.
    """
    ctx = runtime.context
    config = ctx.config
    candidate = state["candidate"]
    assert candidate is not None, "judge runs only after draft"
    scorer = ctx.judge if ctx.judge is not None else default_judge(ctx.judging)
    view = StepView(
        messages=conversation(state, ctx, "judge"),
        steps=step_texts(state),
        candidate=for_the_judge(candidate.text),  # its claims, not what it says to the judge
        delimiter=config.step_delimiter,
        tools=config.tool_schemas,
    )
    _start_early_draft(state, ctx, candidate)
    try:
        verdict = await scorer.ascore(view, ctx)
    except BaseException:
        await ctx.cancel_prefetched()
        raise
    judged = candidate.model_copy(
        update={
            "judged": True,
            "score": verdict.score,
            "digit_probs": verdict.digit_probs,
            "judge": candidate.judge + verdict.usage,
        }
    )
    return await decide(state, runtime, judged)


async def write_target_step(
    state: SpecState, ctx: SpecContext, *, max_tokens: int | None = None, **note: object
) -> Step:
    """The target writes the next step itself; a pending candidate is recorded as rejected."""
    generation: Generation = await ctx.target.generate(
        step_request(state, ctx, "target", max_tokens=max_tokens)
    )
    pending = state.get("candidate")
    candidate = pending or Candidate(text="")
    ids = own_tokens(generation, ctx.config.step_delimiter)
    return Step(
        index=len(state.get("steps", [])),
        text=generation.text.strip(),
        source="target",
        judged=candidate.judged,
        score=candidate.score,
        digit_probs=candidate.digit_probs,
        rejected_draft=candidate.text if pending is not None else None,
        draft=candidate.draft,
        judge=candidate.judge,
        target=generation.usage,
        note=dict(note),
        token_ids=ids,
        token_model=ctx.target.model_name if ids is not None else None,
    )


async def correct(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The target writes the step itself (rejected draft, warm-up, target-only, rethinking)."""
    ctx = runtime.context
    return keep(state, await write_target_step(state, ctx), ctx)
