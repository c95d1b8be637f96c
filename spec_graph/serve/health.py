"""Readiness: whether both model servers can answer now.

An OpenAI-compatible backend is asked ``GET {base_url}/models`` with its key and a short
deadline; any other backend (an in-process model, a test fake) is asked for its
``capabilities()`` under the same deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from spec_graph.backends import ModelBackend
from spec_graph.config import EndpointConfig

__all__ = ["probe", "probe_both"]


async def _http(endpoint: EndpointConfig, timeout_s: float) -> None:
    headers = {}
    if endpoint.api_key is not None:
        headers["Authorization"] = f"Bearer {endpoint.api_key.get_secret_value()}"
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        response = await client.get(f"{endpoint.base_url}/models", headers=headers)
    response.raise_for_status()


async def probe(backend: ModelBackend, timeout_s: float) -> dict[str, Any]:
    """``{"ok", "model", "seconds"}`` and, when not ok, ``"error"`` (never raises)."""
    started = time.perf_counter()
    endpoint = getattr(backend, "endpoint", None)
    result: dict[str, Any] = {"model": backend.model_name}
    try:
        if isinstance(endpoint, EndpointConfig):
            await _http(endpoint, timeout_s)
        else:
            await asyncio.wait_for(backend.capabilities(), timeout_s)
        result["ok"] = True
    except Exception as e:
        result["ok"] = False
        result["error"] = f"{type(e).__name__}: {e}"[:300]
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


async def probe_both(
    draft: ModelBackend, target: ModelBackend, timeout_s: float
) -> dict[str, dict[str, Any]]:
    """Both probes at once."""
    d, t = await asyncio.gather(probe(draft, timeout_s), probe(target, timeout_s))
    return {"draft": d, "target": t}
