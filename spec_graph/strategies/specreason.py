"""SpecReason: the draft writes each step, the target judges it and rewrites it below a threshold.

With confidence gating (``gate_logprob``), a step whose every token the draft itself found at
least ``exp(gate_logprob)`` likely is kept without a judge call (the log-probabilities come
with the draft's own generation, so gating costs no extra call); uncertain steps go to the
judge. The judge knobs (``threshold``, ``judge``, ``score_method``, ``warmup_steps``,
``pipeline``) are `ReasoningConfig` fields shared with the other step-level strategies.

Graph::

    START -> draft -> judge --score >= threshold: keep--+
      |        |        +--score < threshold--> correct -+--> draft ... --> answer -> END
      |        +--(gated: confident, keep)----------------+
      +--(warm-up)--> correct ----------------------------+
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from typing_extensions import override

from spec_graph import nodes
from spec_graph.nodes import SpecContext
from spec_graph.state import SpecState
from spec_graph.strategies._base import NodeSpec, SpeedBound, Strategy, StrategySettings

__all__ = ["SpecReason", "SpecReasonSettings", "step_bound"]

_AFTER = ("draft", "correct", "answer")


class SpecReasonSettings(StrategySettings):
    """SpecReason's own setting: confidence gating (on by default, at -0.5)."""

    gate_logprob: float | None = Field(default=-0.5, le=0.0)
    """Keep a draft step without judging it when every token's log-probability (the draft's
    own) is at least this: -0.5 (p >= 0.61) by default. None: judge every step.

    Gated SpecReason is the default strategy: on the 50-question tuning slice (GSM8K 300-349,
    default pair, greedy; docs/frontier.md) no speculative configuration came within 2 points
    of the target alone, and this was the most accurate one (36% vs 56%, at 0.54x its speed)."""


def step_bound(
    mode: Any, base: Any, draft_tok_s: float | None, *, judged_fraction: float = 1.0
) -> SpeedBound | None:
    """Per-step bound of a draft -> judge -> correct loop (also best-of-n's).

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
    if None in (a, j, draft_tok_s, l_d, l_t) or not t or not draft_tok_s:
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


class SpecReason(Strategy):
    """Step-level speculation with a judge (and optional confidence gating)."""

    name = "specreason"
    summary = "draft writes each step; the target judges it and rewrites it below the threshold"
    Settings = SpecReasonSettings
    entries = ("draft", "correct")

    @override
    def nodes(self) -> dict[str, NodeSpec]:
        return {
            "draft": (nodes.draft, ("judge", *_AFTER)),
            "judge": (nodes.judge, _AFTER),
            "correct": (nodes.correct, _AFTER),
            "answer": (nodes.answer, ()),
        }

    @override
    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        return "correct" if nodes.warming_up(state, ctx) else "draft"

    @override
    def bound(self, mode: Any, base: Any, draft_tok_s: float | None) -> SpeedBound | None:
        steps = (mode.judged_steps_total or 0) + (mode.gated_steps_total or 0)
        q = mode.judged_steps_total / steps if steps else 1.0
        return step_bound(mode, base, draft_tok_s, judged_fraction=q)
