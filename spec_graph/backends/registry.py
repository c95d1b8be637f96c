"""`backend_for`: the one place that turns a model description into a `ModelBackend`.

Nothing above the backends names a concrete backend class: they ask ``backend_for(spec)``.
Factories are registered by *kind* in `BACKENDS` and called as ``factory(spec, **kwargs)``:

- a `ModelSpec` names its kind (``ModelSpec(kind="transformers", model=...)``);
- an `EndpointConfig`'s ``server`` is looked up first: a registered kind wins, so
  ``register_backend("toy", ToyBackend)`` makes ``EndpointConfig(..., server="toy")`` a toy;
  ``auto`` or a server whose quirks are known (``vllm``, ``sglang``, ``llamacpp``,
  ``generic``: `spec_graph.backends.openai.quirks.QUIRKS`) goes to the kind for its URL
  scheme (``http``, ``https``: `OpenAICompatibleBackend`). Anything else is a `UserError`
  naming the known kinds and servers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from spec_graph.backends.base import ModelBackend
from spec_graph.backends.openai.backend import OpenAICompatibleBackend
from spec_graph.backends.openai.quirks import QUIRKS
from spec_graph.backends.spec import ModelSpec
from spec_graph.config import EndpointConfig
from spec_graph.errors import UserError
from spec_graph.registry import Registry

__all__ = ["BACKENDS", "BackendFactory", "ModelSpec", "backend_for", "register_backend"]

BackendFactory = Callable[..., ModelBackend]
"""Called as ``factory(spec, **kwargs)``: ``spec`` is the `EndpointConfig` or `ModelSpec`,
the keywords are those given to `backend_for`."""


def _openai(spec: EndpointConfig | ModelSpec, **kwargs: Any) -> ModelBackend:
    """`OpenAICompatibleBackend`; a `ModelSpec`'s options are the `EndpointConfig` fields."""
    if isinstance(spec, ModelSpec):
        spec = EndpointConfig(model=spec.model, **spec.options)
    return OpenAICompatibleBackend(spec, **kwargs)


BACKENDS: Registry[BackendFactory] = Registry(
    "backend kind", {"openai": _openai, "http": _openai, "https": _openai}
)
"""Backend factories by kind (``openai`` and the URL schemes ``http``/``https`` built in)."""


def register_backend(
    kind: str, factory: BackendFactory, *, replace: bool = False
) -> BackendFactory | None:
    """Make ``factory`` the backend for ``kind``; returns the factory it replaced (or None).

    ``kind`` is a `ModelSpec` kind, an endpoint's ``server``, or a URL scheme.

    A kind already taken by another factory is a `UserError` unless ``replace=True``, so a
    typo cannot silently shadow a built-in; what is returned can be put back the same way.
    """
    return BACKENDS.register(kind, factory, replace=replace)


def backend_for(spec: EndpointConfig | ModelSpec, **kwargs: Any) -> ModelBackend:
    """A backend for ``spec`` (see the module docstring for how its kind is found).

    ``kwargs`` go to the factory (for the OpenAI-compatible one: ``request_shape``, ``client``).
    """
    if isinstance(spec, ModelSpec):
        return BACKENDS.get(spec.kind)(spec, **kwargs)
    if not isinstance(spec, EndpointConfig):
        msg = f"backend_for takes an EndpointConfig or a ModelSpec, not {type(spec).__name__}"
        raise UserError(msg)
    factory = BACKENDS.find(spec.server)
    if factory is not None:
        return factory(spec, **kwargs)
    if spec.server != "auto" and spec.server not in QUIRKS:
        known = [*BACKENDS.names(), *QUIRKS.names(), "auto"]
        msg = f"unknown server kind {spec.server!r}; known: {', '.join(dict.fromkeys(known))}"
        raise UserError(msg)
    scheme = urlsplit(spec.base_url).scheme
    factory = BACKENDS.find(scheme)
    if factory is None:
        msg = (
            f"no backend is registered for server {spec.server!r} or URL scheme {scheme!r} "
            f"(registered: {', '.join(BACKENDS.names())})"
        )
        raise UserError(msg)
    return factory(spec, **kwargs)
