"""The body of ``spec-graph tune``: a small sweep on the user's servers, then the settings file.

The sweep is an ordinary ``bench`` run (same records, resume, report and plots); what tune
adds is the choice (`spec_graph.bench.frontier`) and writing it (`spec_graph.tuning`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

import platformdirs
from rich.markup import escape

from spec_graph._cli_bench import run_bench
from spec_graph._cli_display import err, out
from spec_graph.config import SpecGraphSettings, settings_file
from spec_graph.errors import UserError

__all__ = ["TUNE_MODES", "bundled_questions", "run_tune"]

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
    return Path(str(files("spec_graph") / "data" / "gsm8k_tune.jsonl"))


def run_tune(
    *,
    data: Path | None,
    limit: int | None,
    offset: int,
    mode: list[str] | None,
    sweep: list[str] | None,
    tolerance: float,
    settings_path: Path | None,
    write: bool,
    out_dir: Path | None,
    profile: str | None,
    temperature: float,
    token_budget: int,
    max_steps: int,
    draft_url: str | None,
    draft_model: str | None,
    target_url: str | None,
    target_model: str | None,
    draft_gguf: Path | None,
    target_gguf: Path | None,
    timeout: float,
) -> None:
    """Run ``spec-graph tune`` with its options (see `spec_graph.cli.tune`)."""
    from spec_graph.tuning import write_settings_file

    modes = list(mode or TUNE_MODES)
    if "target-only" not in modes:
        raise UserError("tune compares against target-only: include --mode target-only")
    path = settings_path or settings_file()
    questions = data or bundled_questions()
    if out_dir is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out_dir = Path(platformdirs.user_cache_dir("spec-graph")) / "tune" / stamp
    ran = run_bench(
        data=questions, out_dir=out_dir, mode=modes, sweep=sweep, limit=limit, offset=offset,
        seed=None, profile=profile, judge=None, threshold=None, temperature=temperature,
        token_budget=token_budget, max_steps=max_steps, concurrency=None, gpu=None,
        plots=True, draft_url=draft_url, draft_model=draft_model, target_url=target_url,
        target_model=target_model, draft_gguf=draft_gguf, target_gguf=target_gguf,
        timeout=timeout, tolerance_points=tolerance,
        # code and env vars as the base, not an earlier tune's choice
        settings=SpecGraphSettings.untuned(),
    )  # fmt: skip
    assert ran is not None  # not a concurrency run
    summary, plan = ran
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
