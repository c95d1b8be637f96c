"""``spec-graph bench``: its options; the run itself is `spec_graph.cli.bench_run.BenchRun`.

``tune`` (`spec_graph.cli.tune`) runs its sweep through the same `BenchRun` without going
through this command's options.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from spec_graph.bench.datasets import resolve_dataset
from spec_graph.bench.report import GPU_PRESETS, GpuCostModel
from spec_graph.cli.bench_run import DEFAULT_MODES, BenchRun, bench_modes, default_modes
from spec_graph.cli.options import (
    DraftGguf,
    DraftModel,
    DraftUrl,
    Limit,
    MaxSteps,
    Offset,
    Profile,
    ServerFlags,
    TargetGguf,
    TargetModel,
    TargetUrl,
    Timeout,
    TokenBudget,
)
from spec_graph.errors import UserError

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_MODES", "BenchRun", "bench", "bench_modes", "default_modes"]


def bench(
    data: Annotated[
        str,
        typer.Option(
            metavar="NAME|PATH",
            help="Questions: a bundled set by name (gsm8k-dev: 400 GSM8K test problems; "
            "gsm8k-tune: 20 of them) or a JSONL file with question and answer per line.",
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for raw.jsonl, summary.json, results.md, plots.")
    ] = Path("bench-results"),
    mode: Annotated[
        list[str] | None,
        typer.Option(
            help='A mode: a strategy, then KEY=VALUE settings, e.g. "specreason judge=inline '
            'threshold=5" (repeatable). Default: target-only, draft-only, specreason.'
        ),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            help='Modes for every combination of values, e.g. "specreason threshold=7,8,9 '
            'gate_logprob=-0.5,-1" (repeatable; with --mode, or alone for the three defaults '
            "plus the sweep). Named like --mode modes, so both resume from the same records."
        ),
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    seed: Annotated[int | None, typer.Option(help="Shuffle the file with this seed first.")] = None,
    profile: Profile = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Judge formulation for every mode: yesno, specreason, inline, reviewer, "
            "likelihood (needs a vLLM target)."
        ),
    ] = None,
    threshold: Annotated[float | None, typer.Option(min=0, max=9)] = None,
    temperature: Annotated[
        float, typer.Option(min=0, max=2, help="Sampling temperature of steps (0: reproducible).")
    ] = 0.0,
    token_budget: TokenBudget = 1024,
    max_steps: MaxSteps = 32,
    concurrency: Annotated[
        str | None,
        typer.Option(
            help="Instead of the comparison, run each mode with this many questions in flight "
            "at once, e.g. 1,4,16: throughput and p50/p95 latency (embedded servers get one "
            "slot per question in flight)."
        ),
    ] = None,
    gpu: Annotated[
        list[str] | None,
        typer.Option(
            help=f"GPU cost presets to project onto (default: all of {list(GPU_PRESETS)})."
        ),
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
    target_speculation: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Token-level speculative decoding in the embedded target's server (the draft "
            "model proposes up to N tokens per verification) for every mode of the run.",
        ),
    ] = None,
    draft_url: DraftUrl = None,
    draft_model: DraftModel = None,
    target_url: TargetUrl = None,
    target_model: TargetModel = None,
    draft_gguf: DraftGguf = None,
    target_gguf: TargetGguf = None,
    timeout: Timeout = None,
) -> None:
    """Benchmark modes side by side on the same questions and servers.

    Modes are interleaved per question; each finished (question, mode) lands in OUT/raw.jsonl at once, and a rerun with the same settings skips it (resume). Answers are graded with math-verify.

    Writes OUT/summary.json (accuracy, latency, speedup vs target-only per mode, acceptance, tokens, judge cost, per-node time, the analytic bound, the accuracy-latency frontier with the quality-first choice, GPU cost projections), OUT/results.md and PNG plots (frontier.png among them).
    """
    costs = [_gpu_preset(name) for name in gpu] if gpu else None  # None: every preset
    levels = _levels(concurrency) if concurrency else None
    run = BenchRun.prepare(
        resolve_dataset(data),
        mode,
        sweep,
        ServerFlags(
            profile,
            (draft_url, draft_model, draft_gguf),
            (target_url, target_model, target_gguf),
            timeout,
        ),
        out_dir,
        limit=limit,
        offset=offset,
        seed=seed,
        temperature=temperature,
        reasoning={
            "token_budget": token_budget,
            "max_steps": max_steps,
            "judge_prompt": judge,
            "threshold": threshold,
        },
        target_speculation=target_speculation,
    )
    if levels is None:
        run.compare(costs=costs, plots=plots)
    else:
        run.concurrency(levels, plots=plots)


def _gpu_preset(name: str) -> GpuCostModel:
    return GPU_PRESETS.get(name)


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--concurrency takes numbers like 1,4,16, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise UserError(f"--concurrency takes numbers >= 1, got {text!r}")
    return levels
