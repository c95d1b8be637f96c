"""The one contract every step judge keeps: a `StepScorer` returns a 0-9 `Verdict`.

Kept apart from the judges so that each judge and each combination depends on the contract
alone, never on one another. `JudgeSettings` are the knobs of judging a step (``threshold``,
``judge_prompt``, ``score_method``, ``check_arithmetic``): a strategy that judges steps
(SpecReason) makes them part of its own settings by inheriting them, and every judge reads
them as ``ctx.judging``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spec_graph.errors import UserError
from spec_graph.judging.formulations import check_formulation
from spec_graph.judging.view import StepView
from spec_graph.reasoning import ScoreMethod
from spec_graph.usage import Usage

if TYPE_CHECKING:
    from spec_graph.nodes.context import SpecContext

__all__ = ["JudgeSettings", "StepScorer", "Verdict", "check_abstain_score", "judge_settings"]


class JudgeSettings(BaseModel):
    """How a draft step is judged: the settings of a strategy that judges steps.

    A strategy's settings model inherits these to judge (``class SpecReasonSettings(
    JudgeSettings, StrategySettings)``); the judge node and every judge read them as
    ``ctx.judging`` (these defaults when the run's strategy has none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(default=8.0, ge=0.0, le=9.0)
    """Accept a draft step when its judge score is at least this (0-9). With the default
    yes/no judge, 8 means P(yes) >= 0.89 (chosen on GSM8K dev items 100-107, never on the
    reported ones; see benchmarks/results/judge_quality.json)."""
    judge_prompt: str = "yesno"
    """How the target judges a step: a registered formulation
    (`spec_graph.judging.formulations`, `register_formulation`); all map to the same 0-9
    scale. ``yesno`` had the best AUROC per second of judge cost on this machine's models."""
    score_method: ScoreMethod = "average"
    """``average`` (expected value) separates steps; a greedy digit from a small judge is
    almost always 9 (AUROC 0.50 in our measurements)."""
    check_arithmetic: bool = False
    """Re-check each draft step's arithmetic (``a op b = c``) with the calculator before the
    judge: a step with a wrong claim is rejected without a judge call; the others go to the
    judge (`spec_graph.judging.ArithmeticJudge` first in a cheap-first `AllOf`)."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "judge" in data:
            warnings.warn(
                "the setting 'judge' (a judge prompt) is now 'judge_prompt'",
                DeprecationWarning,
                stacklevel=2,
            )
            data = dict(data)
            data.setdefault("judge_prompt", data.pop("judge"))
        return data

    @field_validator("judge_prompt")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            return check_formulation(value)
        except UserError as e:
            raise ValueError(str(e)) from None


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

    ``ctx`` (the run's `SpecContext`) gives the models, the config (``judge_top_logprobs``)
    and ``ctx.judging``, the `JudgeSettings` (``threshold``, ``score_method``, ...); a scorer
    must not keep per-run state of its own, since one scorer serves every run of a reasoner,
    concurrently.
    """

    @property
    def name(self) -> str:
        """The judge's name (in telemetry and error messages)."""
        ...

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """The verdict on ``view.candidate``."""
        ...


def judge_settings(options: object) -> JudgeSettings:
    """A run's `JudgeSettings`: its strategy's settings if they include them, else defaults."""
    return options if isinstance(options, JudgeSettings) else _DEFAULTS


_DEFAULTS = JudgeSettings()


def check_abstain_score(owner: str, score: float | None) -> None:
    """Refuse an ``abstain_score`` off the 0-9 scale when the judge is built, not mid-run."""
    if score is not None and not 0.0 <= score <= 9.0:
        raise UserError(f"{owner}: abstain_score is 0-9 or None, got {score}")
