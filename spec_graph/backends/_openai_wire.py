"""Deprecated: moved to `spec_graph.backends.openai.wire` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.openai.wire import *  # noqa: F403

warnings.warn(
    "spec_graph.backends._openai_wire is deprecated; import from spec_graph.backends.openai.wire",
    DeprecationWarning,
    stacklevel=2,
)
