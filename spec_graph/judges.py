"""Deprecated: the judge formulations live in `spec_graph.judging.formulations`.

``StepView`` is in `spec_graph.judging.view`; the unused ``StepJudge`` protocol is gone (every
judge keeps `spec_graph.judging.StepScorer`). This module re-exports the rest for one release.
"""

from __future__ import annotations

import warnings

from spec_graph.judging.formulations import (
    ANSWER_PREFIX,
    INLINE_CHECK,
    JUDGES,
    REVIEWER_INSTRUCTION,
    REVIEWER_INTRO,
    YES_NO_INSTRUCTION,
    Judge,
    likelihood_score,
    register_formulation,
    yes_no_score,
)
from spec_graph.judging.view import StepView
from spec_graph.reasoning import JudgeName

warnings.warn(
    "spec_graph.judges is deprecated: import from spec_graph.judging.formulations "
    "(Judge, JUDGES, register_formulation) and spec_graph.judging.view (StepView)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "ANSWER_PREFIX",
    "INLINE_CHECK",
    "JUDGES",
    "REVIEWER_INSTRUCTION",
    "REVIEWER_INTRO",
    "YES_NO_INSTRUCTION",
    "Judge",
    "JudgeName",
    "StepView",
    "likelihood_score",
    "register_formulation",
    "yes_no_score",
]
