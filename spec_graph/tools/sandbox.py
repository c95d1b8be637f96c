"""Run a short piece of Python for a reasoning step: the `python_sandbox` tool.

The code runs in a fresh ``python -I -B`` child (`sys.executable`, so numpy and sympy are
there when installed) with an empty temporary working directory and a minimal environment.
Before the code is compiled the child (`spec_graph.tools._sandbox_child`) sets rlimits (CPU
seconds, address space, file size 0, no core dumps, no new processes) and installs an audit
hook that refuses network access, starting processes, writing files, changing the
filesystem, ctypes and user imports of a denylist of modules, each with a one-line message
that names what was refused. Like a REPL, the value of a final expression is printed.

What this is: a guard against accidents and small models (a runaway loop, a huge
allocation, a stray ``rm``), not a security boundary. Audit hooks can be sidestepped by
code that tries hard (they run in the same interpreter as the code they watch), and the
child can read any file the parent can. Run code from untrusted people in a container or
VM with no network; see ``docs/tools.md``.

`run_python` never raises for the code's problems: errors, refusals, timeouts and memory
exhaustion all come back in `SandboxResult.error`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, ConfigDict, Field

from spec_graph.errors import UserError
from spec_graph.tools._text import truncate

__all__ = [
    "MAX_CODE_CHARS",
    "RESULT_MARKER",
    "SandboxResult",
    "python_sandbox",
    "run_python",
]

MAX_CODE_CHARS = 100_000
_CHILD = Path(__file__).with_name("_sandbox_child.py")
RESULT_MARKER = "\n\x1esandbox-result\x1e"
"""Precedes the child's result record (the same constant as in `_sandbox_child`, which is
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


def _environment(home: str) -> dict[str, str]:
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


def _drain(stream: IO[bytes], tail: bytearray) -> None:
    """Read ``stream`` to its end, keeping only its last `_RAW_TAIL_BYTES`."""
    while chunk := stream.read(65536):
        tail += chunk
        if len(tail) > 2 * _RAW_TAIL_BYTES:
            del tail[:-_RAW_TAIL_BYTES]


def run_python(
    code: str,
    *,
    timeout_s: float = 5.0,
    memory_mb: int = 256,
    max_output_chars: int = 4000,
) -> SandboxResult:
    """Run ``code`` in a limited child interpreter and report what it printed.

    Raises `UserError` only for bad limits (the caller's mistake); everything the code does
    wrong is reported in the result.
    """
    if timeout_s <= 0 or memory_mb < 32 or max_output_chars < 0:
        raise UserError(
            f"run_python needs timeout_s > 0, memory_mb >= 32 and max_output_chars >= 0, "
            f"got {timeout_s}, {memory_mb}, {max_output_chars}"
        )
    started = time.perf_counter()

    def result(output: str = "", error: str | None = None, timed_out: bool = False):
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
    timed_out_message = f"sandbox: timed out after {float(timeout_s)} s"
    memory_message = f"sandbox: memory limit {memory_mb} MB exceeded"
    config = {"timeout_s": timeout_s, "memory_mb": memory_mb, "max_output_chars": max_output_chars}
    with tempfile.TemporaryDirectory(prefix="spec-graph-sandbox-") as cwd:
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-B", "-X", "utf8", str(_CHILD), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_environment(cwd),
                start_new_session=True,
            )
        except OSError as error:
            return result(error=f"sandbox: could not start Python ({error})")
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
            child.wait(timeout_s + _GRACE_S)
        except subprocess.TimeoutExpired:
            killed = True
            try:
                os.killpg(child.pid, signal.SIGKILL)  # its own session: the group is its own
            except OSError:
                child.kill()
            child.wait()
        reader.join(5.0)
    if killed:
        return result(error=timed_out_message, timed_out=True)
    text = raw.decode("utf-8", "replace")
    marker = text.rfind(RESULT_MARKER)
    if marker >= 0:
        try:
            record = json.loads(text[marker + len(RESULT_MARKER) :])
        except ValueError:
            record = None
        if isinstance(record, dict):
            if record.get("timed_out"):
                return result(record.get("output", ""), timed_out_message, timed_out=True)
            if record.get("memory"):
                return result(record.get("output", ""), memory_message)
            return result(record.get("output", ""), record.get("error"))
    # No record: the child died (rlimit signal, allocation failure in C, interpreter crash).
    if child.returncode == -signal.SIGXCPU:
        return result(error=timed_out_message, timed_out=True)
    if "MemoryError" in text or "Cannot allocate memory" in text or "bad_alloc" in text:
        return result(error=memory_message)
    last = text.strip().splitlines()[-1][:200] if text.strip() else "no output"
    return result(error=f"sandbox: Python exited with status {child.returncode} ({last})")


class PythonSandboxInput(BaseModel):
    """The sandbox's one argument."""

    code: str = Field(
        description="Python code to run; print what you need, or end with an expression."
    )


_DESCRIPTION = (
    "Run a short Python program (math, fractions, itertools; numpy and sympy when installed) "
    "and return what it prints; the value of a final expression is printed as well. "
    "No network, no files, no processes; 5 seconds and 256 MB."
)


@tool("python_sandbox", args_schema=PythonSandboxInput, description=_DESCRIPTION)
def _python_sandbox(code: str) -> str:
    """Run ``code`` with `run_python`'s defaults; the output and any error, as one text."""
    return run_python(code).text


python_sandbox: BaseTool = _python_sandbox
"""`run_python` as a LangChain tool (name ``python_sandbox``, one argument ``code``)."""
