"""The judge of a run that names none, chosen from its `ReasoningConfig`.

Its own module because it is the one place that knows which judges make up the default, so
it sits above both the judges and the combination it assembles.
"""

from __future__ import annotations

from spec_graph.judging.arithmetic import ArithmeticJudge
from spec_graph.judging.combine import AllOf
from spec_graph.judging.contract import JudgeSettings, StepScorer, judge_settings
from spec_graph.judging.target import TargetJudge
from spec_graph.reasoning import ReasoningConfig

__all__ = ["default_judge"]


def default_judge(settings: JudgeSettings | ReasoningConfig) -> StepScorer:
    """The judge of a run that names none: the target's ``judge_prompt`` formulation.

    ``settings`` are the run's `JudgeSettings` (``ctx.judging``), or a `ReasoningConfig`
    whose strategy settings hold them. With ``check_arithmetic`` the calculator checks the
    step's arithmetic first.
    """
    if isinstance(settings, ReasoningConfig):
        settings = judge_settings(settings.strategy_settings)
    target = TargetJudge(settings.judge_prompt)
    if settings.check_arithmetic:
        return AllOf(ArithmeticJudge(), target, cheap_first=True)
    return target
