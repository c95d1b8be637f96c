"""`backend_for`: the one place that turns an `EndpointConfig` into a `ModelBackend`.

Nothing above the backends names a concrete backend class: they ask ``backend_for(endpoint)``.
Factories are registered by *kind*: an endpoint's ``server`` (``vllm``, ``llamacpp``, ...) is
looked up first, then its URL scheme (``http``, ``https``). Out of the box both schemes map to
`OpenAICompatibleBackend`, so every endpoint speaks the OpenAI API unless a factory registered
for its server kind says otherwise::

    from spec_graph.backends import register_backend

    register_backend("vllm", MyVLLMBackend)  # called as MyVLLMBackend(endpoint, **kwargs)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from spec_graph.backends.base import ModelBackend
from spec_graph.backends.openai_compat import OpenAICompatibleBackend
from spec_graph.config import EndpointConfig
from spec_graph.errors import UserError

__all__ = ["BackendFactory", "backend_for", "register_backend"]

BackendFactory = Callable[..., ModelBackend]
"""Called as ``factory(endpoint, **kwargs)`` with the keywords given to `backend_for`."""

_FACTORIES: dict[str, BackendFactory] = {
    "http": OpenAICompatibleBackend,
    "https": OpenAICompatibleBackend,
}


def register_backend(kind: str, factory: BackendFactory) -> BackendFactory | None:
    """Use ``factory`` for endpoints whose ``server`` (or URL scheme) is ``kind``.

    Returns the factory it replaced (None if there was none), so a caller can put it back.
    """
    if not kind:
        raise ValueError("a backend kind must be a non-empty string")
    previous = _FACTORIES.get(kind)
    _FACTORIES[kind] = factory
    return previous


def backend_for(endpoint: EndpointConfig, **kwargs: Any) -> ModelBackend:
    """A backend for ``endpoint``: the factory for its server kind, else for its URL scheme.

    ``kwargs`` go to the factory (for the OpenAI-compatible one: ``request_shape``, ``client``).
    """
    scheme = urlsplit(endpoint.base_url).scheme
    for kind in (endpoint.server, scheme):
        factory = _FACTORIES.get(kind)
        if factory is not None:
            return factory(endpoint, **kwargs)
    msg = (
        f"no backend is registered for server {endpoint.server!r} or URL scheme {scheme!r} "
        f"(registered: {', '.join(sorted(_FACTORIES))})"
    )
    raise UserError(msg)
