"""Cutting tool output down to size, the same way everywhere.

A model reads a tool's output as part of its chain, so a runaway print must not flood its
context. Both ends are kept (the end is where a traceback or a final value is), and the
marker says how much was dropped so the model knows the output is incomplete.
"""

from __future__ import annotations

__all__ = ["truncate"]


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and tail around a marker.

    The result is never longer than ``limit`` unless ``limit`` is smaller than the marker
    itself (then it is just the marker).
    """
    if len(text) <= limit:
        return text
    # The marker's length depends on the dropped count; its digits are at most len(text)'s.
    width = len(_marker(len(text)))
    keep = max(limit - width, 0)
    tail = keep // 3
    head = keep - tail
    return text[:head] + _marker(len(text) - keep) + (text[len(text) - tail :] if tail else "")


def _marker(dropped: int) -> str:
    return f"\n[... {dropped} characters truncated ...]\n"
