"""The judge of a run that names none, chosen from its `ReasoningConfig`.

Its own module because it is the one place that knows which judges make up the default, so
it sits above both the judges and the combination it assembles.
"""

from __future__ import annotations

from spec_graph.config import ReasoningConfig
from spec_graph.judging._contract import StepScorer
from spec_graph.judging.arithmetic import ArithmeticJudge
from spec_graph.judging.combine import AllOf
from spec_graph.judging.target import TargetJudge

__all__ = ["default_judge"]


def default_judge(config: ReasoningConfig) -> StepScorer:
    """The judge of a run that names none: the target's ``config.judge`` formulation.

    With ``config.check_arithmetic`` the calculator checks the step's arithmetic first.
    """
    target = TargetJudge(config.judge)
    if config.check_arithmetic:
        return AllOf(ArithmeticJudge(), target, cheap_first=True)
    return target
