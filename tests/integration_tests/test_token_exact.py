"""When the target rewrites every step, the output is the target's own, token for token.

``target-only`` writes the chain step by step (one request per step, as every step-level
strategy does); SpecReason with every draft step rejected has the target write every step
too, after a real judge call per step (the same requests and prefix-cache traffic as a run
whose judge rejects; confidence gating off, so no step skips the judge). With greedy decoding both must give the same tokens, and those tokens
must be what the target writes in one request: each step continues from the target's own
token ids (stop token included), never from its text re-tokenized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.judging import Verdict, default_judge
from spec_graph.prompts import problem_messages

GREEDY = SamplingConfig(temperature=0.0)

QUESTIONS = [
    "Tom has 3 apples and buys 5 more. How many apples does he have?",
    "A pen costs $2 and a notebook costs $5. How much do 3 pens and 2 notebooks cost?",
    "Sara reads 12 pages a day. How many pages does she read in a week?",
]


@dataclass(frozen=True)
class RejectEveryStep:
    """The run's own judge, really called, then overruled: no verdict rejects the step."""

    name: str = "reject-every-step"

    async def ascore(self, view: Any, ctx: Any) -> Verdict:
        verdict = await default_judge(ctx.config).ascore(view, ctx)
        return verdict.model_copy(update={"score": None})


def _config(**update: Any) -> ReasoningConfig:
    return ReasoningConfig(
        strategy="specreason",
        draft_sampling=GREEDY,
        target_sampling=GREEDY,
        max_steps=6,
        max_step_tokens=160,
        token_budget=320,
        **update,
    )


def _one_request(models: EmbeddedModels, question: str, n: int) -> list[int]:
    """The target's first ``n`` greedy tokens for ``question`` in a single request."""
    root = models.target.base_url.removesuffix("/v1")
    with httpx.Client(timeout=600) as client:
        messages = problem_messages(question, _config().system_prompt)
        prompt = client.post(f"{root}/apply-template", json={"messages": messages}).json()
        ids = client.post(
            f"{root}/tokenize",
            json={"content": prompt["prompt"], "add_special": True, "parse_special": True},
        ).json()["tokens"]
        reply = client.post(
            f"{root}/completion",
            json={"prompt": ids, "n_predict": n, "temperature": 0.0, "return_tokens": True},
        ).json()
    return [int(t) for t in reply["tokens"]]


async def _check_invariant(models: EmbeddedModels, questions: list[str]) -> None:
    reasoner = SpeculativeReasoner.from_endpoints(
        models.draft, models.target, _config(), judge=RejectEveryStep()
    )
    try:
        for question in questions:
            alone = await reasoner.ainvoke(question, strategy="target-only")
            rejected = await reasoner.ainvoke(question, strategy="specreason", gate_logprob=None)
            assert rejected.totals.judge_calls == len(rejected.steps)
            assert {s.source for s in rejected.steps} == {"target"}
            assert [s.text for s in rejected.steps] == [s.text for s in alone.steps], question
            assert [s.token_ids for s in rejected.steps] == [s.token_ids for s in alone.steps]
            assert rejected.answer == alone.answer
            # every step that ended at the delimiter carries the target's own tokens
            continued = alone.steps[:-1]
            assert continued, f"one step only, nothing continued: {question}"
            assert all(s.token_ids for s in continued), question
            assert {s.token_model for s in continued} == {reasoner.target.model_name}
            # ... and the chain is what the target writes in one request
            chain = [t for s in continued for t in s.token_ids or []]
            assert _one_request(models, question, len(chain)) == chain, question
    finally:
        await reasoner.aclose()


# Observed on 2026-12-02 (tiny profile, 2 loaded cores): still fails. Steps now continue from
# the target's own token ids (the wire is unit-tested), but with a judge call between steps the
# greedy chain still changed at step 1-3 of the first question, also with every step request
# pinned to slot 0 and judges to slot 1 (tried by hand). Suspected next: the embedded server's
# unified KV cache (kv_unified=True): attention runs over the whole buffer, so the judge's
# sequence in the other slot changes the reduction and the last bits of the logits; try
# kv_unified=False for the target. Not strict: the cause is not pinned down yet.
_NOT_YET = pytest.mark.xfail(
    strict=False,
    reason="all-rejected SpecReason still drifts from target-only on llama.cpp "
    "(suspected slot/prefix-cache numerics; see the comment above)",
)


@_NOT_YET
async def test_every_step_rejected_is_target_only_token_for_token(tiny):
    await _check_invariant(tiny, QUESTIONS)


@pytest.mark.slow
@_NOT_YET
async def test_every_step_rejected_is_target_only_on_the_default_pair():
    models = EmbeddedModels.shared("default")
    await _check_invariant(models, QUESTIONS[:2])
