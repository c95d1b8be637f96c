"""Exceptions raised by spec-graph.

Two families, as in pydantic-ai: `UserError` for the caller's mistakes (bad config, bad
input; fix the call) and `SpecGraphRuntimeError` for things that go wrong at run time
(a server that cannot be reached, a model that cannot be fetched). Every message is one
line that names what was tried, so the CLI can print it without a traceback.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "EmbeddedServerError",
    "ModelFetchError",
    "RunTimeoutError",
    "ServerUnavailableError",
    "SpecGraphError",
    "SpecGraphRuntimeError",
    "UserError",
]


class SpecGraphError(Exception):
    """Base class of every error spec-graph raises on purpose."""


class UserError(SpecGraphError, ValueError):
    """The caller asked for something invalid (unknown profile, empty question, ...)."""


class SpecGraphRuntimeError(SpecGraphError, RuntimeError):
    """Something failed at run time that the caller could not have prevented by a better call."""


class ModelFetchError(SpecGraphRuntimeError):
    """A local model could not be downloaded, assembled or verified.

    Raised at run time (network, disk, index content), as opposed to ``ValueError`` for
    a caller's mistake such as an unknown model name. Nothing unverified is ever left
    at the model's final path when this is raised.
    """


class BackendError(SpecGraphRuntimeError):
    """A model server answered, but not with something spec-graph can use."""


class ServerUnavailableError(BackendError):
    """A model server could not be reached (refused, timed out, or wrong URL)."""


class EmbeddedServerError(SpecGraphRuntimeError):
    """The embedded llama.cpp server failed to start or died."""


class RunTimeoutError(SpecGraphRuntimeError):
    """A run went past its deadline (``ReasoningConfig.run_timeout_s``) and was stopped."""
