"""Deprecated: digit reading lives in `spec_graph.judging.digits` (re-exported here)."""

from __future__ import annotations

import warnings

from spec_graph.judging.digits import JudgeScore, score_from_logprobs

warnings.warn(
    "spec_graph.scoring is deprecated: import from spec_graph.judging.digits",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["JudgeScore", "score_from_logprobs"]
