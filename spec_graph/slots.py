"""`Slots`: at most N things at once, in whichever event loop asks.

An `asyncio.Semaphore` belongs to the loop that first waits on it, and the chat model and
the reasoner are used from several loops (a sync ``invoke`` runs on a background loop, each
``asyncio.run`` is a new one). One semaphore per loop keeps the bound without that trap.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Slots"]


class Slots:
    """A bound on concurrent work per event loop; ``async with slots.taken(): ...``."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._by_loop = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            semaphore = self._by_loop.get(loop)
            if semaphore is None:
                semaphore = self._by_loop[loop] = asyncio.Semaphore(self.limit)
            return semaphore

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        """Hold one slot for the block (waiting for one to free up first)."""
        async with self._semaphore():
            yield
