"""The target's logprob judges (`spec_graph.judges`) as a `StepScorer`: the default judge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spec_graph.config import JudgeName
from spec_graph.errors import UserError
from spec_graph.judges import JUDGES, StepView
from spec_graph.judging._contract import Verdict

if TYPE_CHECKING:
    from spec_graph.nodes._context import SpecContext

__all__ = ["TargetJudge"]


@dataclass(frozen=True, eq=False)
class TargetJudge:
    """The target's logprob judge ``name`` (`spec_graph.judges.JUDGES`): one greedy token.

    Exactly what the judge node did before custom judges: the formulation's request with
    ``config.judge_top_logprobs``, read with ``config.score_method``; usage is the token's.
    """

    name: JudgeName = "yesno"

    def __post_init__(self) -> None:
        if self.name not in JUDGES:
            raise UserError(f"unknown judge {self.name!r}; choose one of {sorted(JUDGES)}")

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """Ask the target and read its next token's top logprobs."""
        formulation = JUDGES[self.name]
        config = ctx.config
        token = await ctx.target.next_token(formulation.request(view, config.judge_top_logprobs))
        read = formulation.read(token, view, config.score_method)
        detail = {
            "digit_probs": read.digit_probs,
            "digit_mass": read.digit_mass,
            "top_token": read.top_token,
        }
        return Verdict(score=read.score, detail=detail, usage=token.usage)
