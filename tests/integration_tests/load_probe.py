"""What the load tests watch: runs in flight inside the server, and this process's memory.

Shared by the load tests of the chat model and of ``spec-graph serve``::

    from load_probe import InFlight, measured

    runs = InFlight()
    reasoner.astream = runs.counted(reasoner.astream)   # runs inside, not callers at the door
    load = await measured(asyncio.gather(*requests))
    load.result, load.seconds, load.peak_mib, load.grown_mib, runs.most
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psutil

T = TypeVar("T")
MIB = 2**20


class InFlight:
    """Counts the calls of an async-iterator function that are running; keeps the most."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def counted(
        self, stream: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncIterator[Any]]:
        def counting(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async def run() -> AsyncIterator[Any]:
                self.now += 1
                self.most = max(self.most, self.now)
                try:
                    async for item in stream(*args, **kwargs):
                        yield item
                finally:
                    self.now -= 1

            return run()

        return counting


@dataclass(frozen=True)
class Measured(Generic[T]):
    result: T
    seconds: float
    peak_mib: float
    """This process's peak resident memory while the work ran (sampled every 0.2 s)."""
    grown_mib: float
    """The peak over the resident memory before the work started."""


async def measured(work: Awaitable[T]) -> Measured[T]:
    """``work``'s result, how long it took, and this process's memory meanwhile."""
    process = psutil.Process()
    before = peak = process.memory_info().rss

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    try:
        result = await work
    finally:
        sampler.cancel()
    peak = max(peak, process.memory_info().rss)
    return Measured(result, time.monotonic() - started, peak / MIB, (peak - before) / MIB)
