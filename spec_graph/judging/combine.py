"""Judges combined into one: `AllOf` (minimum), `AnyOf` (maximum), `Weighted` (mean).

Combinations ignore abstaining members, run the others concurrently (or, with ``AllOf(...,
cheap_first=True)``, one by one so a free check can veto a step before the target is asked),
and report every member's verdict in ``detail["members"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spec_graph.errors import UserError
from spec_graph.judging.contract import StepScorer, Verdict, check_abstain_score
from spec_graph.judging.view import StepView
from spec_graph.usage import Usage

if TYPE_CHECKING:
    from spec_graph.nodes.context import SpecContext

__all__ = ["AllOf", "AnyOf", "Weighted"]


def _member_detail(judge: StepScorer, verdict: Verdict) -> dict[str, Any]:
    return {
        "judge": judge.name,
        "score": verdict.score,
        "abstain": verdict.abstain,
        "detail": verdict.detail,
    }


async def _gather(judges: Sequence[StepScorer], view: StepView, ctx: SpecContext) -> list[Verdict]:
    """All judges concurrently; if one raises, the others are cancelled before it propagates."""
    tasks = [asyncio.ensure_future(j.ascore(view, ctx)) for j in judges]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        raise


def _combined(
    judges: Sequence[StepScorer],
    verdicts: Sequence[Verdict],
    score: float | None,
    *,
    abstain: bool,
    skipped: Sequence[StepScorer] = (),
) -> Verdict:
    members = [_member_detail(j, v) for j, v in zip(judges, verdicts, strict=True)]
    detail: dict[str, Any] = {"members": members}
    if skipped:
        detail["skipped"] = [j.name for j in skipped]
    probs = [v.digit_probs for v in verdicts if not v.abstain and v.digit_probs]
    if len(probs) == 1:  # one logprob judge among free checks: the step keeps its digit_probs
        detail["digit_probs"] = probs[0]
    usage = sum((v.usage for v in verdicts), Usage())
    return Verdict(score=score, abstain=abstain, detail=detail, usage=usage)


def _check_members(kind: str, judges: Sequence[object]) -> None:
    if not judges:
        raise UserError(f"{kind} needs at least one judge")
    for judge in judges:
        if not isinstance(judge, StepScorer):
            raise UserError(f"{kind}: {judge!r} is not a StepScorer (name, async ascore)")


def _names(kind: str, judges: Iterable[StepScorer]) -> str:
    return f"{kind}({','.join(j.name for j in judges)})"


class AllOf:
    """Every judge must accept: the minimum of the non-abstaining scores.

    Any non-abstaining judge without a verdict (None) makes the result None (reject). All
    abstaining: the combination abstains with ``abstain_score``. Members run concurrently;
    usage is their sum.

    ``cheap_first=True`` runs the members one by one in the given order and stops at the first
    non-abstaining verdict that rejects (None or below ``ctx.judging.threshold``): the rest
    are never called (``detail["skipped"]``). Put free judges first: with
    ``AllOf(ArithmeticJudge(), TargetJudge(), cheap_first=True)`` a step with a wrong sum costs
    no target call. The decision is the same as without it (the member that stopped the run
    was below the threshold, so the minimum over all would be too); the reported score is the
    minimum over the members that ran.
    """

    def __init__(
        self,
        *judges: StepScorer,
        cheap_first: bool = False,
        abstain_score: float | None = None,
        name: str | None = None,
    ) -> None:
        _check_members("AllOf", judges)
        check_abstain_score("AllOf", abstain_score)
        self.judges: tuple[StepScorer, ...] = judges
        self.cheap_first = cheap_first
        self.abstain_score = abstain_score
        self.name = name or _names("all_of", judges)

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """The minimum verdict (or the first rejection, with ``cheap_first``)."""
        if not self.cheap_first:
            ran: Sequence[StepScorer] = self.judges
            verdicts = await _gather(self.judges, view, ctx)
            skipped: Sequence[StepScorer] = ()
        else:
            verdicts = []
            for judge in self.judges:
                verdict = await judge.ascore(view, ctx)
                verdicts.append(verdict)
                if not verdict.abstain and (
                    verdict.score is None or verdict.score < ctx.judging.threshold
                ):
                    break
            ran, skipped = self.judges[: len(verdicts)], self.judges[len(verdicts) :]
        said = [v for v in verdicts if not v.abstain]
        if not said:
            return _combined(ran, verdicts, self.abstain_score, abstain=True, skipped=skipped)
        scores = [v.score for v in said]
        score = None if any(s is None for s in scores) else min(s for s in scores if s is not None)
        return _combined(ran, verdicts, score, abstain=False, skipped=skipped)


class AnyOf:
    """One judge accepting is enough: the maximum of the non-abstaining scores.

    A judge without a verdict (None) does not veto the others; None only when no
    non-abstaining judge has a score. All abstaining: abstain with ``abstain_score``.
    Members run concurrently; usage is their sum.
    """

    def __init__(
        self, *judges: StepScorer, abstain_score: float | None = None, name: str | None = None
    ) -> None:
        _check_members("AnyOf", judges)
        check_abstain_score("AnyOf", abstain_score)
        self.judges: tuple[StepScorer, ...] = judges
        self.abstain_score = abstain_score
        self.name = name or _names("any_of", judges)

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """The maximum verdict."""
        verdicts = await _gather(self.judges, view, ctx)
        said = [v for v in verdicts if not v.abstain]
        if not said:
            return _combined(self.judges, verdicts, self.abstain_score, abstain=True)
        scores = [v.score for v in said if v.score is not None]
        return _combined(self.judges, verdicts, max(scores) if scores else None, abstain=False)


class Weighted:
    """The weighted mean of the non-abstaining scores: ``Weighted({judge: weight, ...})``.

    Weights are positive and renormalised over the judges that did not abstain. A
    non-abstaining judge without a verdict makes the result None (reject), as in `AllOf`: a
    mean cannot stand in for a judge that could not judge. All abstaining: abstain with
    ``abstain_score``. Members run concurrently; usage is their sum.
    """

    def __init__(
        self,
        weights: Mapping[StepScorer, float] | Iterable[tuple[StepScorer, float]],
        *,
        abstain_score: float | None = None,
        name: str | None = None,
    ) -> None:
        pairs = list(weights.items() if isinstance(weights, Mapping) else weights)
        _check_members("Weighted", [j for j, _ in pairs])
        check_abstain_score("Weighted", abstain_score)
        for judge, weight in pairs:
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
                raise UserError(f"Weighted: the weight of {judge.name!r} must be > 0, got {weight}")
        self.judges: tuple[StepScorer, ...] = tuple(j for j, _ in pairs)
        self.weights: tuple[float, ...] = tuple(float(w) for _, w in pairs)
        self.abstain_score = abstain_score
        self.name = name or _names("weighted", self.judges)

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """The weighted mean verdict."""
        verdicts = await _gather(self.judges, view, ctx)
        said = [(v, w) for v, w in zip(verdicts, self.weights, strict=True) if not v.abstain]
        if not said:
            return _combined(self.judges, verdicts, self.abstain_score, abstain=True)
        if any(v.score is None for v, _ in said):
            return _combined(self.judges, verdicts, None, abstain=False)
        total = sum(w for _, w in said)
        score = sum(v.score * w for v, w in said if v.score is not None) / total
        return _combined(self.judges, verdicts, min(max(score, 0.0), 9.0), abstain=False)
