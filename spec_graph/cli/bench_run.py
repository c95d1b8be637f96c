"""`BenchRun`: a bench run once its flags are read; ``bench`` and ``tune`` share it.

Running every mode on every question, recording, reporting and the live progress are
written once here; each command only turns its own flags into a `BenchRun`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from spec_graph.bench.report import GPU_PRESETS, GpuCostModel
from spec_graph.cli.display import err, out
from spec_graph.cli.options import (
    ServerFlags,
    load_settings,
    reasoning_config,
)
from spec_graph.cli.signals import interrupted
from spec_graph.config import ReasoningConfig, SpecGraphSettings, settings_file
from spec_graph.errors import UserError
from spec_graph.judging.contract import JudgeSettings
from spec_graph.reasoner import SpeculativeReasoner

if TYPE_CHECKING:
    from spec_graph.bench.records import ModeSpec
    from spec_graph.bench.report import RunSummary
    from spec_graph.bench.runner import BenchItem, RunPlan

__all__ = ["DEFAULT_MODES", "BenchRun", "bench_modes", "default_modes"]

DEFAULT_MODES = ("target-only", "draft-only", "specreason")


@dataclass(frozen=True)
class BenchRun:
    """A bench run once its flags are read: questions, modes, base config, servers, folder.

    ``bench`` and ``tune`` each build one from their own options (`prepare`) and call
    `compare` (or `concurrency`), so the running, recording and reporting is written once.
    """

    data: Path
    """The questions file (named in results.md)."""
    modes: list[ModeSpec]
    items: list[BenchItem]
    base: ReasoningConfig
    settings: SpecGraphSettings
    """Where server endpoints come from (`prepare`: the untuned settings)."""
    servers: ServerFlags
    out_dir: Path
    target_speculation: int | None = None

    @classmethod
    def prepare(
        cls,
        data: Path,
        mode: list[str] | None,
        sweep: list[str] | None,
        servers: ServerFlags,
        out_dir: Path,
        *,
        limit: int | None,
        offset: int,
        seed: int | None = None,
        temperature: float,
        reasoning: dict[str, Any],
        target_speculation: int | None = None,
    ) -> BenchRun:
        """The run of ``--mode``/``--sweep`` texts on ``data``'s questions.

        The base config is the untuned settings (code and env vars, not an earlier tune's
        choice) with ``reasoning`` and ``temperature``; a bad mode or a missing file fails
        here, before any server starts.
        """
        from spec_graph.bench.runner import load_items

        settings = load_settings(tuned=False)
        base = reasoning_config(settings, reasoning, {"temperature": temperature})
        return cls(
            data=data,
            modes=bench_modes(mode, sweep, base),
            items=load_items(data, limit=limit, offset=offset, seed=seed),
            base=base,
            settings=settings,
            servers=servers,
            out_dir=out_dir,
            target_speculation=target_speculation,
        )

    def compare(
        self,
        *,
        costs: list[GpuCostModel] | None = None,
        plots: bool = True,
        tolerance_points: float = 2.0,
    ) -> tuple[RunSummary, RunPlan]:
        """Run every mode on every question; write raw.jsonl, summary.json, results.md, plots.

        Returns the summary and plan, for ``tune``'s choice.
        """
        from spec_graph.bench import report as bench_report

        with self._started() as (reasoner, plan):
            records = _bench_compare(reasoner, plan, self.out_dir)
        summary = bench_report.summarize_run(
            records,
            costs=list(GPU_PRESETS.values()) if costs is None else costs,
            tolerance_points=tolerance_points,
        )
        bench_report.write_summary(summary, self.out_dir / "summary.json")
        table = bench_report.markdown_table(summary)
        (self.out_dir / "results.md").write_text(_results_header(plan, self.data) + table)
        written = [self.out_dir / "summary.json", self.out_dir / "results.md"]
        if plots:
            from spec_graph.bench.plots import write_plots

            written += write_plots(records, summary, self.out_dir)
        out.print(table)
        err.print("[dim]wrote " + ", ".join(str(p) for p in written) + "[/]")
        return summary, plan

    def concurrency(self, levels: list[int], *, plots: bool = True) -> None:
        """Run each mode at each number of questions in flight: concurrency.json, its plot."""
        with self._started(levels) as (reasoner, plan):
            _bench_concurrency(reasoner, plan, levels, self.out_dir, plots)

    @contextmanager
    def _started(
        self, levels: list[int] | None = None
    ) -> Iterator[tuple[SpeculativeReasoner, RunPlan]]:
        """The servers up, a reasoner on them and the plan; Ctrl-C is exit 130 with a note."""
        from spec_graph.bench.runner import RunPlan

        servers = self.servers.model_servers(
            self.settings,
            # embedded servers: a slot per question in flight, and per draft of SCoT / best-of-n
            parallel=max([2, *(levels or [])]),
            slots=max([2, *(levels or [])]) * max(m.width() for m in self.modes),
            target_speculation=self.target_speculation,
        )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with servers:
                reasoner = SpeculativeReasoner.from_endpoints(
                    servers.draft, servers.target, self.base
                )
                yield (
                    reasoner,
                    RunPlan(
                        items=self.items,
                        modes=self.modes,
                        base=self.base,
                        draft_model=reasoner.draft.model_name,
                        target_model=reasoner.target.model_name,
                        target_speculation=self.target_speculation,
                    ),
                )
        except KeyboardInterrupt:
            raw = self.out_dir / "raw.jsonl"
            err.print(f"finished questions are in {raw}")
            raise typer.Exit(interrupted()) from None


def default_modes() -> tuple[str, ...]:
    """The modes of a run without ``--mode``: target-only, draft-only and the default.

    The default is the tuned mode when the settings file has one (``spec-graph tune``),
    else specreason.
    """
    from spec_graph.settings_file import read_settings_file

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


def _judging(base: ReasoningConfig) -> str:
    """``, judge `yesno`, threshold 8`` for a base whose strategy judges steps, else nothing."""
    settings = base.strategy_settings
    if not isinstance(settings, JudgeSettings):
        return ""
    return f", judge `{settings.judge_prompt}`, threshold {settings.threshold}"


def _results_header(plan: Any, data: Path) -> str:
    ids = [item.id for item in plan.items]
    return (
        f"Questions: {len(ids)} from `{data.name}` ({ids[0]} .. {ids[-1]}); "
        f"draft `{plan.draft_model}`, target `{plan.target_model}`; "
        f"temperature {plan.base.draft_sampling.temperature}, token budget "
        f"{plan.base.token_budget}{_judging(plan.base)}.\n\n"
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
