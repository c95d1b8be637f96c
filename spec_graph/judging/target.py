"""The target's logprob judges (`spec_graph.judging.formulations`) as a `StepScorer`: the default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spec_graph.judging.contract import Verdict
from spec_graph.judging.formulations import FORMULATIONS
from spec_graph.judging.view import StepView

if TYPE_CHECKING:
    from spec_graph.nodes.context import SpecContext

__all__ = ["TargetJudge"]


@dataclass(frozen=True, eq=False)
class TargetJudge:
    """The target's logprob judge ``name`` (a registered formulation): one greedy token.

    Exactly what the judge node did before custom judges: the formulation's request with
    ``config.judge_top_logprobs``, read with ``ctx.judging.score_method``; usage is the
    token's.
    """

    name: str = "yesno"

    def __post_init__(self) -> None:
        FORMULATIONS.get(self.name)  # a UserError naming the known formulations

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """Ask the target and read its next token's top logprobs."""
        formulation = FORMULATIONS.get(self.name)
        top_logprobs = ctx.config.judge_top_logprobs
        token = await ctx.target.next_token(formulation.request(view, top_logprobs))
        read = formulation.read(token, view, ctx.judging.score_method)
        detail = {
            "digit_probs": read.digit_probs,
            "digit_mass": read.digit_mass,
            "top_token": read.top_token,
        }
        return Verdict(score=read.score, detail=detail, usage=token.usage)
