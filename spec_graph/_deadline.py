"""``await`` with a time limit that never swallows the caller's cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["within"]

T = TypeVar("T")


async def within(pending: Awaitable[T], seconds: float) -> T:
    """``await pending`` for at most ``seconds`` (then `asyncio.TimeoutError`).

    Python 3.11's ``asyncio.wait_for`` drops the caller's cancellation when the awaited call
    finishes in the same loop turn (CPython gh-86296): a Ctrl-C that landed between two short
    requests was lost and the run went on. ``asyncio.timeout`` (3.11+) has no such race.
    """
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10
        return await asyncio.wait_for(pending, seconds)
    async with timeout(max(0.0, seconds)):
        return await pending
