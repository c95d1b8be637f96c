"""Deprecated: the option picker lives in `spec_graph.judging.picker` (re-exported here)."""

from __future__ import annotations

import warnings

from spec_graph.judging.picker import (
    CHAIN_QUESTION,
    MAX_OPTIONS,
    REPLY_PREFIX,
    STEP_QUESTION,
    OptionPicker,
    Selection,
)
from spec_graph.judging.view import OptionsView

warnings.warn(
    "spec_graph.selection is deprecated: import from spec_graph.judging.picker "
    "(OptionPicker, Selection, MAX_OPTIONS) and spec_graph.judging.view (OptionsView)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "CHAIN_QUESTION",
    "MAX_OPTIONS",
    "REPLY_PREFIX",
    "STEP_QUESTION",
    "OptionPicker",
    "OptionsView",
    "Selection",
]
