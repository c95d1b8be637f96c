"""Benchmark figures: accuracy vs latency, per-node time, judge scores, concurrency.

matplotlib is imported inside the functions and drawn on an Agg canvas without pyplot, so
importing this module costs nothing, no GUI backend or global figure state is touched, and
plots can be written from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_graph.bench.records import QuestionRecord
from spec_graph.bench.report import UNSCORED, RunSummary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_concurrency_plot", "write_plots"]

NODES = ("draft_s", "judge_s", "correct_s", "answer_s", "other_s")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def _accuracy_vs_latency(summary: RunSummary, path: Path) -> Path | None:
    modes = [m for m in summary.modes if m.mean_wall_s is not None]
    if not modes:
        return None
    fig = _figure(6, 4.5)
    ax = fig.add_subplot()
    for m in modes:
        x, y = m.mean_wall_s, m.accuracy * 100
        if x is None:
            continue
        ax.scatter([x], [y])
        ax.annotate(m.mode, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel("mean latency per question (s)")
    ax.set_ylabel("accuracy (%)")
    ax.margins(0.15)  # room for the labels next to the points
    ax.set_xlim(left=0)
    ax.set_title("Accuracy vs latency")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _frontier(summary: RunSummary, path: Path) -> Path | None:
    """Accuracy against speedup, the Pareto frontier drawn as a staircase, the choice ringed."""
    frontier = summary.frontier
    if frontier is None:
        return None
    fig = _figure(7, 5)
    ax = fig.add_subplot()
    for p in frontier.points:
        ax.scatter([p.speedup], [p.accuracy * 100], color="C0" if p.on_frontier else "0.6")
        ax.annotate(
            p.mode, (p.speedup, p.accuracy * 100), textcoords="offset points",
            xytext=(5, 4), fontsize=7,
        )  # fmt: skip
    on = sorted((p for p in frontier.points if p.on_frontier), key=lambda p: p.speedup)
    ax.step(
        [p.speedup for p in on], [p.accuracy * 100 for p in on], where="pre", color="C0",
        label="frontier (Pareto-optimal)",
    )  # fmt: skip
    floor = (frontier.baseline_accuracy * 100) - frontier.tolerance_points
    ax.axhline(
        floor,
        color="C3",
        linestyle=":",
        label=f"{frontier.baseline} - {frontier.tolerance_points:g} pts",
    )
    ax.axvline(1.0, color="0.5", linestyle="--", linewidth=0.8)
    if frontier.choice is not None:
        c = frontier.choice
        ax.scatter([c.speedup], [c.accuracy * 100], s=180, facecolors="none", edgecolors="C3",
                   label=f"chosen: {c.mode}")  # fmt: skip
    ax.set_xlabel(f"speedup vs {frontier.baseline} (x)")
    ax.set_ylabel("accuracy (%)")
    ax.margins(0.15)
    ax.set_title("Accuracy-latency frontier")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def _node_time(summary: RunSummary, path: Path) -> Path | None:
    modes = [m for m in summary.modes if m.draft_s is not None]
    if not modes:
        return None
    fig = _figure(max(5.0, 1.3 * len(modes) + 2), 4.5)
    ax = fig.add_subplot()
    names = [m.mode for m in modes]
    bottom = [0.0] * len(modes)
    for node in NODES:
        # other_s can dip below zero by clock jitter; a negative bar segment would mislead.
        heights = [max(getattr(m, node) or 0.0, 0.0) for m in modes]
        ax.bar(names, heights, bottom=bottom, label=node.removesuffix("_s"))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("mean seconds per question")
    ax.set_title("Time per node")
    ax.legend()
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    return _save(fig, path)


def _judged_scores(
    records: Sequence[QuestionRecord],
) -> dict[str, tuple[list[float], list[float]]]:
    """Per mode: (scores of steps in correct questions, scores in wrong ones)."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for r in records:
        good = r.correct and r.error is None
        for s in r.steps:
            if s.judged:
                pair = out.setdefault(r.mode, ([], []))
                pair[0 if good else 1].append(UNSCORED if s.score is None else s.score)
    return out


def _judge_scores(records: Sequence[QuestionRecord], path: Path) -> Path | None:
    scores = _judged_scores(records)
    if not scores:
        return None
    fig = _figure(4.5 * len(scores), 3.5)
    axes = fig.subplots(1, len(scores), squeeze=False)[0]
    for ax, (mode, (good, bad)) in zip(axes, scores.items(), strict=True):
        values = good + bad
        bins: int | list[float]
        if all(float(v).is_integer() for v in values):
            bins = [v - 0.5 for v in range(int(min(values)), int(max(values)) + 2)]
        else:
            bins = 20
        ax.hist(good, bins=bins, alpha=0.6, label=f"correct questions ({len(good)} steps)")
        ax.hist(bad, bins=bins, alpha=0.6, label=f"wrong questions ({len(bad)} steps)")
        ax.set_title(mode, fontsize=9)
        ax.set_xlabel(f"judge score ({UNSCORED:g} = no score)")
        ax.set_ylabel("steps")
        ax.legend(fontsize=7)
    return _save(fig, path)


def write_plots(
    records: Sequence[QuestionRecord], summary: RunSummary, out_dir: Path
) -> list[Path]:
    """Write the run's figures into ``out_dir``; returns the files written.

    ``judge_scores.png`` is skipped when no step was judged (nothing to show).
    """
    written = [
        _accuracy_vs_latency(summary, out_dir / "accuracy_vs_latency.png"),
        _frontier(summary, out_dir / "frontier.png"),
        _node_time(summary, out_dir / "node_time.png"),
        _judge_scores(records, out_dir / "judge_scores.png"),
    ]
    return [p for p in written if p is not None]


def write_concurrency_plot(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Throughput and p50/p95 latency against concurrency, one line per mode.

    ``rows`` are dicts with ``mode``, ``concurrency``, ``throughput_qps``, ``p50_s``, ``p95_s``.
    """
    fig = _figure(10, 4)
    left, right = fig.subplots(1, 2)
    for mode in dict.fromkeys(r.get("mode", "") for r in rows):
        mine = sorted(
            (r for r in rows if r.get("mode", "") == mode), key=lambda r: r["concurrency"]
        )
        x = [r["concurrency"] for r in mine]
        left.plot(x, [r["throughput_qps"] for r in mine], marker="o", label=mode)
        right.plot(x, [r["p50_s"] for r in mine], marker="o", label=f"{mode} p50")
        right.plot(x, [r["p95_s"] for r in mine], marker="o", linestyle="--", label=f"{mode} p95")
    left.set_xlabel("concurrency")
    left.set_ylabel("throughput (questions/s)")
    left.set_title("Throughput")
    left.legend()
    right.set_xlabel("concurrency")
    right.set_ylabel("latency (s)")
    right.set_title("Latency")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    return _save(fig, path)
