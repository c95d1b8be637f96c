"""Deprecated: moved to `spec_graph.backends.openai.text_tools` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.openai.text_tools import *  # noqa: F403
from spec_graph.backends.openai.text_tools import reply_tool_calls as parse_tool_calls  # noqa: F401

warnings.warn(
    "spec_graph.backends._text_tools is deprecated; import from spec_graph.backends.openai.text_tools",
    DeprecationWarning,
    stacklevel=2,
)
