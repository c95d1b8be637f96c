"""GPU cost projection: measured token counts replayed at another GPU's per-token speeds.

A projection is a model, never a measurement: each question both modes finished is replayed
with `projected_seconds` at a `GpuCostModel`'s speeds (`GPU_PRESETS` holds the published
figures used by default). `spec_graph.bench.report` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import fmean
from typing import Literal

from pydantic import BaseModel, Field

from spec_graph.bench.records import QuestionRecord
from spec_graph.registry import Registry
from spec_graph.state import RunTotals

__all__ = ["GPU_PRESETS", "GpuCostModel", "Projection", "project", "projected_seconds"]


class GpuCostModel(BaseModel):
    """Per-token speeds of a GPU setup, to replay measured token counts at its cost."""

    name: str
    target_decode_tok_s: float = Field(gt=0)
    target_prefill_tok_s: float = Field(gt=0)
    draft_decode_tok_s: float = Field(gt=0)
    draft_prefill_tok_s: float = Field(gt=0)
    judge_overhead_s: float = Field(default=0.0, ge=0)
    """Fixed cost per judge call (scheduling, one request round trip)."""
    source: str
    """Where the speeds come from (a paper, a vendor page, a measurement)."""


# Published single-request (batch 1) vLLM figures; no batch-1 H100 numbers were found, so the
# preset is an A100 one. Replaying small-model token counts at these speeds projects what the
# same steps/acceptance would cost on the SpecReason-style reference pair; it is not a run.
GPU_PRESETS: Registry[GpuCostModel] = Registry(
    "GPU preset",
    {
        "a100-32b-1.5b": GpuCostModel(
            name="a100-32b-1.5b",
            target_decode_tok_s=22.13,
            target_prefill_tok_s=7900.0,
            draft_decode_tok_s=183.33,
            draft_prefill_tok_s=66000.0,
            judge_overhead_s=0.02,
            source=(
                "decode: Qwen2.5 speed benchmark (qwen.readthedocs.io, benchmark/speed_benchmark), "
                "vLLM 0.6.3, 1x A100-80GB, batch 1, BF16: Qwen2.5-32B-Instruct 22.13 tok/s "
                "(enforce_eager), Qwen2.5-1.5B-Instruct 183.33 tok/s. Prefill, nearest published: "
                "Qwen2.5-72B on 2x H100 TTFT 129 ms for 1024 tokens (~7.9k tok/s, "
                "tenstorrent/tt-inference-server#143); Qwen3-1.7B on A100 TTFT 30.9 ms for 2048 "
                "tokens (~66k tok/s, tt-inference-server#340). judge_overhead_s 0.02: our "
                "assumption for one request round trip"
            ),
        ),
    },
)


class Projection(BaseModel):
    """Measured token counts replayed at a `GpuCostModel`'s speeds: a projection, not a run."""

    kind: Literal["projection"] = "projection"
    gpu: str
    source: str
    mode: str
    baseline: str
    questions: int
    """Questions both modes finished, which the means are over."""
    baseline_mean_s: float
    mode_mean_s: float
    projected_speedup: float | None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _timed(r: QuestionRecord) -> bool:
    return r.error is None or r.wall_s > 0


def _finished(r: QuestionRecord) -> bool:
    return r.error is None and r.wall_s > 0


def projected_seconds(totals: RunTotals, cost: GpuCostModel) -> float:
    """Seconds one question's measured token counts would take at ``cost``'s speeds.

    Decode: draft tokens at draft speed, target tokens at target speed, one target token per
    judge call. Prefill: only uncached prompt tokens. `RunTotals` keeps the judge's cached
    tokens apart but lumps the draft's and the correct calls' together, so that remainder is
    split between the draft prompt and the target's generation prompt (correct + answer =
    target prompt - judge prompt) in proportion to their sizes (exact when either is zero).
    The answer call's cache hits are not recorded, so its prompt counts as uncached: the
    projection errs slow, equally for every mode that answers with the target.
    """
    t = totals
    gen_prompt = max(t.target_prompt_tokens - t.judge_prompt_tokens, 0)
    other_cached = max(t.cached_prompt_tokens - t.judge_cached_tokens, 0)
    prompts = t.draft_prompt_tokens + gen_prompt
    draft_cached = other_cached * t.draft_prompt_tokens / prompts if prompts else 0.0
    draft_uncached = max(t.draft_prompt_tokens - draft_cached, 0.0)
    gen_uncached = max(gen_prompt - (other_cached - draft_cached), 0.0)
    judge_uncached = max(t.judge_prompt_tokens - t.judge_cached_tokens, 0)
    return (
        t.draft_tokens / cost.draft_decode_tok_s
        + draft_uncached / cost.draft_prefill_tok_s
        + t.judge_calls / cost.target_decode_tok_s
        + judge_uncached / cost.target_prefill_tok_s
        + t.judge_calls * cost.judge_overhead_s
        + t.target_tokens / cost.target_decode_tok_s
        + gen_uncached / cost.target_prefill_tok_s
    )


def project(
    records: Iterable[QuestionRecord],
    mode: str,
    cost: GpuCostModel,
    baseline: str = "target-only",
) -> Projection | None:
    """Projected speedup of ``mode`` on ``cost``'s GPU: a model, never a measurement.

    Each question both modes finished is replayed with `projected_seconds`; the speedup is
    the baseline's mean over the mode's mean. None when no question is common to both.
    """
    records = list(records)

    def finished(name: str) -> dict[str, RunTotals]:
        return {
            r.id: r.totals
            for r in records
            if r.mode == name and _finished(r) and r.totals is not None
        }

    base, this = finished(baseline), finished(mode)
    common = [i for i in this if i in base]
    if not common:
        return None
    base_mean = fmean(projected_seconds(base[i], cost) for i in common)
    mode_mean = fmean(projected_seconds(this[i], cost) for i in common)
    return Projection(
        gpu=cost.name,
        source=cost.source,
        mode=mode,
        baseline=baseline,
        questions=len(common),
        baseline_mean_s=base_mean,
        mode_mean_s=mode_mean,
        projected_speedup=_ratio(base_mean, mode_mean),
    )
