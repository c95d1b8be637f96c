"""`Slots` bounds concurrent work in each event loop, and works from one loop after another."""

from __future__ import annotations

import asyncio

import pytest

from spec_graph.slots import Slots


async def _most_at_once(slots: Slots, tasks: int) -> int:
    running = most = 0

    async def work() -> None:
        nonlocal running, most
        async with slots.taken():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(work() for _ in range(tasks)))
    return most


def test_the_bound_holds_in_each_new_event_loop():
    slots = Slots(3)
    assert asyncio.run(_most_at_once(slots, 20)) == 3
    assert asyncio.run(_most_at_once(slots, 20)) == 3  # a second loop: no "bound to a loop"


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError, match=">= 1"):
        Slots(0)
