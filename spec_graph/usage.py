"""`Usage`: what model calls cost, as one value that adds up.

Every backend call returns a `Usage`; a step's cost is the sum of its calls' usage per role
(draft, judge, target), and a run's totals are the sum over its steps. Nothing copies token
counters field by field: ``a + b`` (and ``sum(...)``) is the only way totals are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Usage", "usage_from_metadata"]


class Usage(BaseModel):
    """Calls, tokens and seconds of one or more model calls."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens served from the server's prefix cache (0 when the server doesn't say)."""
    completion_tokens: int = 0
    seconds: float = 0.0
    """Wall-clock seconds spent waiting for these calls."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=self.seconds + other.seconds,
        )

    def __radd__(self, other: object) -> Usage:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented  # pragma: no cover

    @property
    def uncached_prompt_tokens(self) -> int:
        """Prompt tokens the server had to process."""
        return max(self.prompt_tokens - self.cached_tokens, 0)


def usage_from_metadata(usage_metadata: Mapping[str, Any] | None, seconds: float) -> Usage:
    """One call's `Usage` from a LangChain message's ``usage_metadata`` (zeros where absent).

    The one conversion from LangChain's usage shape, for the LangChain backend and the
    LLM judge alike.
    """
    meta: Mapping[str, Any] = usage_metadata or {}
    details: Mapping[str, Any] = meta.get("input_token_details") or {}
    return Usage(
        calls=1,
        prompt_tokens=int(meta.get("input_tokens", 0) or 0),
        cached_tokens=int(details.get("cache_read", 0) or 0),
        completion_tokens=int(meta.get("output_tokens", 0) or 0),
        seconds=seconds,
    )
