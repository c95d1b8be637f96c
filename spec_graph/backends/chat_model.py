"""Deprecated: moved to `spec_graph.backends.langchain` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.langchain import *  # noqa: F403
from spec_graph.backends.langchain import NEXT_STEP_INSTRUCTION, ChatModelBackend, LangChainBackend  # noqa: F401

warnings.warn(
    "spec_graph.backends.chat_model is deprecated; import from spec_graph.backends.langchain",
    DeprecationWarning,
    stacklevel=2,
)
