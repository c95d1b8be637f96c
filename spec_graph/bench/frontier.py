"""The accuracy-latency frontier of a benchmark run, and the quality-first choice on it.

Every mode of a run is a point (speedup vs the baseline, accuracy). A point is on the
frontier (Pareto-optimal) when no other point is at least as fast and at least as accurate
and better in one of the two. The default configuration is chosen on it *quality first*:

1. among the speculative modes (any strategy other than the two baselines), the fastest one
   whose accuracy is at most ``tolerance_points`` below the baseline's;
2. if none is that accurate, the most accurate speculative mode, and the choice says so
   (``meets_quality=False``) so nobody reports it as "not worse".

Ties are broken by the other axis, then alphabetically by mode name (deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from spec_graph.bench.records import ModeSpec
from spec_graph.errors import UserError

__all__ = [
    "BASELINES",
    "Choice",
    "Frontier",
    "FrontierPoint",
    "choose",
    "frontier_of",
    "pareto",
]

BASELINES = ("target-only", "draft-only")
"""Strategies that are references, never candidates for the speculative default."""


class FrontierPoint(BaseModel):
    """One mode of the run on the accuracy / speedup plane."""

    mode: str
    strategy: str
    accuracy: float
    """0-1, errors count as wrong."""
    speedup: float
    """Baseline mean wall-clock / this mode's, on the questions both finished."""
    questions: int
    on_frontier: bool = False

    @property
    def speculative(self) -> bool:
        """Whether this mode is a candidate for the default (not a baseline)."""
        return self.strategy not in BASELINES


class Choice(BaseModel):
    """The configuration the quality-first rule picks, and why."""

    mode: str
    meets_quality: bool
    """True: within ``tolerance_points`` of the baseline's accuracy (rule 1)."""
    rule: str
    """The rule that picked it, in words."""
    accuracy: float
    accuracy_delta_points: float
    speedup: float


class Frontier(BaseModel):
    """All points of a run, the Pareto-optimal ones, and the chosen default."""

    baseline: str
    baseline_accuracy: float
    tolerance_points: float
    points: list[FrontierPoint]
    frontier: list[str] = Field(default_factory=list)
    """Modes on the frontier, fastest first."""
    choice: Choice | None = None
    """None when the run has no speculative mode."""


def _dominates(a: FrontierPoint, b: FrontierPoint) -> bool:
    at_least = a.accuracy >= b.accuracy and a.speedup >= b.speedup
    return at_least and (a.accuracy > b.accuracy or a.speedup > b.speedup)


def pareto(points: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    """The points no other point dominates, fastest first (equal points all stay)."""
    kept = [p for p in points if not any(_dominates(q, p) for q in points)]
    return sorted(kept, key=lambda p: (-p.speedup, -p.accuracy, p.mode))


def choose(
    points: Sequence[FrontierPoint], baseline_accuracy: float, tolerance_points: float = 2.0
) -> Choice | None:
    """The quality-first default among the speculative ``points`` (module docstring)."""
    # sorted by name first: `max` keeps the first of equal keys, so ties go alphabetically
    candidates = sorted((p for p in points if p.speculative), key=lambda p: p.mode)
    if not candidates:
        return None
    floor = baseline_accuracy - tolerance_points / 100 - 1e-9  # float noise never excludes
    good = [p for p in candidates if p.accuracy >= floor]
    if good:
        best = max(good, key=lambda p: (p.speedup, p.accuracy))
        rule = f"fastest speculative mode within {tolerance_points:g} points of the baseline"
    else:
        best = max(candidates, key=lambda p: (p.accuracy, p.speedup))
        rule = (
            f"no speculative mode is within {tolerance_points:g} points of the baseline: "
            "the most accurate one"
        )
    return Choice(
        mode=best.mode,
        meets_quality=bool(good),
        rule=rule,
        accuracy=best.accuracy,
        accuracy_delta_points=(best.accuracy - baseline_accuracy) * 100,
        speedup=best.speedup,
    )


def _strategy_of(mode: str) -> str:
    try:
        return ModeSpec.parse(mode).strategy
    except UserError:  # a strategy registered by the run that wrote the records, not here
        return mode.split()[0]


def frontier_of(
    modes: Sequence[tuple[str, float, float | None, int]],
    baseline: str = "target-only",
    tolerance_points: float = 2.0,
) -> Frontier:
    """The frontier of ``(mode, accuracy, speedup, questions)`` rows of one run.

    Modes without a speedup (no question in common with the baseline) are left out; the
    baseline itself is a point at 1.0x.
    """
    by_name = {name: (accuracy, speedup, n) for name, accuracy, speedup, n in modes}
    if baseline not in by_name:
        raise UserError(f"the frontier needs the baseline mode {baseline!r} in the run")
    points = [
        FrontierPoint(
            mode=name,
            strategy=_strategy_of(name),
            accuracy=accuracy,
            speedup=1.0 if name == baseline else speedup,
            questions=n,
        )
        for name, (accuracy, speedup, n) in by_name.items()
        if speedup is not None or name == baseline
    ]
    optimal = pareto(points)
    names = {p.mode for p in optimal}
    for p in points:
        p.on_frontier = p.mode in names
    base_accuracy = by_name[baseline][0]
    return Frontier(
        baseline=baseline,
        baseline_accuracy=base_accuracy,
        tolerance_points=tolerance_points,
        points=points,
        frontier=[p.mode for p in optimal],
        choice=choose(points, base_accuracy, tolerance_points),
    )
