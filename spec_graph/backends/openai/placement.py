"""Which llama.cpp slot a request runs in: chains keep their caches, judges keep to theirs.

A llama.cpp server has ``n_parallel`` slots, each with its own cached tokens. Left to itself
it places a request in the idle slot whose cache shares the longest prefix with the prompt,
and a judge prompt (the chain, the draft step and a question) shares a long one with the
chain's own slot: landing there, it overwrites the chain's cached tokens past the point where
its text re-tokenizes differently, and the chain's next step has them recomputed in a batch,
which rounds differently from the decoding that first wrote them (greedy steps change).

So with two slots or more the last is the judges' (`judge_slot`), and step requests are
placed by `SlotPlacement`: the idle chain slot whose tokens (as this process last left them)
share the longest prefix with the prompt, else the least recently used one. A busy server (no
chain slot idle) leaves the choice to llama.cpp. One placement per server root, shared by the
backends that talk to it (the tiny profile's draft and target are one server).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["ServerSlots", "SlotPlacement", "judge_slot", "placement_for", "slot_count"]


async def slot_count(request: Callable[..., Awaitable[dict[str, Any]]]) -> int:
    """llama.cpp's parallel slots, from ``GET /props`` (``request(method, path)``)."""
    return int((await request("GET", "/props")).get("total_slots") or 0)


def judge_slot(total_slots: int) -> int | None:
    """The slot kept for judge calls: the last, when there are two or more."""
    return total_slots - 1 if total_slots >= 2 else None


class SlotPlacement:
    """Chooses a chain slot per step request (``take``) and remembers its tokens (``give_back``).

    Thread-safe and loop-free (a lock never held across an await): the chat model and the
    reasoner run in several event loops.
    """

    def __init__(self, total_slots: int) -> None:
        judge = judge_slot(total_slots)
        self.chain_slots: tuple[int, ...] = tuple(range(judge)) if judge is not None else ()
        self._tokens: dict[int, list[int]] = {slot: [] for slot in self.chain_slots}
        self._busy: set[int] = set()
        self._used: dict[int, int] = dict.fromkeys(self.chain_slots, 0)
        self._clock = 0
        self._lock = threading.Lock()

    def take(self, prompt: Sequence[int]) -> int | None:
        """The slot for ``prompt`` (marked busy), or None: llama.cpp's own choice."""
        with self._lock:
            idle = [s for s in self.chain_slots if s not in self._busy]
            if not idle:
                return None
            slot = max(idle, key=lambda s: (_shared(self._tokens[s], prompt), -self._used[s]))
            self._busy.add(slot)
            self._clock += 1
            self._used[slot] = self._clock
            return slot

    def give_back(self, slot: int, tokens: Sequence[int] | None) -> None:
        """The request in ``slot`` ended: its cache now holds ``tokens`` (None: unknown)."""
        with self._lock:
            self._busy.discard(slot)
            self._tokens[slot] = list(tokens or [])


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_PLACEMENTS: dict[tuple[str, int], SlotPlacement] = {}
_PLACEMENTS_LOCK = threading.Lock()


def placement_for(root: str, total_slots: int) -> SlotPlacement | None:
    """The server's placement (one per server root); None with fewer than two slots."""
    if total_slots < 2:
        return None
    with _PLACEMENTS_LOCK:
        key = (root, total_slots)
        if key not in _PLACEMENTS:
            if len(_PLACEMENTS) >= 64:  # servers come and go (tests): keep the table bounded
                _PLACEMENTS.pop(next(iter(_PLACEMENTS)))
            _PLACEMENTS[key] = SlotPlacement(total_slots)
        return _PLACEMENTS[key]


class ServerSlots:
    """One backend's view of its server's slots, counted once (``count()``: 0 for none)."""

    def __init__(self, root: str, count: Callable[[], Awaitable[int]]) -> None:
        self.root, self._count = root, count
        self._total: int | None = None

    async def total(self) -> int:
        """The server's parallel slots (asked on first use)."""
        if self._total is None:
            self._total = await self._count()
        return self._total

    async def judge(self) -> int | None:
        """The slot judge calls go to (`judge_slot`), or None."""
        return judge_slot(await self.total())

    async def placement(self) -> SlotPlacement | None:
        """The placement of step requests on this server (`placement_for`), or None."""
        return placement_for(self.root, await self.total())
