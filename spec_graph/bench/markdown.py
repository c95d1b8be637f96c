"""GitHub markdown tables of a `RunSummary`: per-mode results, bounds, frontier, projections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from spec_graph.bench.projection import _ratio

if TYPE_CHECKING:  # report re-exports markdown_table, so it is imported for types only
    from spec_graph.bench.frontier import Frontier
    from spec_graph.bench.report import RunSummary

__all__ = ["frontier_lines", "markdown_table"]


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _pct(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else f"{value * 100:{spec}}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def markdown_table(summary: RunSummary) -> str:
    """GitHub tables: one row per mode, then the §6 bounds and GPU projections if any."""
    lines = _table(
        [
            "mode",
            "questions",
            "accuracy",
            "Δ acc (pts)",
            "mean s",
            "p50 s",
            "p95 s",
            "speedup",
            "acceptance",
            "gated",
            "target-written",
            "judge calls/q",
            "judge s/call",
            "AUROC [95% CI]",
        ],
        (
            [
                m.mode,
                f"{m.questions}" + (f" ({m.errors} err)" if m.errors else ""),
                _pct(m.accuracy),
                _fmt(m.accuracy_delta_points, "+.1f"),
                _secs(m.mean_wall_s),
                _secs(m.p50_wall_s),
                _secs(m.p95_wall_s),
                _fmt(m.speedup, ".2f", "x"),
                _pct(m.acceptance_rate, ".0f"),
                _pct(_ratio(m.gated_steps_total, m.steps_total), ".0f"),
                _pct(_ratio(m.target_steps_total, m.steps_total), ".0f"),
                _fmt(m.judge_calls_per_question, ".1f"),
                _fmt(m.judge_s_per_call, ".3f"),
                _fmt(m.judge_auroc, ".2f")
                + (
                    f" [{m.judge_auroc_interval[0]:.2f}, {m.judge_auroc_interval[1]:.2f}]"
                    if m.judge_auroc_interval
                    else ""
                ),
            ]
            for m in summary.modes
        ),
    )
    if summary.bounds:
        lines += [
            "",
            f"Analytic bound per strategy (docs/bounds.md), baseline {summary.baseline}:",
            "",
        ]
        lines += _table(
            ["mode", "formula", "inputs", "bound", "bound at a=1", "measured", "measured/bound"],
            _bound_rows(summary),
        )
    if summary.frontier is not None:
        lines += ["", *frontier_lines(summary.frontier)]
    if summary.projections:
        lines += ["", "Projection to other GPUs (a cost model, not a measurement):", ""]
        lines += _table(
            ["GPU", "mode", "questions", "baseline s/q", "mode s/q", "projected speedup"],
            (
                [
                    p.gpu,
                    p.mode,
                    str(p.questions),
                    _secs(p.baseline_mean_s),
                    _secs(p.mode_mean_s),
                    _fmt(p.projected_speedup, ".2f", "x"),
                ]
                for p in summary.projections
            ),
        )
        sources = {p.gpu: p.source for p in summary.projections}
        lines += ["", *(f"- {gpu}: {source}" for gpu, source in sources.items())]
    return "\n".join(lines) + "\n"


def frontier_lines(frontier: Frontier) -> list[str]:
    """The frontier as a table (every mode, fastest first) and the chosen default in words."""
    points = sorted(frontier.points, key=lambda p: (-p.speedup, -p.accuracy, p.mode))
    lines = [
        f"Accuracy-latency frontier (baseline {frontier.baseline}, "
        f"{_pct(frontier.baseline_accuracy)}); **bold** = on the frontier:",
        "",
    ]
    lines += _table(
        ["mode", "accuracy", "Δ acc (pts)", "speedup", "questions"],
        (
            [
                f"**{p.mode}**" if p.on_frontier else p.mode,
                _pct(p.accuracy),
                f"{(p.accuracy - frontier.baseline_accuracy) * 100:+.1f}",
                f"{p.speedup:.2f}x",
                str(p.questions),
            ]
            for p in points
        ),
    )
    choice = frontier.choice
    if choice is not None:
        verdict = "meets" if choice.meets_quality else "does NOT meet"
        lines += [
            "",
            f"Chosen (quality first): `{choice.mode}`: {_pct(choice.accuracy)} "
            f"({choice.accuracy_delta_points:+.1f} pts), {choice.speedup:.2f}x; {choice.rule}; "
            f"it {verdict} the rule 'at most {frontier.tolerance_points:g} points below "
            f"{frontier.baseline}'.",
        ]
    return lines


def _bound_rows(summary: RunSummary) -> list[list[str]]:
    """One row per mode but the baseline and draft-only: its bound, or "n/a" without one."""
    bounds = {b.mode: b for b in summary.bounds}
    rows = []
    for m in summary.modes:
        b = bounds.get(m.mode)
        if b is None:
            if m.mode == summary.baseline or m.mode.split()[0] == "draft-only":
                continue
            rows.append([m.mode, "n/a", "", "n/a", "", _fmt(m.speedup, ".2f", "x"), ""])
            continue
        rows.append(
            [
                b.mode,
                f"`{b.formula}`",
                ", ".join(f"{k}={v:.3g}" for k, v in b.inputs.items()),
                f"{b.bound_speedup:.2f}x",
                _fmt(b.full_acceptance_bound, ".2f", "x"),
                _fmt(b.measured_speedup, ".2f", "x"),
                _fmt(b.measured_over_bound, ".2f"),
            ]
        )
    return rows
