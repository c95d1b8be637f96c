"""Deprecated: moved to `spec_graph.backends.registry` (this path keeps working for one release)."""

import warnings

from spec_graph.backends.registry import *  # noqa: F403
from spec_graph.backends.registry import BACKENDS, BackendFactory, backend_for, register_backend  # noqa: F401

warnings.warn(
    "spec_graph.backends._providers is deprecated; import from spec_graph.backends.registry",
    DeprecationWarning,
    stacklevel=2,
)
