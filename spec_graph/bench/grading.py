r"""Grading answers against the gold answer with math-verify (not a home-made regex).

The prediction is read as a boxed expression first (our answer node already extracted the
last ``\boxed{}``), then as free text, where math-verify takes the last number; a prediction
is correct when either reading is equivalent to the gold answer (``1,000``, ``1000.00``,
``\frac{2000}{2}`` and ``$1000`` all match ``1000``).
"""

from __future__ import annotations

import logging
import threading

from math_verify import parse, verify

__all__ = ["grade"]

# math-verify warns once per call when its signal-based timeout is off (which it must be off
# the main thread); the warning says nothing about the answer.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def _timeout() -> int | None:
    return 5 if threading.current_thread() is threading.main_thread() else None


def grade(prediction: str | None, gold: str) -> bool:
    """True when ``prediction`` is mathematically equivalent to ``gold``."""
    if prediction is None or not prediction.strip():
        return False
    timeout = _timeout()
    expected = parse(gold, parsing_timeout=timeout)
    if not expected:
        raise ValueError(f"gold answer {gold!r} does not parse as a math expression")
    for text in (f"\\boxed{{{prediction}}}", prediction):
        got = parse(text, parsing_timeout=timeout)
        if got and verify(expected, got, timeout_seconds=timeout):
            return True
    return False
