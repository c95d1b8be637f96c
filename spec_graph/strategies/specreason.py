"""SpecReason: the draft writes each step, the target judges it and rewrites it below a threshold.

With confidence gating (``gate_logprob``), a step whose every token the draft itself found at
least ``exp(gate_logprob)`` likely is kept without a judge call (the log-probabilities come
with the draft's own generation, so gating costs no extra call); uncertain steps go to the
judge. The judge knobs (``threshold``, ``judge_prompt``, ``score_method``,
``check_arithmetic``) and ``pipeline`` are SpecReason's own settings (`SpecReasonSettings`,
given as ``ReasoningConfig.options``); ``warmup_steps`` is shared by the step-level strategies.

Graph::

    START -> draft -> judge --score >= threshold: keep--+
      |        |        +--score < threshold--> correct -+--> draft ... --> answer -> END
      |        +--(gated: confident, keep)----------------+
      +--(warm-up)--> correct ----------------------------+
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import Field

from spec_graph.judging.contract import JudgeSettings
from spec_graph.nodes.settings import GatedSettings, PipelinedSettings
from spec_graph.strategies.base import StepLevelStrategy, StrategySettings

__all__ = ["SpecReason", "SpecReasonSettings"]


class SpecReasonSettings(JudgeSettings, GatedSettings, PipelinedSettings, StrategySettings):
    """SpecReason's settings: how a step is judged, confidence gating, pipelining.

    ``threshold``, ``judge_prompt``, ``score_method`` and ``check_arithmetic`` are
    `JudgeSettings`; ``pipeline`` is `PipelinedSettings`.
    """

    gate_logprob: float | None = Field(default=-0.5, le=0.0)
    """Keep a draft step without judging it when every token's log-probability (the draft's
    own) is at least this: -0.5 (p >= 0.61) by default. None: judge every step.

    Gated SpecReason is the default strategy: on the 50-question tuning slice (GSM8K 300-349,
    default pair, greedy; docs/frontier.md) no speculative configuration came within 2 points
    of the target alone, and this was the most accurate one (36% vs 56%, at 0.54x its speed)."""


class SpecReason(StepLevelStrategy):
    """Step-level speculation with a judge (and optional confidence gating)."""

    name = "specreason"
    summary = "draft writes each step; the target judges it and rewrites it below the threshold"
    Settings = SpecReasonSettings


def __getattr__(name: str) -> Any:
    """``step_bound`` moved to the benchmark (`spec_graph.bench.bounds.step_bound`)."""
    if name == "step_bound":
        warnings.warn(
            "spec_graph.strategies.specreason.step_bound is deprecated: use "
            "spec_graph.bench.bounds.step_bound",
            DeprecationWarning,
            stacklevel=2,
        )
        from spec_graph.bench.bounds import step_bound

        return step_bound
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
