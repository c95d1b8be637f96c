from __future__ import annotations

import json
from typing import Any

import pytest

from spec_graph.bench.plots import write_concurrency_plot, write_plots
from spec_graph.bench.records import QuestionRecord, StepRecord
from spec_graph.bench.report import (
    GPU_PRESETS,
    GpuCostModel,
    analytic_bound,
    markdown_table,
    project,
    summarize_run,
    write_summary,
)
from spec_graph.state import RunTotals

SPEC = "specreason judge=inline threshold=5"


def totals(**fields: Any) -> RunTotals:
    base: dict[str, Any] = {name: 0 for name in RunTotals.model_fields}
    base["acceptance_rate"] = None
    return RunTotals(**{**base, **fields})


def record(qid: str, mode: str, wall: float, correct: bool, **fields: Any) -> QuestionRecord:
    return QuestionRecord(
        id=qid, mode=mode, settings_key="k", gold="1", wall_s=wall, correct=correct, **fields
    )


def target_step(tokens: int = 90) -> StepRecord:
    return StepRecord(source="target", judged=False, score=None, tokens=tokens)


def judged(source: str, score: float | None, tokens: int) -> StepRecord:
    return StepRecord(source=source, judged=True, score=score, tokens=tokens)


def baseline_totals() -> RunTotals:
    # 4 target steps of 90 tokens + a 40-token answer; 1000 prompt tokens, 600 cached.
    return totals(
        steps=4,
        target_steps=4,
        target_tokens=400,
        target_prompt_tokens=1000,
        cached_prompt_tokens=600,
        correct_s=8.0,
        answer_s=1.0,
    )


def draft_only_totals() -> RunTotals:
    return totals(
        steps=3,
        draft_steps=3,
        draft_tokens=150,
        target_tokens=40,
        draft_prompt_tokens=500,
        target_prompt_tokens=100,
        cached_prompt_tokens=200,
        draft_s=0.5,
        answer_s=0.3,
    )


SPEC_Q1 = totals(
    steps=3,
    draft_steps=2,
    target_steps=1,
    judged_steps=3,
    accepted_steps=2,
    rejected_steps=1,
    draft_tokens=150,
    target_tokens=100,
    draft_prompt_tokens=900,
    target_prompt_tokens=600,
    cached_prompt_tokens=650,
    judge_calls=3,
    judge_prompt_tokens=300,
    judge_cached_tokens=150,
    draft_s=1.5,
    judge_s=0.6,
    correct_s=0.8,
    answer_s=0.4,
)
SPEC_Q2 = totals(
    steps=2,
    draft_steps=1,
    target_steps=1,
    judged_steps=2,
    accepted_steps=1,
    rejected_steps=1,
    draft_tokens=100,
    target_tokens=100,
    draft_prompt_tokens=600,
    target_prompt_tokens=500,
    cached_prompt_tokens=500,
    judge_calls=2,
    judge_prompt_tokens=200,
    judge_cached_tokens=100,
    draft_s=1.0,
    judge_s=0.4,
    correct_s=0.6,
    answer_s=0.4,
)


@pytest.fixture
def records() -> list[QuestionRecord]:
    steps4 = [target_step() for _ in range(4)]
    return [
        record("q1", "target-only", 10.0, True, totals=baseline_totals(), steps=steps4),
        record("q2", "target-only", 20.0, True, totals=baseline_totals(), steps=steps4),
        record("q3", "target-only", 30.0, False, totals=baseline_totals(), steps=steps4),
        record("q1", "draft-only", 2.0, True, totals=draft_only_totals()),
        record("q2", "draft-only", 3.0, False, totals=draft_only_totals()),
        record("q3", "draft-only", 4.0, False, totals=draft_only_totals()),
        record(
            "q1",
            SPEC,
            5.0,
            True,
            totals=SPEC_Q1,
            first_step_s=0.5,
            steps=[judged("draft", 8, 50), judged("draft", 9, 50), judged("target", 2, 60)],
        ),
        record(
            "q2",
            SPEC,
            10.0,
            False,
            totals=SPEC_Q2,
            first_step_s=1.5,
            steps=[judged("draft", 7, 50), judged("target", None, 60)],
        ),
        # Failed before its clock started; marked correct to show errors still count wrong.
        record("q3", SPEC, 0.0, True, error="server died"),
    ]


COST = GpuCostModel(
    name="test-gpu",
    target_decode_tok_s=100,
    target_prefill_tok_s=1000,
    draft_decode_tok_s=400,
    draft_prefill_tok_s=4000,
    judge_overhead_s=0.01,
    source="made up for the test",
)


