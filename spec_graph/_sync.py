"""Run coroutines from synchronous code on one long-lived event loop.

``asyncio.run`` per call would bind each backend's HTTP connection pool to a loop that is then
closed, and it fails inside a running loop (Jupyter). One private loop in a daemon thread, shared
by the sync wrappers, avoids both.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="spec-graph-sync", daemon=True).start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on the shared background loop and return its result.

    A ``KeyboardInterrupt`` while waiting cancels the coroutine (so servers stop generating).
    """
    future = asyncio.run_coroutine_threadsafe(coroutine, _background_loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
