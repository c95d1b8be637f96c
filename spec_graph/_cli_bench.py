"""The body of ``spec-graph bench``: the comparison run, the concurrency run and their output.

`spec_graph.cli` keeps the command's options and imports this module when the command runs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from spec_graph._cli_display import err, out
from spec_graph.bench.report import GPU_PRESETS, GpuCostModel
from spec_graph.cli import _reasoning_config, _servers
from spec_graph.config import ReasoningConfig, SpecGraphSettings, settings_file
from spec_graph.errors import UserError
from spec_graph.reasoner import SpeculativeReasoner

if TYPE_CHECKING:
    from spec_graph.bench.records import ModeSpec

DEFAULT_MODES = ("target-only", "draft-only", "specreason")


def run_bench(
    *,
    data: Path,
    out_dir: Path,
    mode: list[str] | None,
    sweep: list[str] | None,
    limit: int | None,
    offset: int,
    seed: int | None,
    profile: str | None,
    judge: str | None,
    threshold: float | None,
    temperature: float,
    token_budget: int,
    max_steps: int,
    concurrency: str | None,
    gpu: list[str] | None,
    plots: bool,
    draft_url: str | None,
    draft_model: str | None,
    target_url: str | None,
    target_model: str | None,
    draft_gguf: Path | None,
    target_gguf: Path | None,
    timeout: float,
    tolerance_points: float = 2.0,
    settings: SpecGraphSettings | None = None,
    target_speculation: int | None = None,
) -> tuple[Any, Any] | None:
    """Run ``spec-graph bench`` with its options (see `spec_graph.cli.bench`).

    Returns the run's summary and plan (None for a concurrency run), for ``tune``, which
    passes ``settings`` without the tuned reasoning so a sweep never starts from its last
    result.
    """
    from spec_graph.bench import report as bench_report
    from spec_graph.bench.runner import RunPlan, load_items

    settings = settings or SpecGraphSettings.untuned()
    costs = [_gpu_preset(name) for name in gpu] if gpu else list(GPU_PRESETS.values())
    levels = _levels(concurrency) if concurrency else None
    base = _reasoning_config(
        settings,
        {
            "token_budget": token_budget,
            "max_steps": max_steps,
            "judge": judge,
            "threshold": threshold,
        },
        {"temperature": temperature},
    )
    modes = bench_modes(mode, sweep, base)
    items = load_items(data, limit=limit, offset=offset, seed=seed)
    servers = _servers(
        settings,
        profile,
        (draft_url, draft_model, draft_gguf),
        (target_url, target_model, target_gguf),
        timeout,
        # embedded servers: a slot per question in flight, and per draft of SCoT / best-of-n
        parallel=max([2, *(levels or [])]),
        slots=max([2, *(levels or [])]) * max(m.width() for m in modes),
        target_speculation=target_speculation,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with servers:
            reasoner = SpeculativeReasoner.from_endpoints(servers.draft, servers.target, base)
            plan = RunPlan(
                items=items,
                modes=modes,
                base=base,
                draft_model=reasoner.draft.model_name,
                target_model=reasoner.target.model_name,
                target_speculation=target_speculation,
            )
            if levels is not None:
                _bench_concurrency(reasoner, plan, levels, out_dir, plots)
                return None
            records = _bench_compare(reasoner, plan, out_dir)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]: finished questions are in {out_dir / 'raw.jsonl'}")
        raise typer.Exit(130) from None
    summary = bench_report.summarize_run(records, costs=costs, tolerance_points=tolerance_points)
    bench_report.write_summary(summary, out_dir / "summary.json")
    table = bench_report.markdown_table(summary)
    (out_dir / "results.md").write_text(_results_header(plan, data) + table)
    written = [out_dir / "summary.json", out_dir / "results.md"]
    if plots:
        from spec_graph.bench.plots import write_plots

        written += write_plots(records, summary, out_dir)
    out.print(table)
    err.print("[dim]wrote " + ", ".join(str(p) for p in written) + "[/]")
    return summary, plan


def default_modes() -> tuple[str, ...]:
    """The modes of a run without ``--mode``: target-only, draft-only and the default.

    The default is the tuned mode when the settings file has one (``spec-graph tune``),
    else specreason.
    """
    from spec_graph.tuning import read_settings_file

    tuned = read_settings_file(settings_file()).get("tuned") or {}
    mode = tuned.get("mode")
    if isinstance(mode, str) and mode not in DEFAULT_MODES:
        err.print(f"[dim]default modes include {escape(mode)}, tuned in {settings_file()}[/]")
        return (*DEFAULT_MODES[:2], mode)
    return DEFAULT_MODES


def bench_modes(
    mode: list[str] | None, sweep: list[str] | None, base: ReasoningConfig | None = None
) -> list[ModeSpec]:
    """The ``--mode`` and ``--sweep`` modes, each effective configuration once.

    Without ``--mode`` the run has the default three (`default_modes`), so a sweep always
    has its baselines; a swept mode that repeats an earlier one's settings on ``base``
    (``specreason threshold=8`` beside ``specreason``) is dropped with a note.
    """
    from spec_graph.bench.records import ModeSpec

    base = base or ReasoningConfig()
    given = [ModeSpec.parse(m) for m in (mode or default_modes())]
    if len({m.name for m in given}) != len(given):
        raise UserError("the same mode is given twice")
    seen = {m.config(base).model_dump_json(): m.name for m in given}
    modes = list(given)
    for text in sweep or []:
        for spec in ModeSpec.sweep(text):
            key = spec.config(base).model_dump_json()
            if key in seen:
                err.print(f"[dim]{escape(spec.name)}: same settings as {escape(seen[key])}[/]")
                continue
            seen[key] = spec.name
            modes.append(spec)
    return modes


def _gpu_preset(name: str) -> GpuCostModel:
    if name not in GPU_PRESETS:
        raise UserError(f"unknown GPU preset {name!r}; known: {', '.join(GPU_PRESETS)}")
    return GPU_PRESETS[name]


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--concurrency takes numbers like 1,4,16, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise UserError(f"--concurrency takes numbers >= 1, got {text!r}")
    return levels


def _results_header(plan: Any, data: Path) -> str:
    ids = [item.id for item in plan.items]
    return (
        f"Questions: {len(ids)} from `{data.name}` ({ids[0]} .. {ids[-1]}); "
        f"draft `{plan.draft_model}`, target `{plan.target_model}`; "
        f"temperature {plan.base.draft_sampling.temperature}, token budget "
        f"{plan.base.token_budget}, judge `{plan.base.judge}`, threshold {plan.base.threshold}.\n\n"
    )


def _bench_compare(reasoner: SpeculativeReasoner, plan: Any, out_dir: Path) -> list[Any]:
    from spec_graph.bench.runner import run_questions

    total = len(plan.items) * len(plan.modes)
    progress = Progress(
        TextColumn("[bold]bench"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=err,
    )

    def on_record(record: Any, records: list[Any]) -> None:
        progress.update(task, completed=len(records), description=_running_line(records))

    with progress:
        task = progress.add_task("", total=total)
        return asyncio.run(
            _closing(
                reasoner, run_questions(reasoner, plan, out_dir / "raw.jsonl", on_record=on_record)
            )
        )


def _running_line(records: list[Any]) -> str:
    """Running accuracy per mode and speedup vs target-only on the questions both finished."""
    by_mode: dict[str, list[Any]] = {}
    for r in records:
        by_mode.setdefault(r.mode, []).append(r)
    base = {r.id: r.wall_s for r in by_mode.get("target-only", [])}
    parts = []
    for name, rs in by_mode.items():
        part = f"{name}: {sum(r.correct for r in rs)}/{len(rs)}"
        common = [r for r in rs if r.id in base]
        if name != "target-only" and common:
            mine = sum(r.wall_s for r in common)
            if mine > 0:
                part += f" {sum(base[r.id] for r in common) / mine:.2f}x"
        parts.append(part)
    return escape(" | ".join(parts))


def _bench_concurrency(
    reasoner: SpeculativeReasoner, plan: Any, levels: list[int], out_dir: Path, plots: bool
) -> None:
    from spec_graph.bench.runner import ConcurrencyRow, run_concurrency

    path = out_dir / "concurrency.json"
    raw_path = out_dir / "concurrency_raw.jsonl"
    raw_path.unlink(missing_ok=True)
    finished: list[ConcurrencyRow] = []

    def save(row: ConcurrencyRow, records: list[Any]) -> None:
        """Write each level as it finishes: a stopped run keeps what it measured."""
        finished.append(row)
        path.write_text(json.dumps([r.model_dump() for r in finished], indent=2) + "\n")
        with raw_path.open("a") as f:
            for record in records:
                f.write(json.dumps({"concurrency": row.concurrency, **record.model_dump()}))
                f.write("\n")
        err.print(
            f"{escape(row.mode)} x{row.concurrency}: {row.questions} questions in "
            f"{row.elapsed_s:.0f} s, {row.throughput_qps:.3f} q/s, p50 {row.p50_s:.1f} s, "
            f"p95 {row.p95_s:.1f} s, {row.correct} correct"
        )

    progress = Progress(
        TextColumn("[bold]concurrency"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
    )
    with progress:
        task = progress.add_task("", total=len(plan.items) * len(plan.modes) * len(levels))
        rows = asyncio.run(
            _closing(
                reasoner,
                run_concurrency(
                    reasoner,
                    plan,
                    levels,
                    on_record=lambda *_: progress.advance(task),
                    on_row=save,
                ),
            )
        )
    table = Table(title="Concurrency")
    for column in ("mode", "in flight", "questions", "correct", "q/s", "p50 s", "p95 s"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            escape(r.mode), str(r.concurrency), str(r.questions), str(r.correct),
            f"{r.throughput_qps:.3f}", f"{r.p50_s:.1f}", f"{r.p95_s:.1f}",
        )  # fmt: skip
    out.print(table)
    if plots:
        from spec_graph.bench.plots import write_concurrency_plot

        write_concurrency_plot([r.model_dump() for r in rows], out_dir / "concurrency.png")
    err.print(f"[dim]wrote {path}[/]")


async def _closing(reasoner: SpeculativeReasoner, work: Any) -> Any:
    try:
        return await work
    finally:
        await reasoner.aclose()
