"""Deprecated: the run's context lives in `spec_graph.nodes.context` (re-exported here)."""

from __future__ import annotations

import warnings

from spec_graph.nodes.context import (
    BOXED,
    Routing,
    SpecContext,
    conversation,
    extract_boxed,
    step_max_tokens,
    step_texts,
    stop_reason,
    tokens_used,
)

warnings.warn(
    "spec_graph.nodes._context is deprecated: import from spec_graph.nodes.context",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "BOXED",
    "Routing",
    "SpecContext",
    "conversation",
    "extract_boxed",
    "step_max_tokens",
    "step_texts",
    "stop_reason",
    "tokens_used",
]
