"""Digit reading: turning the judge's next-token log-probabilities into a 0-9 score.

No-digit policy: when none of the top-k tokens is a digit, the score is ``None`` and the step
counts as *rejected* (the target rewrites it). A judge that cannot say the step is right has
not said it is right; the cost is one target step, never a wrong step kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from spec_graph.reasoning import ScoreMethod

__all__ = ["JudgeScore", "score_from_logprobs"]


class JudgeScore(BaseModel):
    """The judge's verdict on one step."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    """0-9, or None when no digit was among the top-k tokens."""
    digit_probs: dict[str, float]
    """Renormalised probability of each digit seen in the top-k (empty if none)."""
    digit_mass: float
    """Probability mass on digit tokens before renormalisation (how sure it was it's a digit)."""
    top_token: str
    """The judge's greedy token, for debugging a judge that answers off-format."""


def _digit(token: str) -> str | None:
    stripped = token.strip()
    return stripped if len(stripped) == 1 and stripped.isdigit() else None


def score_from_logprobs(
    top_logprobs: Iterable[tuple[str, float]], method: ScoreMethod = "greedy"
) -> JudgeScore:
    """Score from ``(token, logprob)`` pairs of the judge's first token.

    Tokens such as ``"7"`` and ``" 7"`` are the same digit and their probabilities add up.
    ``greedy`` takes the most probable digit; ``average`` the expected digit under the
    renormalised digit distribution (SpecReason's two methods).
    """
    pairs = list(top_logprobs)
    probs: dict[str, float] = {}
    for token, logprob in pairs:
        digit = _digit(token)
        if digit is not None:
            probs[digit] = probs.get(digit, 0.0) + math.exp(logprob)
    top_token = max(pairs, key=lambda p: p[1])[0] if pairs else ""
    mass = sum(probs.values())
    if mass <= 0.0:
        return JudgeScore(score=None, digit_probs={}, digit_mass=0.0, top_token=top_token)
    normalised = {d: p / mass for d, p in sorted(probs.items())}
    if method == "greedy":
        score = float(max(normalised.items(), key=lambda kv: kv[1])[0])
    else:
        score = sum(int(d) * p for d, p in normalised.items())
    return JudgeScore(score=score, digit_probs=normalised, digit_mass=mass, top_token=top_token)
