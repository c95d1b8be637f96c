"""The tuned settings file: where it is, reading it, and the settings source over it.

``spec-graph tune`` writes the file (`spec_graph.tuning`); `SpecGraphSettings` reads it through
`SettingsFileSource`. This module knows the file, not the config models (the source is given
a function that checks a ``reasoning`` section), so `spec_graph.config` can use it without a
cycle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
from pydantic_settings import BaseSettings, JsonConfigSettingsSource, PydanticBaseSettingsSource

from spec_graph.errors import UserError

__all__ = [
    "SETTINGS_FILE_ENV",
    "SettingsFileSource",
    "read_settings_file",
    "settings_file",
    "settings_file_error",
]

SETTINGS_FILE_ENV = "SPEC_GRAPH_SETTINGS_FILE"


def settings_file() -> Path:
    """Where `spec-graph tune` writes, and every command reads, the tuned settings.

    ``$SPEC_GRAPH_SETTINGS_FILE`` when set, else ``settings.json`` in the user config folder
    (``~/.config/spec-graph`` on Linux). A missing file is simply no settings.
    """
    given = os.environ.get(SETTINGS_FILE_ENV)
    if given:
        return Path(given).expanduser()
    return Path(platformdirs.user_config_dir("spec-graph")) / "settings.json"


def settings_file_error(path: Path, problem: str) -> UserError:
    """A broken settings file, said with its path and the way out."""
    return UserError(f"settings file {path} {problem}: rerun `spec-graph tune` or delete it")


def read_settings_file(path: Path) -> dict[str, Any]:
    """The file's content, ``{}`` when it does not exist; a broken file is a `UserError`."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        raise settings_file_error(path, f"is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise settings_file_error(path, "must hold a JSON object")
    return data


class SettingsFileSource(JsonConfigSettingsSource):
    """The tuned settings file; a broken one is a clear error naming the file, not a trace.

    Sources are merged key by key, which is right for single fields (an env var changes the
    threshold and keeps the tuned strategy) but wrong for a strategy's options, which only
    make sense with their strategy: a ``reasoning`` given in code replaces the file's, and
    another strategy from the environment drops the file's options.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        path: Path,
        env: PydanticBaseSettingsSource,
        *,
        code_reasoning: bool,
        check_reasoning: Callable[[dict[str, Any]], str | None],
    ) -> None:
        self._path = path
        self._env = env
        self._code_reasoning = code_reasoning
        self._check_reasoning = check_reasoning
        read_settings_file(path)  # a broken file is a clear error here, not in pydantic
        super().__init__(settings_cls, json_file=path)

    def __call__(self) -> dict[str, Any]:
        """The file's settings, its ``reasoning`` checked and merged as the class says."""
        data = super().__call__()
        reasoning = data.get("reasoning")
        if reasoning is None:
            return data
        if self._code_reasoning:
            return {k: v for k, v in data.items() if k != "reasoning"}
        if not isinstance(reasoning, dict):
            raise settings_file_error(self._path, "has a 'reasoning' that is not an object")
        problems = self._check_reasoning(reasoning)
        if problems is not None:
            raise settings_file_error(
                self._path, f"has reasoning settings this version cannot use ({problems})"
            )
        env_reasoning = self._env().get("reasoning")
        env_strategy = env_reasoning.get("strategy") if isinstance(env_reasoning, dict) else None
        if env_strategy is not None and env_strategy != reasoning.get("strategy"):
            data["reasoning"] = {k: v for k, v in reasoning.items() if k != "options"}
        return data