def test_modes_in_first_seen_order_and_accuracy(records):
    summary = summarize_run(records)
    assert [m.mode for m in summary.modes] == ["target-only", "draft-only", SPEC]
    assert summary.questions == 3
    base, draft, spec = summary.modes
    assert base.accuracy == pytest.approx(2 / 3)
    assert draft.accuracy == pytest.approx(1 / 3)
    assert base.accuracy_delta_points is None
    assert draft.accuracy_delta_points == pytest.approx(-100 / 3)
    assert spec.accuracy_delta_points == pytest.approx(-100 / 3)


def test_errors_count_as_wrong_and_skip_wall_stats_without_time(records):
    spec = summarize_run(records).get(SPEC)
    assert spec is not None
    assert (spec.questions, spec.correct, spec.errors) == (3, 1, 1)
    assert spec.mean_wall_s == pytest.approx(7.5)
    assert spec.total_wall_s == pytest.approx(15.0)
    assert spec.mean_first_step_s == pytest.approx(1.0)


def test_errored_record_with_time_enters_wall_stats_but_not_speedup(records):
    records[-1] = record("q3", SPEC, 6.0, False, error="timeout")
    spec = summarize_run(records).get(SPEC)
    assert spec is not None
    assert spec.mean_wall_s == pytest.approx(7.0)
    assert spec.speedup_questions == 2


def test_speedup_only_over_common_questions(records):
    summary = summarize_run(records)
    assert summary.get("target-only").speedup == pytest.approx(1.0)
    # q3 failed in specreason: (10 + 20) / 2 over (5 + 10) / 2, not 20 / 7.5.
    spec = summary.get(SPEC)
    assert spec.speedup == pytest.approx(2.0)
    assert spec.speedup_questions == 2
    assert summary.get("draft-only").speedup == pytest.approx(20 / 3)


def test_no_baseline_gives_no_speedup_or_delta(records):
    summary = summarize_run(records, baseline="missing")
    assert all(m.speedup is None and m.accuracy_delta_points is None for m in summary.modes)
    assert summary.bounds == []


def test_acceptance_tokens_and_judge_costs(records):
    spec = summarize_run(records).get(SPEC)
    assert spec.acceptance_rate == pytest.approx(3 / 5)
    assert spec.judge_calls_per_question == pytest.approx(2.5)
    assert spec.judge_prompt_tokens_per_call == pytest.approx(100)
    assert spec.judge_cached_tokens_per_call == pytest.approx(50)
    assert spec.judge_cached_fraction == pytest.approx(0.5)
    assert spec.judge_s_per_call == pytest.approx(0.2)
    assert spec.draft_tok_s == pytest.approx(100)
    assert spec.draft_tokens_per_drafted_step == pytest.approx(50)
    assert spec.mean_steps == pytest.approx(2.5)
    assert summarize_run(records).get("draft-only").acceptance_rate is None


def test_per_node_means_and_other(records):
    spec = summarize_run(records).get(SPEC)
    assert spec.draft_s == pytest.approx(1.25)
    assert spec.judge_s == pytest.approx(0.5)
    assert spec.correct_s == pytest.approx(0.7)
    assert spec.answer_s == pytest.approx(0.4)
    assert spec.other_s == pytest.approx(((5 - 3.3) + (10 - 2.4)) / 2)


def test_judge_auroc(records):
    summary = summarize_run(records)
    # correct q1: 8, 9, 2; wrong q2: 7, None -> -1. Wins: 8>7, 8>-1, 9>7, 9>-1, 2>-1.
    assert summary.get(SPEC).judge_auroc == pytest.approx(5 / 6)
    assert summary.get(SPEC).judged_steps == 5
    assert summary.get("target-only").judge_auroc is None


def test_bound_against_hand_computation(records):
    summary = summarize_run(records)
    bound = analytic_bound(summary, SPEC)
    assert bound is not None
    t = 1200 / 27  # baseline target tokens / (correct + answer) seconds
    target_step_s = 90 / t  # baseline target steps are 90 tokens
    draft_step_s = 50 / 300  # 50 tokens per drafted step at draft-only's 150 tok / 0.5 s
    j, a = 0.2, 0.6
    expected = target_step_s / (draft_step_s + j + (1 - a) * target_step_s)
    assert bound.bound_speedup == pytest.approx(expected)
    assert bound.full_acceptance_bound == pytest.approx(target_step_s / (draft_step_s + j))
    assert bound.measured_speedup == pytest.approx(2.0)
    assert bound.measured_over_bound == pytest.approx(2.0 / expected)
    assert bound.draft_tok_s_from == "draft-only"  # pure decoding, never overlapped
    assert [b.mode for b in summary.bounds] == [SPEC]
    # Without a draft-only mode the draft speed comes from the mode itself (100 tok/s).
    alone = summarize_run([r for r in records if r.mode != "draft-only"])
    assert analytic_bound(alone, SPEC).draft_tok_s_from == SPEC
    assert analytic_bound(summary, "draft-only") is None


