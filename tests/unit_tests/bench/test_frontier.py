"""The Pareto frontier, the quality-first choice and sweep expansion, on hand-checked examples."""

from __future__ import annotations

import pytest

from spec_graph.bench.frontier import FrontierPoint, choose, frontier_of, pareto
from spec_graph.bench.markdown import frontier_lines
from spec_graph.bench.records import ModeSpec
from spec_graph.cli.bench import bench_modes
from spec_graph.errors import UserError


def _p(mode: str, accuracy: float, speedup: float) -> FrontierPoint:
    return FrontierPoint(
        mode=mode, strategy=mode.split()[0], accuracy=accuracy, speedup=speedup, questions=20
    )


def test_pareto_keeps_exactly_the_undominated_points_fastest_first():
    points = [
        _p("target-only", 0.70, 1.00),
        _p("draft-only", 0.25, 1.50),
        _p("specreason", 0.45, 0.50),  # dominated by target-only (slower and worse)
        _p("handoff", 0.30, 1.40),  # not dominated: faster than target, better than draft
        _p("scot n=2", 0.30, 1.20),  # dominated by handoff (same accuracy, slower)
        _p("best-of-n k=2", 0.70, 0.30),  # dominated by target-only (equal accuracy, slower)
    ]
    assert [p.mode for p in pareto(points)] == ["draft-only", "handoff", "target-only"]


def test_pareto_keeps_equal_points():
    points = [_p("specreason", 0.5, 1.1), _p("specreason threshold=9", 0.5, 1.1)]
    assert len(pareto(points)) == 2


def test_choose_fastest_within_tolerance():
    points = [
        _p("target-only", 0.70, 1.00),
        _p("draft-only", 0.30, 1.50),  # a baseline: never chosen
        _p("specreason", 0.69, 1.30),  # 1 point below: qualifies
        _p("specreason threshold=9", 0.70, 1.10),  # qualifies, slower
        _p("handoff", 0.60, 1.45),  # fastest speculative, but 10 points below
    ]
    choice = choose(points, baseline_accuracy=0.70, tolerance_points=2.0)
    assert choice is not None
    assert choice.mode == "specreason"
    assert choice.meets_quality
    assert choice.accuracy_delta_points == pytest.approx(-1.0)


def test_choose_exactly_at_the_tolerance_qualifies():
    points = [_p("specreason", 0.68, 1.2), _p("scot n=2", 0.70, 0.9)]
    choice = choose(points, baseline_accuracy=0.70, tolerance_points=2.0)
    assert choice is not None
    assert choice.mode == "specreason"
    assert choice.meets_quality


def test_choose_most_accurate_when_none_qualifies():
    points = [
        _p("target-only", 0.68, 1.00),
        _p("specreason", 0.45, 0.48),
        _p("specreason threshold=9", 0.55, 0.40),
        _p("handoff", 0.27, 1.36),
    ]
    choice = choose(points, baseline_accuracy=0.68)
    assert choice is not None
    assert choice.mode == "specreason threshold=9"
    assert not choice.meets_quality
    assert "most accurate" in choice.rule


def test_choose_breaks_ties_by_speed_then_name():
    points = [_p("scot n=2", 0.5, 0.9), _p("handoff", 0.5, 0.9), _p("specreason", 0.5, 0.8)]
    choice = choose(points, baseline_accuracy=0.9)
    assert choice is not None
    assert choice.mode == "handoff"


def test_choose_without_speculative_modes_is_none():
    assert choose([_p("target-only", 0.7, 1.0), _p("draft-only", 0.3, 1.5)], 0.7) is None


def test_frontier_of_a_run_marks_points_and_needs_the_baseline():
    frontier = frontier_of(
        [
            ("target-only", 0.7, None, 20),  # the baseline has no speedup of its own
            ("draft-only", 0.3, 1.5, 20),
            ("specreason", 0.5, 0.5, 20),
        ]
    )
    assert frontier.frontier == ["draft-only", "target-only"]
    by_mode = {p.mode: p for p in frontier.points}
    assert by_mode["target-only"].speedup == 1.0
    assert by_mode["target-only"].on_frontier
    assert not by_mode["specreason"].on_frontier
    assert frontier.choice is not None
    assert frontier.choice.mode == "specreason"
    lines = "\n".join(frontier_lines(frontier))
    assert "**draft-only**" in lines
    assert "does NOT meet" in lines
    with pytest.raises(UserError, match="baseline"):
        frontier_of([("specreason", 0.5, 0.5, 20)])


def test_sweep_expands_the_cartesian_product_with_mode_names():
    names = [m.name for m in ModeSpec.sweep("specreason threshold=7,9 gate_logprob=-0.5,-1")]
    assert names == [
        "specreason threshold=7 gate_logprob=-0.5",
        "specreason threshold=7 gate_logprob=-1",
        "specreason threshold=9 gate_logprob=-0.5",
        "specreason threshold=9 gate_logprob=-1",
    ]
    assert [m.name for m in ModeSpec.sweep("handoff")] == ["handoff"]


@pytest.mark.parametrize(
    "text", ["", "specreason threshold", "specreason threshold=", "specreason n=2,3", "nope a=1"]
)
def test_bad_sweeps_are_user_errors(text: str):
    with pytest.raises(UserError):
        ModeSpec.sweep(text)


def test_bench_modes_add_the_sweep_to_the_defaults_and_drop_repeats():
    modes = bench_modes(None, ["specreason threshold=8,9"])
    # threshold=8 is specreason's default: the same settings as the default "specreason" mode
    assert [m.name for m in modes] == [
        "target-only",
        "draft-only",
        "specreason",
        "specreason threshold=9",
    ]
    with pytest.raises(UserError, match="twice"):
        bench_modes(["specreason", "specreason"], None)


def test_records_are_keyed_by_the_effective_settings_defaults_included():
    from spec_graph.bench.runner import RunPlan
    from spec_graph.config import ReasoningConfig

    plan = RunPlan(items=[], modes=[], base=ReasoningConfig(), draft_model="d", target_model="t")
    default = plan.key(ModeSpec.parse("handoff"))
    # the same effective settings, spelled out: the same key (and the same records)
    assert plan.key(ModeSpec.parse("handoff min_mean_logprob=-0.25")) == default
    assert plan.key(ModeSpec.parse("handoff min_mean_logprob=-0.5")) != default
    speculative = plan.model_copy(update={"target_speculation": 8})
    assert speculative.key(ModeSpec.parse("handoff")) != default
