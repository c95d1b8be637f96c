"""Nodes that draft several options at once and let the target pick one (or none).

- `draft_candidates` / `select_candidate`: k candidates for the next *step* (best-of-n);
- `draft_chains` / `select_chain`: n whole *chains of thought* (SCoT).

The options are drafted with one batched call (`ModelBackend.generate_many`: ``n=`` on servers
that support it, else concurrent requests into parallel slots) and judged with one greedy
token by `spec_graph.judging.picker.OptionPicker`. Settings come from the strategy's options
when they are the nodes' own settings models (`CandidateSettings`: ``k``; `ChainSettings`:
``n``, ``max_chain_tokens``; `SampledSettings`: ``temperature``), never by attribute name; the
channels they fill (``candidates``, ``drafts``: `spec_graph.state.CandidatesState`,
`ChainsState`) are part of the state schemas of the strategies that use them.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from spec_graph.backends.base import GenerateRequest, Generation
from spec_graph.judging.picker import MAX_OPTIONS, OptionPicker, Selection
from spec_graph.judging.view import OptionsView
from spec_graph.nodes.context import SpecContext, conversation, step_texts
from spec_graph.nodes.routing import keep
from spec_graph.nodes.settings import (
    CandidateSettings,
    ChainSettings,
    sampling_temperature,
)
from spec_graph.nodes.steps import step_request
from spec_graph.reasoning import SamplingConfig
from spec_graph.state import Candidate, CandidatesState, ChainsState, DraftChain, Step
from spec_graph.usage import Usage

__all__ = [
    "CandidatesState",
    "ChainsState",
    "DraftChain",
    "draft_candidates",
    "draft_chains",
    "select_candidate",
    "select_chain",
]

PICKER = OptionPicker()


async def _many(
    ctx: SpecContext, request: GenerateRequest, n: int
) -> tuple[list[Generation], Usage]:
    """``n`` drafts in one batch; their usage summed, with seconds = the wall time waited."""
    started = time.perf_counter()
    generations = await ctx.draft.generate_many(request, n)
    waited = time.perf_counter() - started
    total = sum((g.usage for g in generations), Usage())
    return generations, total.model_copy(update={"seconds": waited})


async def default_width(ctx: SpecContext) -> int:
    """Chains per question when not set: the draft backend's ``preferred_width``.

    5 on a batching server (vLLM, SGLang: extra chains are nearly free), else 2 (a small CPU
    gains little from decoding more at once); see `BackendCapabilities`.
    """
    return (await ctx.draft.capabilities()).preferred_width


def _distinct(texts: list[str]) -> list[int]:
    """Indices of the first occurrence of each distinct non-empty text (at most 8)."""
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text and text not in seen:
            seen[text] = i
    return list(seen.values())[:MAX_OPTIONS]


def _sampling(ctx: SpecContext) -> SamplingConfig:
    """The draft's sampling, at the options' temperature when they are `SampledSettings`."""
    temperature = sampling_temperature(ctx.options)
    sampling = ctx.config.draft_sampling
    return (
        sampling
        if temperature is None
        else sampling.model_copy(update={"temperature": temperature})
    )


async def draft_candidates(state: CandidatesState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft writes ``k`` candidates for the next step in one batch."""
    ctx = runtime.context
    options = ctx.options
    k = options.k if isinstance(options, CandidateSettings) else CandidateSettings().k
    request = step_request(state, ctx, "draft").model_copy(update={"sampling": _sampling(ctx)})
    generations, usage = await _many(ctx, request, k)
    candidates = [Candidate(text=g.text.strip(), draft=g.usage) for g in generations]
    if not _distinct([c.text for c in candidates]):  # every draft is empty: the target writes
        return Command(update={"candidate": Candidate(text="", draft=usage)}, goto="correct")
    return Command(update={"candidates": candidates}, goto="select")


async def _pick(ctx: SpecContext, view: OptionsView) -> tuple[Selection, Usage]:
    token = await ctx.target.next_token(PICKER.request(view, ctx.config.judge_top_logprobs))
    return PICKER.read(token, view), token.usage