def test_projection_against_hand_computation(records):
    projection = project(records, SPEC, COST)
    assert projection is not None
    assert projection.kind == "projection"
    # Baseline: 400/100 decode + (1000 - 600)/1000 prefill.
    base = 400 / 100 + 400 / 1000
    # q1: non-judge cache 650-150=500 split 900:300 (draft prompt : 600-300 target gen prompt).
    q1 = 150 / 400 + (900 - 375) / 4000 + 3 / 100 + 150 / 1000 + 0.03 + 100 / 100
    q1 += (300 - 125) / 1000
    # q2: non-judge cache 500-100=400 split 600:300.
    q2 = 100 / 400 + (600 - 800 / 3) / 4000 + 2 / 100 + 100 / 1000 + 0.02 + 100 / 100
    q2 += (300 - 400 / 3) / 1000
    assert projection.questions == 2
    assert projection.baseline_mean_s == pytest.approx(base)
    assert projection.mode_mean_s == pytest.approx((q1 + q2) / 2)
    assert projection.projected_speedup == pytest.approx(base / ((q1 + q2) / 2))
    assert project(records, "no-such-mode", COST) is None


def test_summary_includes_projections_for_given_costs(records):
    summary = summarize_run(records, costs=[COST])
    assert [p.mode for p in summary.projections] == ["draft-only", SPEC]
    assert summarize_run(records, costs=[]).projections == []
    presets = summarize_run(records).projections  # default: every GPU_PRESETS entry
    assert {p.gpu for p in presets} == set(GPU_PRESETS)
    assert all(p.kind == "projection" for p in presets)


def test_markdown_lists_modes_speedup_bound_and_projection(records):
    text = markdown_table(summarize_run(records, costs=[COST]))
    assert "| target-only |" in text
    assert "| draft-only |" in text
    assert SPEC in text
    assert "speedup" in text
    assert "2.00x" in text
    assert "-33.3" in text
    assert "3 (1 err)" in text
    assert "Analytic bound" in text
    assert "not a measurement" in text
    assert "test-gpu" in text


def test_summary_json_has_per_mode_speedup(records, tmp_path):
    path = write_summary(summarize_run(records), tmp_path / "out" / "summary.json")
    data = json.loads(path.read_text())
    assert data["baseline"] == "target-only"
    assert all("speedup" in m for m in data["modes"])
    assert {m["mode"]: m["speedup"] for m in data["modes"]}[SPEC] == pytest.approx(2.0)


def test_write_plots_creates_pngs(records, tmp_path):
    paths = write_plots(records, summarize_run(records), tmp_path)
    names = {p.name for p in paths}
    assert names == {
        "accuracy_vs_latency.png",
        "frontier.png",
        "node_time.png",
        "judge_scores.png",
    }
    for p in paths:
        assert p.exists()
        assert p.stat().st_size > 0


def test_write_plots_skips_judge_scores_without_judged_steps(records, tmp_path):
    plain = [r for r in records if r.mode != SPEC]
    paths = write_plots(plain, summarize_run(plain), tmp_path)
    assert {p.name for p in paths} == {"accuracy_vs_latency.png", "frontier.png", "node_time.png"}


def test_concurrency_plot(tmp_path):
    rows = [
        {"mode": "a", "concurrency": 4, "throughput_qps": 3.0, "p50_s": 1.2, "p95_s": 2.0},
        {"mode": "a", "concurrency": 1, "throughput_qps": 1.0, "p50_s": 1.0, "p95_s": 1.1},
        {"mode": "b", "concurrency": 1, "throughput_qps": 0.5, "p50_s": 2.0, "p95_s": 2.1},
    ]
    path = write_concurrency_plot(rows, tmp_path / "concurrency.png")
    assert path.stat().st_size > 0


def test_auroc_rank_form_matches_hand_counts_with_ties():
    from spec_graph.bench.stats import auroc

    # good {3, 2}, bad {1, 2}: 3>1, 3>2, 2>1 win, 2=2 half -> 3.5 / 4
    assert auroc([3, 1, 2, 2], [True, False, True, False]) == pytest.approx(0.875)
    assert auroc([5, 5, 5], [True, False, True]) == pytest.approx(0.5)
    assert auroc([1, 2], [True, True]) is None


def test_auroc_interval_resamples_questions_and_brackets_the_estimate():
    from spec_graph.bench.stats import auroc, auroc_interval

    scores = [9, 8, 9, 2, 3, 7, 1, 8, 6, 2, 9, 4]
    labels = [True, True, True, False, False, True, False, True, False, False, True, False]
    groups = [i // 2 for i in range(len(scores))]  # two steps per question
    low, high = auroc_interval(scores, labels, groups, resamples=500)
    assert 0.0 <= low <= auroc(scores, labels) <= high <= 1.0
    assert auroc_interval(scores, labels, groups, resamples=500) == (low, high)  # seeded
    assert auroc_interval([1, 2], [True, False], ["q", "q"]) is None  # one question only
