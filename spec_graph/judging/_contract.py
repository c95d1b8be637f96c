"""The one contract every step judge keeps: a `StepScorer` returns a 0-9 `Verdict`.

Kept apart from the judges so that each judge and each combination depends on the contract
alone, never on one another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.errors import UserError
from spec_graph.judges import StepView
from spec_graph.usage import Usage

if TYPE_CHECKING:
    from spec_graph.nodes._context import SpecContext

__all__ = ["StepScorer", "Verdict", "check_abstain_score"]


class Verdict(BaseModel):
    """One judge's verdict on one step, on the 0-9 scale every judge shares."""

    model_config = ConfigDict(frozen=True)

    score: float | None = Field(default=None, ge=0.0, le=9.0)
    """0-9; None: no verdict, which rejects the step. On an abstaining verdict: what it counts
    as when no other judge says anything (combinations ignore it)."""
    abstain: bool = False
    """The judge has nothing to say about this step (e.g. no arithmetic in it)."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """What the judge saw: ``digit_probs`` (logprob judges), reasons, wrong claims, errors."""
    usage: Usage = Usage()
    """What judging cost (``Usage()`` for a free judge)."""

    @property
    def digit_probs(self) -> dict[str, float]:
        """``detail["digit_probs"]``'s numeric entries (what a `Step` records), or {}."""
        probs = self.detail.get("digit_probs")
        if not isinstance(probs, Mapping):
            return {}
        return {
            str(k): float(v)
            for k, v in probs.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }


@runtime_checkable
class StepScorer(Protocol):
    """Anything that scores a draft step 0-9: ``await scorer.ascore(view, ctx) -> Verdict``.

    ``ctx`` (the run's `SpecContext`) gives the models and the config (``threshold``,
    ``score_method``, ``judge_top_logprobs``); a scorer must not keep per-run state of its own,
    since one scorer serves every run of a reasoner, concurrently.
    """

    name: str

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """The verdict on ``view.candidate``."""
        ...


def check_abstain_score(owner: str, score: float | None) -> None:
    """Refuse an ``abstain_score`` off the 0-9 scale when the judge is built, not mid-run."""
    if score is not None and not 0.0 <= score <= 9.0:
        raise UserError(f"{owner}: abstain_score is 0-9 or None, got {score}")