async def select_candidate(state: CandidatesState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The target picks the best candidate step by option logits, or rejects them all."""
    ctx = runtime.context
    config = ctx.config
    candidates: list[Candidate] = state.get("candidates") or []
    shown = _distinct([c.text for c in candidates])
    drafted = sum((c.draft for c in candidates), Usage())
    drafted = drafted.model_copy(update={"seconds": max(c.draft.seconds for c in candidates)})
    view = OptionsView(
        messages=conversation(state, ctx, "judge"),
        options=[candidates[i].text for i in shown],
        kind="step",
        steps=step_texts(state),
        delimiter=config.step_delimiter,
        tools=config.tool_schemas,
    )
    selection, judged = await _pick(ctx, view)
    note = {"candidates": len(candidates), "options": len(shown), "selection": selection.probs}
    if selection.choice is None:
        rejected = Candidate(
            text=candidates[shown[0]].text, draft=drafted, judge=judged, judged=True, score=0.0
        )
        return Command(update={"candidate": rejected, "candidates": []}, goto="correct")
    chosen = candidates[shown[selection.choice]]
    p = selection.probs.get(str(selection.choice + 1), 0.0)
    step = Step(
        index=len(state.get("steps", [])),
        text=chosen.text,
        source="draft",
        judged=True,
        score=9.0 * p,
        digit_probs=selection.probs,
        draft=drafted,
        judge=judged,
        kept_tokens=chosen.tokens,
        note={**note, "chosen": selection.choice},
    )
    command = keep(state, step, ctx)
    return Command(update={**command.update, "candidates": []}, goto=command.goto)  # type: ignore[dict-item]


async def draft_chains(state: ChainsState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft writes ``n`` whole chains of thought in one batch (until done or the cap)."""
    ctx = runtime.context
    config = ctx.config
    options = ctx.options
    chains = options if isinstance(options, ChainSettings) else None
    n = (chains.n if chains else None) or await default_width(ctx)
    cap = chains.max_chain_tokens if chains else config.token_budget
    request = GenerateRequest(
        messages=conversation(state, ctx, "draft"),
        max_tokens=max(1, min(cap, config.token_budget)),
        sampling=_sampling(ctx),
        tools=config.tool_schemas,
    )
    generations, usage = await _many(ctx, request, n)
    drafts = [
        DraftChain(text=g.text.strip(), usage=g.usage, finish_reason=g.finish_reason)
        for g in generations
    ]
    telemetry = {"drafts": [_draft_telemetry(d) for d in drafts], "draft_wall_s": usage.seconds}
    if not _distinct([d.text for d in drafts]):
        telemetry |= {"chosen": None, "rethought": True, "selection": {}}
        return Command(
            update={
                "drafts": drafts,
                "telemetry": telemetry,
                "candidate": Candidate(text="", draft=usage),
            },
            goto="correct",
        )
    return Command(update={"drafts": drafts, "telemetry": telemetry}, goto="select")


def _draft_telemetry(chain: DraftChain) -> dict[str, Any]:
    return {
        "tokens": chain.usage.completion_tokens,
        "seconds": chain.usage.seconds,
        "finish_reason": chain.finish_reason,
    }


async def select_chain(state: ChainsState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The target names the best chain, or "all wrong" and then thinks from scratch itself.

    Chosen: the chain's steps are kept (as draft steps) and the run goes to the answer, which
    the target writes after that chain. All wrong: the target reasons itself (``correct``).
    """
    ctx = runtime.context
    config = ctx.config
    drafts: list[DraftChain] = state.get("drafts") or []
    shown = _distinct([d.text for d in drafts])
    drafted = sum((d.usage for d in drafts), Usage())
    drafted = drafted.model_copy(
        update={"seconds": state.get("telemetry", {}).get("draft_wall_s", 0.0)}
    )
    view = OptionsView(
        messages=conversation(state, ctx, "judge"),
        options=[drafts[i].text for i in shown],
        kind="chain",
    )
    selection, judged = await _pick(ctx, view)
    chosen = None if selection.choice is None else shown[selection.choice]
    telemetry = {
        **state.get("telemetry", {}),
        "selection": selection.probs,
        "valid_selection": selection.valid,
        "chosen": chosen,
        "rethought": chosen is None,
    }
    if chosen is None:
        pending = Candidate(text="", draft=drafted, judge=judged, judged=True, score=0.0)
        return Command(update={"telemetry": telemetry, "candidate": pending}, goto="correct")
    chain = drafts[chosen]
    # at most max_steps steps: the last one holds the rest of the chain
    parts = [
        p.strip()
        for p in chain.text.split(config.step_delimiter, config.max_steps - 1)
        if p.strip()
    ]
    p = selection.probs.get(str(selection.choice + 1), 0.0)  # type: ignore[operator]
    steps = [
        Step(
            index=i,
            text=text,
            source="draft",
            judged=i == 0,
            score=9.0 * p if i == 0 else None,
            digit_probs=selection.probs if i == 0 else {},
            draft=drafted if i == 0 else Usage(),
            judge=judged if i == 0 else Usage(),
            kept_tokens=chain.usage.completion_tokens if i == 0 else 0,
            note={"chain": chosen} if i == 0 else {},
        )
        for i, text in enumerate(parts)
    ]
    update: dict[str, Any] = {"steps": steps, "telemetry": telemetry}
    if chain.finish_reason == "length":
        update["stop_reason"] = "budget"
    return Command(update=update, goto="answer")
