"""``spec-graph serve``: the OpenAI-compatible endpoint (`spec_graph.serve`) on the models.

The models come from the same options as ``ask`` (``--profile`` embedded servers, or
``--draft-url``/``--target-url`` and ``SPEC_GRAPH_DRAFT__*``/``SPEC_GRAPH_TARGET__*``);
embedded ones start before the server listens. The endpoint's own settings are
`spec_graph.config.ServeSettings` (``SPEC_GRAPH_SERVE__*``), the flags on top.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.markup import escape

from spec_graph.cli.display import err, out
from spec_graph.cli.options import (
    DraftGguf,
    DraftModel,
    DraftUrl,
    Profile,
    ServerFlags,
    TargetGguf,
    TargetModel,
    TargetUrl,
    Timeout,
    check_strategy,
    load_settings,
    note_tuned,
    reasoning_config,
    slots_for,
    strategy_options,
)
from spec_graph.cli.signals import interrupted
from spec_graph.errors import UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.strategies import strategy_names

__all__ = ["serve"]


def serve(
    profile: Profile = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1: this machine).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default 8080; 0: a free one).")
    ] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Requests run at once (default 4); more get 429 Retry-After."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Name of the env var holding the bearer key clients must send (default: "
            "SPEC_GRAPH_SERVE__API_KEY, if set). The key itself is never a flag."
        ),
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"Strategy of model 'spec-graph' ({', '.join(strategy_names())}); "
            "'spec-graph/<strategy>' picks any.",
            callback=check_strategy,
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A strategy setting KEY=VALUE (repeatable)."),
    ] = None,
    drain: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds runs in flight may finish after SIGTERM (default 30)."),
    ] = None,
    draft_url: DraftUrl = None,
    draft_model: DraftModel = None,
    target_url: TargetUrl = None,
    target_model: TargetModel = None,
    draft_gguf: DraftGguf = None,
    target_gguf: TargetGguf = None,
    timeout: Timeout = None,
) -> None:
    """Serve an OpenAI-compatible API (/v1/chat/completions, /v1/models) on the models."""
    from spec_graph.serve import create_app, run_server  # the server extra, only here

    settings = load_settings()
    note_tuned()
    changes: dict[str, object] = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "max_concurrency": max_concurrency,
            "drain_s": drain,
        }.items()
        if v is not None
    }
    if api_key_env is not None:
        key = os.environ.get(api_key_env)
        if not key:
            raise UserError(f"--api-key-env {api_key_env}: that environment variable is empty")
        changes["api_key"] = key
    serve_settings = settings.serve.model_validate({**settings.serve.model_dump(), **changes})
    config = reasoning_config(settings, {"strategy": strategy, **strategy_options(option)}, {})
    servers = ServerFlags(
        profile,
        (draft_url, draft_model, draft_gguf),
        (target_url, target_model, target_gguf),
        timeout,
    ).model_servers(
        settings,
        parallel=serve_settings.max_concurrency,
        slots=slots_for(config),
    )
    shown_key = "required" if serve_settings.api_key is not None else "none"

    def listening(url: str) -> None:
        out.print(
            f"spec-graph serve: listening on {escape(url)} (API key: {shown_key})", soft_wrap=True
        )

    try:
        with servers:  # embedded models start here, before the server listens
            reasoner = SpeculativeReasoner.from_endpoints(servers.draft, servers.target, config)
            err.print(f"[dim]models: draft {servers.draft.model}, target {servers.target.model}[/]")
            run_server(create_app(lambda: reasoner, serve_settings), serve_settings, listening)
    except KeyboardInterrupt:
        raise typer.Exit(interrupted()) from None
