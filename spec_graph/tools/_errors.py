"""The one exception the tools raise on purpose.

A tool that cannot do what it was asked (an expression it will not evaluate, a call it
cannot run) raises `ToolError` with a one-line message that names what was tried; the
executor turns it into an error *result* the model reads, so a reasoning run never dies
because a step wrote a bad call.
"""

from __future__ import annotations

from spec_graph.errors import SpecGraphError

__all__ = ["ToolError"]


class ToolError(SpecGraphError):
    """A tool refused or failed on its input (the message is shown to the model as-is)."""
