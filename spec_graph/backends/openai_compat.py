"""Deprecated: moved to `spec_graph.backends.openai.backend` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.openai.backend import *  # noqa: F403
from spec_graph.backends.openai.backend import OpenAICompatibleBackend  # noqa: F401

warnings.warn(
    "spec_graph.backends.openai_compat is deprecated; import from spec_graph.backends.openai.backend",
    DeprecationWarning,
    stacklevel=2,
)
