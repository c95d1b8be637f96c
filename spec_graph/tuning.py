"""Tuned settings: what ``spec-graph tune`` chose on the user's own hardware, as a file.

A frontier measured on one machine is not another's (decode speeds, the draft/target ratio
and the judge's prefill cost all differ), so ``spec-graph tune`` benchmarks a small sweep on
the user's servers and writes the quality-first choice (`spec_graph.bench.frontier`) to the
settings file (`spec_graph.config.settings_file`). `SpecGraphSettings` reads that file, so
``ask``, ``bench``, the chat model and library code all start from the tuned configuration;
code and env vars still win over it.

The file is JSON: ``reasoning`` (a partial `ReasoningConfig`: the chosen strategy, its
options, the overrides of the chosen mode and the sampling it was measured with) and
``tuned`` (provenance: the frontier, the data, the models, when), which settings ignore.
Other keys a user wrote by hand (endpoints, profile) are kept on rewrite.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spec_graph.bench.frontier import Frontier
from spec_graph.bench.records import ModeSpec
from spec_graph.config import SAMPLING_FIELDS, ReasoningConfig
from spec_graph.errors import UserError
from spec_graph.settings_file import read_settings_file

__all__ = ["read_settings_file", "tuned_reasoning", "write_settings_file"]


def tuned_reasoning(mode: str, base: ReasoningConfig) -> dict[str, Any]:
    """The ``reasoning`` section for the chosen ``mode`` as it was run on top of ``base``."""
    spec = ModeSpec.parse(mode)
    config = spec.config(base)
    section: dict[str, Any] = {"strategy": config.strategy, "options": dict(config.options)}
    dumped = config.model_dump(mode="json")
    for key in (*SAMPLING_FIELDS, *spec.overrides):  # sampling changes what accuracy means
        if key in ReasoningConfig.model_fields and key not in ("strategy", "options"):
            section[key] = dumped[key]
    return section


def write_settings_file(
    path: Path,
    frontier: Frontier,
    base: ReasoningConfig,
    *,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the frontier's choice into ``path`` (atomically); returns what was written.

    Keys other than ``reasoning`` and ``tuned`` already in the file are kept; ``reasoning``
    is replaced as a whole (a stale option of another strategy must not survive).
    """
    if frontier.choice is None:
        raise UserError("the sweep had no speculative mode, so there is nothing to choose")
    choice = frontier.choice
    data = read_settings_file(path)
    data["reasoning"] = tuned_reasoning(choice.mode, base)
    data["tuned"] = {
        "mode": choice.mode,
        "rule": choice.rule,
        "meets_quality": choice.meets_quality,
        "accuracy": choice.accuracy,
        "baseline": frontier.baseline,
        "baseline_accuracy": frontier.baseline_accuracy,
        "accuracy_delta_points": choice.accuracy_delta_points,
        "speedup": choice.speedup,
        "tolerance_points": frontier.tolerance_points,
        "frontier": frontier.frontier,
        "points": [p.model_dump() for p in frontier.points],
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(provenance or {}),
    }
    ReasoningConfig.model_validate(data["reasoning"])  # never write what cannot be read back
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    Path(tmp).replace(path)
    return data
