"""``spec-graph tune``: a small sweep on the user's servers, then the settings file.

The sweep is an ordinary bench run (`spec_graph.cli.bench_run.BenchRun`: same records, resume,
report and plots); what tune adds is the choice (`spec_graph.bench.frontier`) and writing it
(`spec_graph.tuning`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import platformdirs
import typer
from rich.markup import escape

from spec_graph.bench.datasets import bundled_dataset, resolve_dataset
from spec_graph.cli.bench_run import BenchRun
from spec_graph.cli.display import err, out
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
from spec_graph.config import settings_file
from spec_graph.errors import UserError

__all__ = ["TUNE_MODES", "bundled_questions", "tune"]

TUNE_MODES = (
    "target-only",
    "draft-only",
    "handoff",
    "handoff min_mean_logprob=-0.15",
    "handoff min_mean_logprob=-0.5",
    "specreason",
    "specreason gate_logprob=none",
    "scot n=2",
)
"""The default sweep: both baselines, the hand-off trigger around its default, SpecReason with
and without gating, and SCoT (best-of-n, SCoT with n=3 and SpecReason at threshold 9 were
dominated on the frontier we measured; add them with ``--sweep "best-of-n k=2"`` when your
draft is much faster than your target)."""


SMALL_SAMPLE = 30
"""Below this many questions tune warns that the 2-point rule cannot be resolved."""


def bundled_questions() -> Path:
    """20 GSM8K test problems shipped with the package (MIT; the license is beside them)."""
    return bundled_dataset("gsm8k-tune")


def tune(
    data: Annotated[
        str | None,
        typer.Option(
            metavar="NAME|PATH",
            help="Questions: a bundled set by name (gsm8k-tune, gsm8k-dev) or a JSONL file with "
            "question and answer per line; default: gsm8k-tune (20 bundled GSM8K problems).",
        ),
    ] = None,
    limit: Limit = 10,
    offset: Offset = 0,
    mode: Annotated[
        list[str] | None,
        typer.Option(help="A mode to try (repeatable); default: a small sweep of every strategy."),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(help='More modes, e.g. "specreason threshold=7,8,9" (repeatable).'),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(min=0, help="Most accuracy points below target-only the chosen mode may be."),
    ] = 2.0,
    settings_path: Annotated[
        Path | None,
        typer.Option(
            "--settings-file",
            help="Where to write the choice; default: $SPEC_GRAPH_SETTINGS_FILE or the "
            "user config folder's spec-graph/settings.json.",
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Write the choice (--no-write: only show the frontier).")
    ] = True,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the sweep's raw records (resume) and report."),
    ] = None,
    profile: Profile = None,
    temperature: Annotated[
        float, typer.Option(min=0, max=2, help="Sampling temperature of steps.")
    ] = 0.0,
    token_budget: TokenBudget = 1024,
    max_steps: MaxSteps = 32,
    draft_url: DraftUrl = None,
    draft_model: DraftModel = None,
    target_url: TargetUrl = None,
    target_model: TargetModel = None,
    draft_gguf: DraftGguf = None,
    target_gguf: TargetGguf = None,
    timeout: Timeout = None,
) -> None:
    """Choose the default configuration on YOUR hardware and models, quality first.

    Runs a small sweep (target-only, draft-only and several settings of every strategy) on your servers, draws the accuracy-latency frontier, and picks the fastest speculative mode at most --tolerance points less accurate than target-only (if none is, the most accurate one, and says so). The choice goes to a settings file that ask, bench, the chat model and SpecGraphSettings read; flags and SPEC_GRAPH_ env vars still win over it.
    """
    from spec_graph.tuning import write_settings_file

    modes = list(mode or TUNE_MODES)
    if "target-only" not in modes:
        raise UserError("tune compares against target-only: include --mode target-only")
    path = settings_path or settings_file()
    questions = resolve_dataset(data) if data else bundled_questions()
    if out_dir is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out_dir = Path(platformdirs.user_cache_dir("spec-graph")) / "tune" / stamp
    run = BenchRun.prepare(
        questions,
        modes,
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
        temperature=temperature,
        reasoning={"token_budget": token_budget, "max_steps": max_steps},
    )
    summary, plan = run.compare(tolerance_points=tolerance)
    frontier = summary.frontier
    if frontier is None or frontier.choice is None:
        raise UserError(
            "no speculative mode finished a question against target-only: nothing to choose "
            f"(records in {out_dir / 'raw.jsonl'})"
        )
    choice = frontier.choice
    verdict = "[green]within[/]" if choice.meets_quality else "[yellow]NOT within[/] (none was)"
    out.print(
        f"[bold]Chosen:[/] {escape(choice.mode)}: accuracy {choice.accuracy:.0%} "
        f"({choice.accuracy_delta_points:+.1f} pts vs target-only, {verdict} {tolerance:g} "
        f"pts), {choice.speedup:.2f}x target-only's speed on {len(plan.items)} questions"
    )
    if len(plan.items) < SMALL_SAMPLE:
        out.print(
            f"[yellow]{len(plan.items)} questions: one question is "
            f"{100 / len(plan.items):.0f} points, more than the {tolerance:g}-point rule can "
            f"resolve; a choice on this few can be noise (ours did not hold on 50 held-out "
            f"questions). Use --limit 50 or more for a default you rely on.[/]"
        )
    if not choice.meets_quality or choice.speedup < 1:
        out.print(
            "[yellow]On these servers no speculative mode is both as accurate as and faster "
            "than the target alone; the choice is the best trade-off by the rule above.[/]"
        )
    if not write:
        err.print("[dim]--no-write: settings file left as it was[/]")
        return
    write_settings_file(
        path,
        frontier,
        plan.base,
        provenance={
            "data": str(questions),
            "questions": len(plan.items),
            "draft_model": plan.draft_model,
            "target_model": plan.target_model,
            "records": str(out_dir / "raw.jsonl"),
        },
    )
    err.print(
        f"wrote {escape(str(path))}: ask, bench and the chat model now start from "
        f"{escape(choice.mode)} (flags and SPEC_GRAPH_ env vars still win)"
    )
