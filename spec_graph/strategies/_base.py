"""Deprecated: the strategy contract lives in `spec_graph.strategies.base` (re-exported)."""

from __future__ import annotations

import warnings

from spec_graph.strategies.base import (
    NodeSpec,
    StepLevelStrategy,
    Strategy,
    StrategySettings,
    built_for,
)

warnings.warn(
    "spec_graph.strategies._base is deprecated: import from spec_graph.strategies.base",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["NodeSpec", "StepLevelStrategy", "Strategy", "StrategySettings", "built_for"]
