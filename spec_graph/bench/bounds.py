"""Analytic speed bounds: how fast a strategy could be on the speeds a benchmark measured.

A bound is the benchmark's business, not the strategy's: it is a function of a mode's and
the baseline's `ModeSummary` (bench's own summary models) and the draft's decode speed,
registered under the strategy's name in `BOUNDS`. A strategy without one simply gets "n/a"
in the report. The formulas are explained in ``docs/bounds.md``; each ignores framework time
and the prompt processing of steps, so a measured speedup below its bound shows what the model
leaves out.

Register one for a strategy of your own::

    from spec_graph.bench.bounds import SpeedBound, register_bound

    def my_bound(mode, base, draft_tok_s):
        ...
        return SpeedBound(formula="...", inputs={...}, bound=...)

    register_bound("mine", my_bound)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from pydantic import BaseModel

from spec_graph.registry import Registry

if TYPE_CHECKING:
    from spec_graph.bench.report import ModeSummary

__all__ = [
    "BOUNDS",
    "BoundFn",
    "SpeedBound",
    "best_of_n_bound",
    "bound_for",
    "handoff_bound",
    "register_bound",
    "scot_bound",
    "specreason_bound",
    "step_bound",
]


class SpeedBound(BaseModel):
    """A strategy's analytic speedup bound over target-only, with every input it used."""

    formula: str
    inputs: dict[str, float]
    bound: float
    """Speedup the measured hardware speeds and rates allow (framework, answer call excluded)."""
    best_case: float | None = None
    """The same with every draft accepted (no target rewriting)."""


BoundFn: TypeAlias = Callable[["ModeSummary", "ModeSummary", "float | None"], "SpeedBound | None"]
"""``(mode, baseline, draft_tok_s) -> SpeedBound | None`` (None: an input was not measured)."""

BOUNDS: Registry[BoundFn] = Registry("speed bound")
"""The analytic bound of each strategy that has one, by strategy name."""


def register_bound(strategy: str, bound: BoundFn, *, replace: bool = False) -> BoundFn:
    """Give the strategy called ``strategy`` an analytic bound in benchmark reports."""
    BOUNDS.register(strategy, bound, replace=replace)
    return bound


def bound_for(strategy: str) -> BoundFn | None:
    """The bound registered for ``strategy``, or None ("n/a" in the report)."""
    return BOUNDS.find(strategy)


def step_bound(
    mode: ModeSummary,
    base: ModeSummary,
    draft_tok_s: float | None,
    *,
    judged_fraction: float = 1.0,
) -> SpeedBound | None:
    """Per-step bound of a draft -> judge -> correct loop (SpecReason's, best-of-n's).

    ::

        bound = (L_t / t) / (L_d / d + q * j + q * (1 - a) * L_t / t)

    ``L_d`` draft tokens per drafted step at draft speed ``d``, ``j`` judge seconds per call,
    ``q`` the fraction of steps judged (1 without gating), ``a`` acceptance among judged
    steps, ``L_t`` target tokens per step at target speed ``t`` (from the baseline).
    """
    a, j = mode.acceptance_rate, mode.judge_s_per_call
    t, l_t, l_d = (
        base.target_tok_s,
        base.target_tokens_per_target_step,
        mode.draft_tokens_per_drafted_step,
    )
    if a is None or j is None or l_d is None or l_t is None or not t or not draft_tok_s:
        return None
    draft_s, target_s = l_d / draft_tok_s, l_t / t
    q = judged_fraction
    inputs = {
        "a": a,
        "q": q,
        "j_s": j,
        "L_d": l_d,
        "d_tok_s": draft_tok_s,
        "L_t": l_t,
        "t_tok_s": t,
    }
    return SpeedBound(
        formula="(L_t/t) / (L_d/d + q*j + q*(1-a)*L_t/t)",
        inputs=inputs,
        bound=target_s / (draft_s + q * j + q * (1 - a) * target_s),
        best_case=target_s / (draft_s + q * j),
    )


def specreason_bound(
    mode: ModeSummary, base: ModeSummary, draft_tok_s: float | None
) -> SpeedBound | None:
    """The step bound with ``q`` = judged / (judged + gated) steps (confidence gating)."""
    steps = mode.judged_steps_total + mode.gated_steps_total
    q = mode.judged_steps_total / steps if steps else 1.0
    return step_bound(mode, base, draft_tok_s, judged_fraction=q)


def best_of_n_bound(
    mode: ModeSummary, base: ModeSummary, draft_tok_s: float | None
) -> SpeedBound | None:
    """The step bound, with the draft's speed measured in this mode (k in one batch)."""
    return step_bound(mode, base, mode.draft_tok_s)


def scot_bound(
    mode: ModeSummary, base: ModeSummary, draft_tok_s: float | None
) -> SpeedBound | None:
    """SCoT's bound, per question.

    ::

        bound = T_t / (T_n + j + (1 - a) * T_t)

    ``T_t`` the target's own chain (baseline target tokens / target speed), ``T_n`` the
    measured wall time of the n batched drafts, ``j`` the selection call, ``a`` how often a
    draft was chosen.
    """
    a, j, t_n = mode.acceptance_rate, mode.judge_s_per_call, mode.draft_s
    n_t = base.mean_target_tokens
    if a is None or j is None or t_n is None or n_t is None or not base.target_tok_s:
        return None
    t_t = n_t / base.target_tok_s
    inputs = {"a": a, "j_s": j, "T_n_s": t_n, "T_t_s": t_t}
    return SpeedBound(
        formula="T_t / (T_n + j + (1-a)*T_t)",
        inputs=inputs,
        bound=t_t / (t_n + j + (1 - a) * t_t),
        best_case=t_t / (t_n + j),
    )


def handoff_bound(
    mode: ModeSummary, base: ModeSummary, draft_tok_s: float | None
) -> SpeedBound | None:
    """Hand-off's bound, per question.

    ::

        bound = (N_t / t) / (N_d / d + N_h / t)

    ``N_t`` the baseline's target tokens, ``N_d`` this mode's draft tokens (discarded cue
    steps included) at draft speed ``d``, ``N_h`` the target's span tokens at ``t``.
    """
    t, n_t = base.target_tok_s, base.mean_target_tokens
    n_d, n_h = mode.mean_draft_tokens, mode.mean_target_tokens
    if n_t is None or n_d is None or n_h is None or not t or not draft_tok_s:
        return None
    inputs = {"N_t": n_t, "N_d": n_d, "N_h": n_h, "d_tok_s": draft_tok_s, "t_tok_s": t}
    return SpeedBound(
        formula="(N_t/t) / (N_d/d + N_h/t)",
        inputs=inputs,
        bound=(n_t / t) / (n_d / draft_tok_s + n_h / t),
    )


for _name, _bound in (
    ("specreason", specreason_bound),
    ("scot", scot_bound),
    ("handoff", handoff_bound),
    ("best-of-n", best_of_n_bound),
):
    register_bound(_name, _bound)
