"""Benchmark summaries recomputed from raw records: per-mode tables, bounds, projections.

Everything here is a pure function of the `QuestionRecord` list, so a summary can be rebuilt
from the raw JSONL at any time (after a resume, or with a different baseline).

Choices that change numbers, stated once:

- A record with ``error`` counts as a question and as wrong (nothing is hidden), but enters
  the wall-time statistics only when it has ``wall_s > 0``: a run that failed before its
  clock started says nothing about latency, one that failed after spending time does.
- ``speedup`` compares means over the questions *both* modes finished (no error, some wall
  time), so a mode that ran only part of the questions, or failed on the slow ones, is not
  flattered by the questions it skipped.
- Token and per-node means are over the records that carry ``totals``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import fmean

from pydantic import BaseModel, Field

from spec_graph.bench.bounds import bound_for
from spec_graph.bench.frontier import Frontier, frontier_of
from spec_graph.bench.markdown import markdown_table
from spec_graph.bench.projection import (
    GPU_PRESETS,
    GpuCostModel,
    Projection,
    _finished,
    _ratio,
    project,
    projected_seconds,
)
from spec_graph.bench.records import QuestionRecord
from spec_graph.bench.stats import auroc, auroc_interval, percentile
from spec_graph.state import RunTotals

__all__ = [
    "GPU_PRESETS",
    "Bound",
    "GpuCostModel",
    "ModeSummary",
    "Projection",
    "RunSummary",
    "analytic_bound",
    "markdown_table",
    "project",
    "projected_seconds",
    "summarize_run",
    "write_summary",
]

DRAFT_ONLY = "draft-only"
UNSCORED = -1.0
"""Score given to a judged step whose score is None (no digit in the judge's top-k)."""


class ModeSummary(BaseModel):
    """One mode over all its questions: quality, latency, speedup, acceptance and cost."""

    mode: str
    questions: int
    correct: int
    errors: int
    accuracy: float
    """Correct / questions (0-1); errors count as wrong."""
    accuracy_delta_points: float | None = None
    """(accuracy - baseline accuracy) x 100; None for the baseline or without one."""
    mean_wall_s: float | None = None
    p50_wall_s: float | None = None
    p95_wall_s: float | None = None
    total_wall_s: float = 0.0
    mean_first_step_s: float | None = None
    speedup: float | None = None
    """Baseline mean wall / this mode's mean wall, over questions both finished."""
    speedup_questions: int = 0
    """How many questions the speedup is computed on."""
    acceptance_rate: float | None = None
    """Accepted / judged steps summed over questions (not a mean of per-question rates)."""
    mean_steps: float | None = None
    mean_draft_tokens: float | None = None
    mean_target_tokens: float | None = None
    judge_calls_per_question: float | None = None
    judge_prompt_tokens_per_call: float | None = None
    judge_cached_tokens_per_call: float | None = None
    judge_cached_fraction: float | None = None
    draft_s: float | None = None
    """Mean seconds per question in the draft node (likewise judge, correct, answer)."""
    judge_s: float | None = None
    correct_s: float | None = None
    answer_s: float | None = None
    other_s: float | None = None
    """Mean of wall - (draft + judge + correct + answer): framework, grading, waiting."""
    draft_tok_s: float | None = None
    """Sum of draft tokens / sum of draft seconds (includes the draft's prompt processing)."""
    target_tok_s: float | None = None
    """Sum of target tokens / sum of correct + answer seconds (target tokens include the
    answer's, so the answer's time is counted too)."""
    judge_s_per_call: float | None = None
    draft_tokens_per_drafted_step: float | None = None
    """Draft tokens / steps the draft wrote (accepted plus rejected drafts)."""
    target_tokens_per_target_step: float | None = None
    """Mean tokens of the steps the target wrote (the final answer excluded)."""
    judged_steps: int = 0
    judge_auroc: float | None = None
    judge_auroc_interval: tuple[float, float] | None = None
    """95% bootstrap interval of ``judge_auroc``, resampling questions (steps of a question
    share its label)."""
    judged_steps_total: int = 0
    """Judged steps over all questions (for SCoT: one selection per question)."""
    gated_steps_total: int = 0
    """Steps kept by confidence gating without a judge call, over all questions."""
    target_steps_total: int = 0
    """Steps the target wrote (corrections, hand-off spans, rethinking)."""
    steps_total: int = 0
    """AUROC of judged steps' scores (None -> -1) against their question's correctness."""


class Bound(BaseModel):
    """One mode's analytic speedup bound (its strategy's formula), beside the measured one."""

    mode: str
    strategy: str
    formula: str
    inputs: dict[str, float]
    """Every input of the formula, measured in this run."""
    draft_tok_s_from: str | None = None
    """The mode whose draft speed was used (draft-only when the run has it)."""
    bound_speedup: float
    full_acceptance_bound: float | None = None
    """The bound when every draft is accepted (no target rewriting)."""
    measured_speedup: float | None = None
    measured_over_bound: float | None = None


class RunSummary(BaseModel):
    """All modes of one benchmark run, plus the bounds and projections derived from them."""

    baseline: str
    questions: int
    """Distinct question ids over all modes."""
    modes: list[ModeSummary]
    bounds: list[Bound] = Field(default_factory=list)
    projections: list[Projection] = Field(default_factory=list)
    frontier: Frontier | None = None
    """Accuracy vs speedup of every mode, the Pareto-optimal ones and the quality-first
    choice (`spec_graph.bench.frontier`); None without the baseline mode."""

    def get(self, mode: str) -> ModeSummary | None:
        """The summary of ``mode``, or None when the run has no such mode."""
        return next((m for m in self.modes if m.mode == mode), None)


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _timed(r: QuestionRecord) -> bool:
    return r.error is None or r.wall_s > 0


def _is_correct(r: QuestionRecord) -> bool:
    return r.correct and r.error is None


def _by_mode(records: Iterable[QuestionRecord]) -> dict[str, list[QuestionRecord]]:
    groups: dict[str, list[QuestionRecord]] = {}
    for r in records:
        groups.setdefault(r.mode, []).append(r)
    return groups


def _speedup(
    records: Sequence[QuestionRecord], base: Sequence[QuestionRecord] | None
) -> tuple[float | None, int]:
    if base is None:
        return None, 0
    base_wall = {r.id: r.wall_s for r in base if _finished(r)}
    wall = {r.id: r.wall_s for r in records if _finished(r)}
    common = [i for i in wall if i in base_wall]
    if not common:
        return None, 0
    ratio = _ratio(fmean(base_wall[i] for i in common), fmean(wall[i] for i in common))
    return ratio, len(common)


def judged_steps(
    records: Sequence[QuestionRecord],
) -> tuple[list[float], list[bool], list[str]]:
    """Every judged step's score, its question's correctness and the question id."""
    scores: list[float] = []
    labels: list[bool] = []
    ids: list[str] = []
    for r in records:
        for s in r.steps:
            if s.judged:
                scores.append(UNSCORED if s.score is None else s.score)
                labels.append(_is_correct(r))
                ids.append(r.id)
    return scores, labels, ids


def _judge_auroc(
    records: Sequence[QuestionRecord],
) -> tuple[float | None, tuple[float, float] | None, int]:
    scores, labels, ids = judged_steps(records)
    return auroc(scores, labels), auroc_interval(scores, labels, ids), len(scores)


def _summarize_mode(
    mode: str,
    records: Sequence[QuestionRecord],
    base: Sequence[QuestionRecord] | None,
    base_accuracy: float | None,
) -> ModeSummary:
    """``base_accuracy`` is None for the baseline itself, so it gets no accuracy delta."""
    correct = sum(_is_correct(r) for r in records)
    accuracy = correct / len(records)
    walls = [r.wall_s for r in records if _timed(r)]
    firsts = [r.first_step_s for r in records if r.first_step_s is not None and _timed(r)]
    totals: list[RunTotals] = [r.totals for r in records if r.totals is not None]
    walled = [(r.wall_s, r.totals) for r in records if r.totals is not None]
    speedup, speedup_questions = _speedup(records, base)
    score_auroc, score_interval, n_judged = _judge_auroc(records)
    target_step_tokens = [s.tokens for r in records for s in r.steps if s.source == "target"]

    def total(field: str) -> float:
        return float(sum(getattr(t, field) for t in totals))

    def mean(field: str) -> float | None:
        return _mean([getattr(t, field) for t in totals])

    judge_calls = total("judge_calls")
    judge_prompt = total("judge_prompt_tokens")
    return ModeSummary(
        mode=mode,
        questions=len(records),
        correct=correct,
        errors=sum(r.error is not None for r in records),
        accuracy=accuracy,
        accuracy_delta_points=None if base_accuracy is None else (accuracy - base_accuracy) * 100,
        mean_wall_s=_mean(walls),
        p50_wall_s=percentile(walls, 50) if walls else None,
        p95_wall_s=percentile(walls, 95) if walls else None,
        total_wall_s=sum(walls),
        mean_first_step_s=_mean(firsts),
        speedup=speedup,
        speedup_questions=speedup_questions,
        acceptance_rate=_ratio(total("accepted_steps"), total("judged_steps")),
        mean_steps=mean("steps"),
        mean_draft_tokens=mean("draft_tokens"),
        mean_target_tokens=mean("target_tokens"),
        judge_calls_per_question=mean("judge_calls"),
        judge_prompt_tokens_per_call=_ratio(judge_prompt, judge_calls),
        judge_cached_tokens_per_call=_ratio(total("judge_cached_tokens"), judge_calls),
        judge_cached_fraction=_ratio(total("judge_cached_tokens"), judge_prompt),
        draft_s=mean("draft_s"),
        judge_s=mean("judge_s"),
        correct_s=mean("correct_s"),
        answer_s=mean("answer_s"),
        other_s=_mean([w - (t.draft_s + t.judge_s + t.correct_s + t.answer_s) for w, t in walled]),
        draft_tok_s=_ratio(total("draft_tokens"), total("draft_s")),
        target_tok_s=_ratio(total("target_tokens"), total("correct_s") + total("answer_s")),
        judge_s_per_call=_ratio(total("judge_s"), judge_calls),
        draft_tokens_per_drafted_step=_ratio(
            total("draft_tokens"), total("draft_steps") + total("rejected_steps")
        ),
        target_tokens_per_target_step=_mean(target_step_tokens),
        judged_steps=n_judged,
        judge_auroc=score_auroc,
        judge_auroc_interval=score_interval,
        judged_steps_total=int(total("judged_steps")),
        gated_steps_total=int(total("gated_steps")),
        target_steps_total=int(total("target_steps")),
        steps_total=int(total("steps")),
    )


def summarize_run(
    records: Iterable[QuestionRecord],
    baseline: str = "target-only",
    costs: Iterable[GpuCostModel] | None = None,
    tolerance_points: float = 2.0,
) -> RunSummary:
    """Summarise every mode (first-seen order) against ``baseline``.

    Bounds are added for each mode with judge calls; projections for each non-baseline mode
    at each of ``costs`` (default: `GPU_PRESETS`); the frontier and the quality-first choice
    (at most ``tolerance_points`` below the baseline), so one call gives the whole report.
    """
    records = list(records)
    groups = _by_mode(records)
    base = groups.get(baseline)
    base_accuracy = sum(_is_correct(r) for r in base) / len(base) if base else None
    modes = [
        _summarize_mode(m, recs, base, None if m == baseline else base_accuracy)
        for m, recs in groups.items()
    ]
    summary = RunSummary(baseline=baseline, questions=len({r.id for r in records}), modes=modes)
    if base is not None:
        summary.frontier = frontier_of(
            [(m.mode, m.accuracy, m.speedup, m.questions) for m in modes],
            baseline,
            tolerance_points,
        )
    for m in modes:
        bound = analytic_bound(summary, m.mode)
        if bound is not None:
            summary.bounds.append(bound)
    for cost in GPU_PRESETS.values() if costs is None else costs:
        for m in modes:
            if m.mode != baseline:
                projection = project(records, m.mode, cost, baseline)
                if projection is not None:
                    summary.projections.append(projection)
    return summary


def _draft_speed(summary: RunSummary, mode: ModeSummary) -> tuple[float, str] | None:
    """The draft's decode speed, from draft-only when the run has it.

    Draft-only decodes and is never overlapped; in a pipelined mode ``draft_s`` is only the
    time waited, which would make the draft look faster than it is.
    """
    for m in summary.modes:
        if m.mode.split()[0] == DRAFT_ONLY and m.draft_tok_s:
            return m.draft_tok_s, m.mode
    if mode.draft_tok_s:
        return mode.draft_tok_s, mode.mode
    return None


def analytic_bound(summary: RunSummary, mode: str) -> Bound | None:
    """``mode``'s analytic upper bound on its speedup over the baseline, from its strategy.

    Each strategy with a bound has its own formula (`spec_graph.bench.bounds.BOUNDS`; the
    formulas are in ``docs/bounds.md``) over speeds and rates measured in this run: the
    draft's decode speed from draft-only when the run has it (else from ``mode``), the
    target's speed and tokens per step from the baseline, judge seconds per call and
    acceptance / hand-off / gating rates from ``mode``. It ignores framework time and
    prompt-processing of steps, so a measured speedup below it shows what the model leaves
    out. None ("n/a") for the baseline, draft-only, strategies without a registered bound, or
    unmeasured inputs.
    """
    m = summary.get(mode)
    base = summary.get(summary.baseline)
    name = mode.split()[0]
    if m is None or base is None or mode == summary.baseline or name == DRAFT_ONLY:
        return None
    formula = bound_for(name)
    if formula is None:
        return None
    draft = _draft_speed(summary, m)
    found = formula(m, base, draft[0] if draft else None)
    if found is None:
        return None
    return Bound(
        mode=mode,
        strategy=name,
        formula=found.formula,
        inputs=found.inputs,
        draft_tok_s_from=draft[1] if draft else None,
        bound_speedup=found.bound,
        full_acceptance_bound=found.best_case,
        measured_speedup=m.speedup,
        measured_over_bound=None if m.speedup is None else m.speedup / found.bound,
    )


def write_summary(summary: RunSummary, path: Path) -> Path:
    """Write the summary as JSON (every mode with its ``speedup``); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.model_dump(mode="json"), indent=2) + "\n")
    return path
