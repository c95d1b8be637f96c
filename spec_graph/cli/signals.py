"""SIGTERM stops a command the way Ctrl-C does, so every clean-up runs.

Raising an exception from a signal handler in the middle of asyncio code lands in whatever
task happens to run (inside LangGraph's task groups, as an exception group), and the
``with`` blocks that stop the embedded servers see it too late. asyncio already handles
SIGINT well: `asyncio.run` cancels the main task and raises `KeyboardInterrupt` once it has
unwound. So SIGTERM is turned into SIGINT, and remembered, so the exit code says 143.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from spec_graph.cli.display import err

__all__ = ["install", "interrupted", "terminated"]

_TERMINATED = threading.Event()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _TERMINATED.set()
    signal.raise_signal(signal.SIGINT)


def install() -> None:
    """Handle SIGTERM as above; call once, from the main thread, before the command runs.

    A shell starts background jobs with SIGINT ignored; then asyncio would not install its
    handler and the forwarded signal would be lost, so SIGINT gets Python's default back.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)


def terminated() -> bool:
    """Whether the interrupt being handled came from SIGTERM."""
    return _TERMINATED.is_set()


def interrupted() -> int:
    """Say why the command stopped (stderr) and return its exit code: 143 or 130.

    Called where an interrupt is caught; typer itself turns an uncaught one into a silent
    exit 130, so each command that starts servers catches it and calls this.
    """
    if terminated():
        err.print("[yellow]terminated[/]")
        return 143
    err.print("[yellow]interrupted[/]")
    return 130
