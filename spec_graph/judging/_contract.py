"""Deprecated: the judge contract lives in `spec_graph.judging.contract` (re-exported here)."""

from __future__ import annotations

import warnings

from spec_graph.judging.contract import StepScorer, Verdict, check_abstain_score

warnings.warn(
    "spec_graph.judging._contract is deprecated: import from spec_graph.judging.contract",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["StepScorer", "Verdict", "check_abstain_score"]
