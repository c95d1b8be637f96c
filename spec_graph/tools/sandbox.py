"""Run a short piece of Python for a reasoning step: the `python_sandbox` tool.

The code is written by a model (or by whoever injected text into its context), so it is
treated as hostile. Two layers, on purpose:

1. **The boundary: a bubblewrap sandbox** (`spec_graph.tools.bwrap`), enforced by the kernel,
   that nothing inside can switch off. The child interpreter runs in new user, PID, network,
   IPC, UTS and cgroup namespaces as uid 65534 with no capabilities and no further user
   namespaces; it sees an empty read-only root into which only ``/usr``, the dynamic-linker
   cache, the Python installation and the environment's site-packages are bound read-only,
   a fresh ``/proc`` in which the caller does not exist, a minimal ``/dev`` and a 16 MB tmpfs
   ``/tmp`` as its working directory. It is started with a clean environment (``env -i``
   plus ``PATH``, ``LANG``, ``HOME=/tmp`` and thread-count variables), so no API key is in
   the sandbox, not even in the environment of bwrap's own PID 1, and the caller's memory is
   in another PID namespace (``/proc/<ppid>/mem`` names a bwrap process, not the caller).
   The network namespace has only its own loopback: the caller's ``127.0.0.1`` is out of
   reach. A seccomp filter (x86_64 and aarch64) refuses new processes (``fork``, ``vfork``,
   ``clone`` without ``CLONE_THREAD``) and kernel interfaces a calculation never needs.
   On a timeout the parent SIGKILLs bwrap; ``--die-with-parent`` then kills the PID
   namespace's init, and with it every process in the namespace, ``setsid()`` or not.
   The run returns only once the namespace is gone (a ``--sync-fd`` pipe closes then).
2. **A courtesy layer inside** (`spec_graph.tools.sandbox_child`): rlimits (CPU seconds,
   address space, file size 0, no core dumps, no processes), a wall-clock timer and an
   audit hook that refuses network, processes, file writes and a denylist of imports with a
   one-line message that names what was refused, so an honest mistake reads well. It is
   plain Python in the same interpreter as the code: it can be sidestepped, and it is not
   what keeps the host safe. Like a REPL, the value of a final expression is printed.

**The result record.** The child writes ``{"output", "error", "timed_out", "memory"}`` after
`RESULT_MARKER` on stdout. No secret can authenticate that record: the bootstrap and the
code share one address space, so a nonce (or a private fd) the bootstrap holds is readable
by the code, and everything the process writes after the code started is the code's to
write. So the parent gives the record no authority: it is the code's own account of what
it printed and how it ended, no more than the code could have produced honestly (it can
print anything and raise anything). What matters is decided by the parent alone: a
timeout (its own clock and kill; a record claiming a timeout before ``timeout_s`` elapsed is
rejected), signals and the exit status (a record is read only after a clean exit 0, and
only as the very last thing on stdout), and the caps (output cut to ``max_output_chars``
and the error to one short line by the parent, whatever the record says).

**Where no isolation is available** (not Linux, no ``bwrap``, or it cannot start, e.g. user
namespaces disabled), `run_python` refuses with a one-line error, unless the caller opts
into the weak in-process guard alone: ``run_python(..., allow_weak_sandbox=True)`` or
``SPEC_GRAPH_ALLOW_WEAK_SANDBOX=1`` in the environment. That mode is a guard against
accidents only: the code can read the caller's files, environment and memory. See
``docs/sandbox.md``.

`run_python` never raises for the code's problems: errors, refusals, timeouts and memory
exhaustion all come back in `SandboxResult.error`.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, Field

from spec_graph.errors import UserError
from spec_graph.tools import bwrap
from spec_graph.tools._text import truncate

__all__ = [
    "MAX_CODE_CHARS",
    "RESULT_MARKER",
    "WEAK_SANDBOX_ENV",
    "SandboxResult",
    "run_python",
]

MAX_CODE_CHARS = 100_000
_CHILD = Path(__file__).with_name("sandbox_child.py")
RESULT_MARKER = "\n\x1esandbox-result\x1e"
"""Precedes the child's result record (the same constant as in `sandbox_child`, which is
not imported here: it needs POSIX-only modules)."""
_GRACE_S = 2.0
"""Wall seconds past ``timeout_s`` before the parent kills a child that ignored its timer."""
_RAW_TAIL_BYTES = 1 << 20


class SandboxResult(BaseModel):
    """What a run printed and how it ended."""

    model_config = ConfigDict(frozen=True)

    output: str
    """stdout and stderr of the code, then the repr of a final expression (REPL-style),
    cut to ``max_output_chars`` with a marker."""
    error: str | None = None
    """One line when the run did not succeed: the exception (``ZeroDivisionError: division
    by zero (line 3)``), a refusal (``sandbox: ...``), a timeout or the memory limit."""
    timed_out: bool = False
    seconds: float = Field(ge=0.0)
    """Wall time of the whole run, interpreter start included."""

    @property
    def text(self) -> str:
        """Output and error as one text, the way a model reads it."""
        if self.error is None:
            return self.output
        return f"{self.output.rstrip()}\n{self.error}" if self.output.strip() else self.error


WEAK_SANDBOX_ENV = "SPEC_GRAPH_ALLOW_WEAK_SANDBOX"
"""Set to ``1`` to let `run_python` fall back to the weak in-process guard (no isolation)."""
_ERROR_CHARS = 300
_log = logging.getLogger(__name__)
_warned_weak = False


def _environment(home: str) -> dict[str, str]:
    # Everything the child (and bwrap before it) gets: no variable of the caller's. No
    # PYTHON* variables: ``-I`` ignores them, ``-B`` and ``-I`` do their work.
    # Thread pools of numeric libraries would each reserve address space (and need threads).
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def _weak_allowed_by_environment() -> bool:
    return os.environ.get(WEAK_SANDBOX_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _drain(stream: IO[bytes], tail: bytearray) -> None:
    """Read ``stream`` to its end, keeping only its last `_RAW_TAIL_BYTES`."""
    while chunk := stream.read(65536):
        tail += chunk
        if len(tail) > 2 * _RAW_TAIL_BYTES:
            del tail[:-_RAW_TAIL_BYTES]


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 3] + "..."


@dataclass
class _Run:
    """What the parent itself observed (trusted), and the raw bytes (not)."""

    raw: bytes
    returncode: int
    killed: bool
    seconds: float


def _spawn(
    argv: list[str], cwd: str, code: str, wait_s: float, pass_fds: list[int], *, sync: bool
) -> _Run:
    """Start ``argv``, feed ``code``, wait up to ``wait_s`` and SIGKILL its group past that.

    ``sync`` (bwrap): add a ``--sync-fd`` pipe, which bwrap's PID 1 holds; after the wait
    the parent reads it to its end, which comes only once that init, and so every process
    of the namespace, is gone. ``pass_fds`` are closed here once the child has started.
    """
    started = time.perf_counter()
    sync_read = None
    fds = list(pass_fds)
    if sync:
        sync_read, sync_write = os.pipe()
        fds.append(sync_write)
        argv = [*argv[: argv.index("--")], "--sync-fd", str(sync_write), *argv[argv.index("--") :]]
    try:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=_environment("/tmp" if sync else cwd),
            start_new_session=True,
            pass_fds=fds,
        )
    except BaseException:
        if sync_read is not None:
            os.close(sync_read)
        raise
    finally:
        for fd in fds:
            os.close(fd)
    assert child.stdin is not None
    assert child.stdout is not None
    raw = bytearray()
    reader = threading.Thread(target=_drain, args=(child.stdout, raw), daemon=True)
    reader.start()
    try:
        child.stdin.write(code.encode("utf-8", "surrogatepass"))
        child.stdin.close()
    except OSError:
        pass  # the child died before reading; its exit status says why
    killed = False
    try:
        child.wait(wait_s)
    except subprocess.TimeoutExpired:
        killed = True
        try:
            os.killpg(child.pid, signal.SIGKILL)  # its own session: the group is its own
        except OSError:
            child.kill()
        child.wait()
    if sync_read is not None:
        _wait_for_eof(sync_read, 5.0)
    reader.join(5.0)
    return _Run(bytes(raw), child.returncode, killed, time.perf_counter() - started)


def _wait_for_eof(fd: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    poller = select.poll()  # not select(): the fd may be above FD_SETSIZE in a busy process
    poller.register(fd, select.POLLIN)
    try:
        while (left := deadline - time.monotonic()) > 0:
            if poller.poll(left * 1000) and not os.read(fd, 4096):
                return
    finally:
        os.close(fd)


def run_python(
    code: str,
    *,
    timeout_s: float = 5.0,
    memory_mb: int = 256,
    max_output_chars: int = 4000,
    allow_weak_sandbox: bool | None = None,
) -> SandboxResult:
    """Run ``code`` in an isolated child interpreter and report what it printed.

    ``allow_weak_sandbox``: where no isolation is available, run with the in-process guard
    alone instead of refusing (None: as `WEAK_SANDBOX_ENV` says; default refuse). Raises
    `UserError` only for bad limits (the caller's mistake); everything the code does wrong,
    and a refusal to run, is reported in the result.
    """
    if timeout_s <= 0 or memory_mb < 32 or max_output_chars < 0:
        raise UserError(
            f"run_python needs timeout_s > 0, memory_mb >= 32 and max_output_chars >= 0, "
            f"got {timeout_s}, {memory_mb}, {max_output_chars}"
        )
    started = time.perf_counter()

    def result(
        output: str = "", error: str | None = None, timed_out: bool = False
    ) -> SandboxResult:
        return SandboxResult(
            output=truncate(output, max_output_chars),
            error=error,
            timed_out=timed_out,
            seconds=time.perf_counter() - started,
        )

    if not isinstance(code, str):
        return result(error=f"sandbox: code must be a string, not {type(code).__name__}")
    if len(code) > MAX_CODE_CHARS:
        return result(error=f"sandbox: code is longer than {MAX_CODE_CHARS} characters")
    if sys.platform == "win32":
        return result(error="sandbox: needs a POSIX system (rlimits, signals)")
    weak = allow_weak_sandbox if allow_weak_sandbox is not None else _weak_allowed_by_environment()
    try:
        binary: str | None = bwrap.probe(str(_CHILD), _environment("/tmp"))
    except bwrap.BwrapUnavailable as why:
        if not weak:
            return result(
                error=f"sandbox: refused: no isolation available: {why}; "
                f"set {WEAK_SANDBOX_ENV}=1 to run with the weak in-process guard"
            )
        _warn_weak(str(why))
        binary = None
    config: dict[str, object] = {
        "timeout_s": timeout_s,
        "memory_mb": memory_mb,
        "max_output_chars": max_output_chars,
    }
    wait_s = timeout_s + _GRACE_S
    if binary is not None:
        config["sites"] = bwrap.python_paths()[2]
        seccomp = bwrap.seccomp_pipe()
        argv = bwrap.command(binary, json.dumps(config), str(_CHILD), seccomp_fd=seccomp)
        try:
            fds = [] if seccomp is None else [seccomp]
            run = _spawn(argv, "/", code, wait_s, fds, sync=True)
        except OSError as error:
            return result(error=f"sandbox: could not start bubblewrap ({error})")
    else:
        with tempfile.TemporaryDirectory(prefix="spec-graph-sandbox-") as cwd:
            argv = [sys.executable, "-I", "-B", "-X", "utf8", str(_CHILD), json.dumps(config)]
            try:
                run = _spawn(argv, cwd, code, wait_s, [], sync=False)
            except OSError as error:
                return result(error=f"sandbox: could not start Python ({error})")
    return _report(run, timeout_s, memory_mb, result)


def _warn_weak(reason: str) -> None:
    global _warned_weak
    if not _warned_weak:
        _warned_weak = True
        _log.warning(
            "python_sandbox runs WITHOUT isolation (%s): %s is set; model-written code can "
            "read this process's files, environment and memory",
            reason,
            WEAK_SANDBOX_ENV,
        )


_SIGNAL_EXITS = {signal.SIGXCPU: "cpu", signal.SIGKILL: "kill"}


def _signal_of(returncode: int) -> int | None:
    """The signal that ended the child: negative for a direct child, 128+n through bwrap."""
    if returncode < 0:
        return -returncode
    if 128 < returncode < 128 + 65:
        return returncode - 128
    return None


def _report(
    run: _Run, timeout_s: float, memory_mb: int, result: Callable[..., SandboxResult]
) -> SandboxResult:
    """Turn what the parent saw into a `SandboxResult` (see "The result record" above)."""
    timed_out_message = f"sandbox: timed out after {float(timeout_s)} s"
    memory_message = f"sandbox: memory limit {memory_mb} MB exceeded"
    if run.killed:
        return result(error=timed_out_message, timed_out=True)
    text = run.raw.decode("utf-8", "replace")
    marker = text.rfind(RESULT_MARKER)
    if marker >= 0 and run.returncode == 0:
        record = _parse_record(text[marker + len(RESULT_MARKER) :])
        if record is not None:
            output, error, timed_out, memory = record
            if timed_out:
                if run.seconds >= timeout_s:
                    return result(output, timed_out_message, timed_out=True)
                return result(output, "sandbox: the code reported a timeout that did not happen")
            if memory:
                return result(output, memory_message)
            return result(output, error)
    # No record: the child died (rlimit signal, allocation failure in C, interpreter crash).
    if _signal_of(run.returncode) == signal.SIGXCPU:
        return result(error=timed_out_message, timed_out=True)
    if "MemoryError" in text or "Cannot allocate memory" in text or "bad_alloc" in text:
        return result(error=memory_message)
    last = _one_line(text.strip().splitlines()[-1]) if text.strip() else "no output"
    if last.startswith("bwrap:"):
        return result(error=f"sandbox: bubblewrap failed ({last})")
    return result(error=f"sandbox: Python exited with status {run.returncode} ({last})")


def _parse_record(text: str) -> tuple[str, str | None, bool, bool] | None:
    """The record's fields if it is well-formed (one JSON object, nothing after it)."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    output, error = record.get("output", ""), record.get("error")
    timed_out, memory = record.get("timed_out", False), record.get("memory", False)
    if not isinstance(output, str) or not (error is None or isinstance(error, str)):
        return None
    if not isinstance(timed_out, bool) or not isinstance(memory, bool):
        return None
    return output, None if error is None else _one_line(error), timed_out, memory
