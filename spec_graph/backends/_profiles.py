"""Deprecated: moved to `spec_graph.backends.openai.quirks` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.openai.quirks import *  # noqa: F403
from spec_graph.backends.openai.quirks import (  # noqa: F401
    PROFILES,
    QUIRKS,
    RequestShape,
    ServerProfile,
    ServerQuirks,
    profile_for_owner,
)

warnings.warn(
    "spec_graph.backends._profiles is deprecated; import from spec_graph.backends.openai.quirks",
    DeprecationWarning,
    stacklevel=2,
)
