"""Speed bounds belong to the benchmark: a registry keyed by strategy name, "n/a" without one."""

from __future__ import annotations

import pytest

from spec_graph.bench.bounds import BOUNDS, SpeedBound, register_bound, step_bound
from spec_graph.bench.markdown import markdown_table
from spec_graph.bench.report import ModeSummary, RunSummary, analytic_bound


def mode(name: str, **fields) -> ModeSummary:
    return ModeSummary(mode=name, questions=4, correct=2, errors=0, accuracy=0.5, **fields)


def summary() -> RunSummary:
    base = mode(
        "target-only",
        target_tok_s=10.0,
        mean_target_tokens=200.0,
        target_tokens_per_target_step=50.0,
    )
    hand = mode("handoff", mean_draft_tokens=150.0, mean_target_tokens=50.0, speedup=1.5)
    own = mode("draft-twice tries=3", speedup=1.2)
    draft = mode("draft-only", draft_tok_s=50.0)
    return RunSummary(baseline="target-only", questions=4, modes=[base, draft, hand, own])


def test_the_built_in_strategies_have_bounds():
    assert BOUNDS.names() == ["specreason", "scot", "handoff", "best-of-n"]


def test_a_strategy_without_a_bound_is_n_a_in_the_report():
    run = summary()
    assert analytic_bound(run, "draft-twice tries=3") is None
    found = analytic_bound(run, "handoff")
    assert found is not None
    # (N_t/t) / (N_d/d + N_h/t) with d from draft-only
    assert found.bound_speedup == pytest.approx((200 / 10) / (150 / 50 + 50 / 10))
    run.bounds.append(found)
    table = markdown_table(run).split("Analytic bound")[1]
    row = next(line for line in table.splitlines() if line.startswith("| draft-twice"))
    assert "n/a" in row
    assert "| handoff | `(N_t/t) / (N_d/d + N_h/t)`" in table


def test_a_bound_registered_for_a_strategy_of_ones_own_is_used():
    def twice(m: ModeSummary, base: ModeSummary, draft_tok_s: float | None) -> SpeedBound:
        return SpeedBound(formula="2", inputs={"d": draft_tok_s or 0.0}, bound=2.0)

    register_bound("draft-twice", twice)
    try:
        found = analytic_bound(summary(), "draft-twice tries=3")
        assert found is not None
        assert (found.formula, found.bound_speedup, found.inputs) == ("2", 2.0, {"d": 50.0})
        assert found.measured_over_bound == pytest.approx(0.6)
    finally:
        BOUNDS.unregister("draft-twice")


def test_step_bound_needs_its_measured_inputs():
    run = summary()
    assert step_bound(run.modes[2], run.modes[0], 50.0) is None  # no acceptance measured


def test_the_strategy_modules_keep_old_names_with_a_warning():
    import spec_graph.strategies as strategies
    import spec_graph.strategies.specreason as specreason

    with pytest.warns(DeprecationWarning, match="bench.bounds"):
        assert strategies.SpeedBound is SpeedBound
    with pytest.warns(DeprecationWarning, match="bench.bounds"):
        assert specreason.step_bound is step_bound
