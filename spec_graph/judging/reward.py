"""A reward model, a classifier or any scoring function of the step as a `StepScorer`."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spec_graph.errors import UserError
from spec_graph.judging.contract import Verdict
from spec_graph.judging.view import StepView

if TYPE_CHECKING:
    from spec_graph.nodes.context import SpecContext

__all__ = ["RewardFn", "RewardJudge"]

RewardFn = Callable[[StepView], "float | Awaitable[float]"]


@dataclass(frozen=True, eq=False)
class RewardJudge:
    """Any function of the step (sync or async) returning a number: a reward model, a classifier.

    ``fn(view)`` is mapped linearly from ``[low, high]`` onto 0-9 and clamped. A function that
    raises or returns something that is not a finite number gives no verdict (``score=None``,
    the error in ``detail["error"]``): a broken scorer rejects steps, it never ends the run.
    ``to_thread=True`` runs a sync ``fn`` in a worker thread, so a local model that releases
    the GIL does not block the target's judge call running next to it in a combination.
    Usage is ``Usage()``: the judge cannot know what ``fn`` costs.
    """

    fn: RewardFn
    low: float = 0.0
    high: float = 1.0
    name: str = "reward"
    to_thread: bool = False

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise UserError(f"RewardJudge needs low < high, got [{self.low}, {self.high}]")

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """``fn(view)`` mapped onto 0-9."""
        try:
            if self.to_thread and not inspect.iscoroutinefunction(self.fn):
                raw: Any = await asyncio.to_thread(self.fn, view)
            else:
                raw = self.fn(view)
            if inspect.isawaitable(raw):
                raw = await raw
            value = float(raw)
            if not math.isfinite(value) or isinstance(raw, bool):
                raise ValueError(f"not a finite number: {raw!r}")
        except Exception as error:  # a user's scorer: never crash the run, reject the step
            return Verdict(score=None, detail={"error": f"{type(error).__name__}: {error}"})
        scaled = 9.0 * (value - self.low) / (self.high - self.low)
        return Verdict(score=min(max(scaled, 0.0), 9.0), detail={"raw": value})
