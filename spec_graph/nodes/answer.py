"""The end of a run: the final answer from the chain, or from the target after it."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from spec_graph.backends.base import GenerateRequest, PrefixStep
from spec_graph.nodes.context import (
    BOXED,
    SpecContext,
    conversation,
    extract_boxed,
    prefix_steps,
    step_texts,
    stop_reason,
)
from spec_graph.prompts import chain_prefix
from spec_graph.state import SpecState

__all__ = ["answer", "finish", "target_answer"]

_TRAILING = re.compile(r"[\s.$}]+$")


async def finish(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """End of the chain without an answer step: the caller writes the reply (chat model)."""
    return {"stop_reason": stop_reason(state, runtime.context.config)}


async def target_answer(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """The target states the final answer after the chain (briefly, greedy, boxed)."""
    ctx = runtime.context
    config = ctx.config
    lead = "The final answer is " + BOXED
    generation = await ctx.target.generate(
        GenerateRequest(
            messages=conversation(state, ctx, "answer"),
            prefix=chain_prefix(step_texts(state), config.step_delimiter) + lead,
            prefix_steps=[*prefix_steps(state, config.step_delimiter), PrefixStep(text=lead)],
            max_tokens=config.answer_max_tokens,
            stop=["\n"],
            sampling=config.target_sampling.model_copy(update={"temperature": 0.0}),
        )
    )
    text = extract_boxed(lead + generation.text) or _TRAILING.sub("", generation.text.strip())
    return {
        "answer": text or None,
        "stop_reason": state.get("stop_reason") or stop_reason(state, config) or "finished",
        "answer_usage": generation.usage,
    }


async def answer(state: SpecState, runtime: Runtime[SpecContext]) -> dict[str, Any]:
    """The final answer: the last boxed one in the chain, else the target states it briefly."""
    for step in reversed(state.get("steps", [])):
        boxed = extract_boxed(step.text)
        if boxed is not None:
            return {"answer": boxed, "stop_reason": stop_reason(state, runtime.context.config)}
    return await target_answer(state, runtime)
