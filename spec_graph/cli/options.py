"""What the ``spec-graph`` commands share: flags to configs, the server options, the servers.

Each command module (`spec_graph.cli` for ``ask`` and ``models``, `spec_graph.cli.bench`,
`spec_graph.cli.tune`) declares its own options beside its body; the helpers that turn flags
into an `EndpointConfig`, a `ReasoningConfig` or running `ModelServers`, and the option types
worded the same in ``bench`` and ``tune``, live here so that no command imports another's
module for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from spec_graph.cli.display import DownloadProgress, err
from spec_graph.config import (
    ROLES,
    SAMPLING_FIELDS,
    EndpointConfig,
    ReasoningConfig,
    Role,
    SpecGraphSettings,
    setting_value,
    settings_file,
)
from spec_graph.embedded import LOCAL_PROFILES, ModelServers
from spec_graph.errors import UserError
from spec_graph.settings_file import read_settings_file
from spec_graph.strategies import get_strategy

__all__ = [
    "DraftGguf",
    "DraftModel",
    "DraftUrl",
    "Limit",
    "MaxSteps",
    "Offset",
    "Profile",
    "RoleFlags",
    "ServerFlags",
    "TargetGguf",
    "TargetModel",
    "TargetUrl",
    "Timeout",
    "TokenBudget",
    "check_strategy",
    "endpoint_config",
    "load_settings",
    "note_tuned",
    "reasoning_config",
    "role_settings",
    "strategy_options",
]


def endpoint_config(
    role: Role,
    url: str | None,
    model: str | None,
    settings: SpecGraphSettings,
    timeout: float | None = None,
) -> EndpointConfig | None:
    """The ``role`` server: the settings' endpoint with the flags given on top.

    None when neither a flag nor the settings name a URL, so `ModelServers` embeds that role.
    A ``--X-url`` flag keeps every other setting of the role (its API key above all).
    """
    values = role_settings(role, settings, timeout)
    if url is not None:
        values["base_url"] = url
    if "base_url" not in values:
        return None
    if model is not None:
        values["model"] = model
    values.setdefault("model", "default")
    try:
        return EndpointConfig.model_validate(values)
    except ValueError as e:
        problem = str(e.errors()[0]["msg"]).removeprefix("Value error, ")  # type: ignore[attr-defined]
        raise UserError(f"invalid --{role}-url: {problem}") from e


def role_settings(
    role: Role, settings: SpecGraphSettings, timeout: float | None = None
) -> dict[str, Any]:
    """The endpoint fields given for ``role`` (settings, then the ``--timeout`` flag)."""
    values = settings.endpoint_overrides(role)
    if timeout is not None:
        values["timeout_s"] = timeout
    return values


def load_settings(*, tuned: bool = True) -> SpecGraphSettings:
    """`SpecGraphSettings` from env and the settings file; a bad value is one clear line."""
    try:
        return SpecGraphSettings() if tuned else SpecGraphSettings.untuned()
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
            f"{str(err['msg']).removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise UserError(f"invalid SPEC_GRAPH_* setting: {problems}") from None


def reasoning_config(
    settings: SpecGraphSettings, overrides: dict[str, Any], sampling: dict[str, Any]
) -> ReasoningConfig:
    """The env/default settings with the flags that were given (None = not given).

    ``sampling`` (temperature, seed) applies to every role's sampling config at once.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    sampled = {k: v for k, v in sampling.items() if v is not None}
    if sampled:
        for role in SAMPLING_FIELDS:
            given[role] = {**getattr(settings.reasoning, role).model_dump(), **sampled}
    return settings.reasoning.with_overrides(**given)


def strategy_options(values: list[str] | None) -> dict[str, Any]:
    """``--option KEY=VALUE`` flags as a dict (the strategy's settings model validates them)."""
    options: dict[str, Any] = {}
    for text in values or []:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad --option {text!r}: use KEY=VALUE, e.g. --option n=3")
        options[key.strip()] = setting_value(value.strip())
    return options


