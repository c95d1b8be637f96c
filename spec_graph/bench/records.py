"""What a benchmark run writes: one `QuestionRecord` per question and mode (raw JSONL).

The raw file is the source of truth; summaries, tables and plots are recomputed from it, and
a rerun with the same settings skips every (question, mode) already in it (resume).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shlex
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.config import SAMPLING_FIELDS, ReasoningConfig, SamplingConfig, setting_value
from spec_graph.errors import UserError
from spec_graph.state import RunTotals
from spec_graph.strategies import get_strategy

__all__ = [
    "ModeSpec",
    "QuestionRecord",
    "StepRecord",
    "append_record",
    "read_records",
    "settings_key",
]


class ModeSpec(BaseModel):
    """A benchmarked configuration: a registered strategy plus settings.

    Written on the command line as ``"specreason judge=inline threshold=5"`` or ``"scot n=3"``:
    the strategy, then ``key=value`` settings (`ReasoningConfig` fields, the strategy's own
    options, or one field of a sampling config: ``draft_sampling.temperature=0.6``); the
    whole string is the mode's name in every output.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    strategy: str
    overrides: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ModeSpec:
        """Parse ``"STRATEGY [key=value ...]"``; unknown strategies or settings are errors.

        ``none`` (or ``off``) as a value is None, e.g. ``specreason gate_logprob=none``.
        """
        parts = shlex.split(text)
        if not parts:
            raise UserError("empty mode")
        strategy = get_strategy(parts[0])  # UserError listing the registered names
        option_names = strategy.Settings.model_fields
        overrides: dict[str, Any] = {}
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            head, dot, rest = key.partition(".")
            nested = dot and head in SAMPLING_FIELDS
            known = (
                key in ReasoningConfig.model_fields
                or key in option_names
                or (key == "judge" and "judge_prompt" in option_names)  # its earlier name
                or (nested and rest in SamplingConfig.model_fields)
            )
            if not sep or not known or key in ("strategy", "options"):
                raise UserError(
                    f"bad setting {part!r} in mode {text!r}: use KEY=VALUE with a reasoning "
                    f"setting, a sampling field (draft_sampling.temperature=0.6) or an option "
                    f"of {strategy.name!r} ({', '.join(option_names) or 'none'})"
                )
            overrides[key] = setting_value(value)
        name = " ".join(parts)
        spec = cls(name=name, strategy=strategy.name, overrides=overrides)
        spec.config(ReasoningConfig())  # validate now, not after an hour of benchmarking
        return spec

    @classmethod
    def sweep(cls, text: str) -> list[ModeSpec]:
        """Expand ``"STRATEGY KEY=V1,V2 [KEY2=...]"`` into one mode per combination.

        ``"specreason threshold=7,8 gate_logprob=-0.5,-1"`` gives four modes, named like
        hand-written ones (``"specreason threshold=7 gate_logprob=-0.5"``), so a sweep and
        ``--mode`` flags resume from the same raw records.
        """
        parts = shlex.split(text)
        if not parts:
            raise UserError("empty sweep")
        axes: list[list[str]] = []
        for part in parts[1:]:
            key, sep, values = part.partition("=")
            choices = [v for v in values.split(",") if v]
            if not sep or not choices:
                raise UserError(f"bad sweep axis {part!r} in {text!r}: use KEY=V1,V2,...")
            axes.append([f"{key}={v}" for v in choices])
        combos = itertools.product(*axes) if axes else [()]
        return [cls.parse(shlex.join([parts[0], *combo])) for combo in combos]

    def config(self, base: ReasoningConfig) -> ReasoningConfig:
        """``base`` with this mode's strategy and overrides applied (validated)."""
        try:
            return base.with_overrides(strategy=self.strategy, **self.overrides)
        except UserError as e:
            raise UserError(f"invalid settings in mode {self.name!r}: {e}") from e

    def width(self) -> int:
        """Requests this mode sends the draft at once (SCoT's ``n``, best-of-n's ``k``)."""
        options = self.config(ReasoningConfig()).options
        return max(int(options.get("n") or 2), int(options.get("k") or 1), 1)


class StepRecord(BaseModel):
    """Per step: who wrote it and what the judge said (for score histograms and AUROC)."""

    source: str
    judged: bool
    score: float | None
    tokens: int
    judge_calls: int = 0
    """Calls to the target's judge for this step (0 for a judged step: a free check, such as
    ``check_arithmetic``, rejected it before the target was asked)."""


class QuestionRecord(BaseModel):
    """One question answered by one mode: correctness, time, tokens, per-node time."""

    id: str
    mode: str
    settings_key: str
    """Which settings produced it; resume only skips records with the same key."""
    gold: str
    answer: str | None = None
    correct: bool = False
    wall_s: float = 0.0
    first_step_s: float | None = None
    """Seconds until the first step was kept (time to first reasoning step)."""
    stop_reason: str | None = None
    totals: RunTotals | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    telemetry: dict[str, Any] = Field(default_factory=dict)
    """The strategy's own telemetry (SCoT: per-draft tokens, selection, rethought)."""
    error: str | None = None
    """Set when the run failed; the record still counts (as wrong) so nothing is hidden."""


def read_records(path: Path) -> list[QuestionRecord]:
    """All records in a raw JSONL file.

    A line cut short by a killed run is skipped (its question and mode simply run again); a
    file in which no line is a record is an error, so a wrong ``--out`` is never appended to.
    """
    if not path.exists():
        return []
    records: list[QuestionRecord] = []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    for line in lines:
        try:
            records.append(QuestionRecord.model_validate_json(line))
        except ValueError:
            continue
    if lines and not records:
        raise UserError(f"{path} exists but holds no benchmark records; choose another --out")
    return records


def append_record(path: Path, record: QuestionRecord) -> None:
    """Append one record and flush it, so a killed run loses at most the question in flight."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as f:
        torn = f.tell() > 0 and (f.seek(-1, 2), f.read(1))[1] != b"\n"  # only the last byte
        f.write((b"\n" if torn else b"") + record.model_dump_json().encode() + b"\n")
        f.flush()


def settings_key(data: dict[str, Any]) -> str:
    """A short stable key for the settings that change results."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