def note_tuned() -> None:
    """Say when the settings file of ``spec-graph tune`` shapes this run (stderr, dim)."""
    path = settings_file()
    if path.is_file():
        tuned = read_settings_file(path).get("tuned") or {}
        what = f" ({tuned['mode']}, tuned {tuned.get('at', '?')})" if "mode" in tuned else ""
        err.print(f"[dim]settings from {escape(str(path))}{escape(what)}[/]")


def check_strategy(value: str | None) -> str | None:
    """Typer callback of ``--strategy``: an unknown name is a usage error (exit 2) naming it."""
    if value is not None:
        try:
            get_strategy(value)
        except UserError as e:
            raise typer.BadParameter(str(e)) from None  # click names the flag itself
    return value


# Options worded the same in ``bench`` and ``tune`` (``ask`` words its server options for a
# first run); each command gives its own default.
Profile = Annotated[str | None, typer.Option(help=f"Embedded models: {', '.join(LOCAL_PROFILES)}.")]
Limit = Annotated[int | None, typer.Option(min=1, help="Number of questions.")]
Offset = Annotated[int, typer.Option(min=0, help="Skip this many questions.")]
TokenBudget = Annotated[int, typer.Option(min=1, help="Token budget per chain.")]
MaxSteps = Annotated[int, typer.Option(min=1, help="Most steps per chain.")]
DraftUrl = Annotated[str | None, typer.Option(help="Use a running draft server.")]
DraftModel = Annotated[str | None, typer.Option(help="Model name on the draft server.")]
TargetUrl = Annotated[str | None, typer.Option(help="Use a running target server.")]
TargetModel = Annotated[str | None, typer.Option(help="Model name on the target server.")]
DraftGguf = Annotated[Path | None, typer.Option(help="Embedded draft GGUF file.")]
TargetGguf = Annotated[Path | None, typer.Option(help="Embedded target GGUF file.")]
Timeout = Annotated[
    float | None,
    typer.Option(
        min=1, help="Seconds per server request (default: SPEC_GRAPH_*__TIMEOUT_S, else 300)."
    ),
]

RoleFlags = tuple[str | None, str | None, Path | None]
"""A role's ``--X-url``, ``--X-model`` and ``--X-gguf``."""


def slots_for(config: ReasoningConfig) -> int:
    """Slots an embedded server needs for one run: 2, or a strategy's ``n``/``k`` at once."""
    return max(2, *(int(config.options.get(key) or 0) for key in ("n", "k")))


@dataclass(frozen=True)
class ServerFlags:
    """A command's server options as one value, so a command hands them on in one argument."""

    profile: str | None
    draft: RoleFlags
    target: RoleFlags
    timeout: float | None

    def model_servers(
        self,
        settings: SpecGraphSettings,
        *,
        quiet: bool = False,
        parallel: int = 2,
        slots: int | None = None,
        target_speculation: int | None = None,
    ) -> ModelServers:
        """The servers: given URLs, embedded servers (with progress bars) for the rest.

        Nothing starts until the result is entered (``with``); a bad URL or profile fails here.
        """
        embedded = settings.embedded
        return ModelServers(
            self.profile or settings.profile,
            draft=endpoint_config("draft", self.draft[0], self.draft[1], settings, self.timeout),
            target=endpoint_config(
                "target", self.target[0], self.target[1], settings, self.timeout
            ),
            draft_gguf=self.draft[2],
            target_gguf=self.target[2],
            concurrency=parallel,
            slots=max(slots or 0, embedded.slots or 0) or None,
            n_ctx=embedded.n_ctx,
            progress=DownloadProgress(),
            on_start=None if quiet else lambda message: err.print(f"[dim]{escape(message)}[/]"),
            target_speculation=target_speculation or embedded.target_speculation,
            endpoint_settings={role: role_settings(role, settings, self.timeout) for role in ROLES},
        )
