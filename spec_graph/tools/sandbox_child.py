"""The child side of `spec_graph.tools.sandbox`: limits, an audit hook, then the user's code.

Run as ``python -I [-S] -B -X utf8 sandbox_child.py CONFIG_JSON`` with the code on stdin,
normally inside the bubblewrap sandbox built by `spec_graph.tools.bwrap` (then with ``-S``,
and the config names the site-packages directories to add). It imports only the standard
library (it runs outside the package, ``-I`` keeps the package off ``sys.path``) and writes
one result record, after `RESULT_MARKER`, as the last thing on stdout:
``{"output", "error", "timed_out", "memory"}``. The parent treats that record as the code's
own account, not as a trusted fact (see `spec_graph.tools.sandbox`).

Order matters: the code is read, the rlimits are set and the audit hook is installed
*before* the code is compiled, and everything the bootstrap itself needs afterwards is
imported before the hook, so the hook never has to tell the bootstrap from the user.

Two kinds of guard, on purpose:

* capabilities (network, processes, file writes and filesystem changes, ctypes, rlimit
  changes) are refused by the audit hook whoever asks, user code or a library it calls;
* the import denylist only refuses imports *written by the user* (the importing frame is
  ``<sandbox>``, ``<string>`` ...), because numpy imports ctypes and sympy imports
  subprocess and tempfile at import time; what those modules could do is refused by the
  capability guard anyway. ctypes itself is allowed only while a module is being imported
  (numpy's ``ctypes.CDLL(None)``), never from code run afterwards.

Everything in this file is a courtesy layer: it turns accidents into clear one-line
messages. It runs in the same interpreter as the code it watches, so code that tries can
switch it off; the boundary is the bubblewrap sandbox around this process (namespaces, a
read-only bind of the interpreter only, seccomp), which the kernel enforces.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import math
import os
import resource
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import FrameType

RESULT_MARKER = "\n\x1esandbox-result\x1e"
USER_FILENAME = "<sandbox>"

DENIED_IMPORTS = frozenset(
    {
        "_ctypes",
        "_multiprocessing",
        "_posixsubprocess",
        "_signal",
        "_socket",
        "_ssl",
        "aiohttp",
        "asyncio",
        "cffi",
        "concurrent",
        "ctypes",
        "ftplib",
        "http",
        "httpx",
        "imaplib",
        "multiprocessing",
        "nntplib",
        "poplib",
        "pty",
        "requests",
        "resource",
        "select",
        "selectors",
        "shutil",
        "signal",
        "smtplib",
        "socket",
        "socketserver",
        "ssl",
        "subprocess",
        "telnetlib",
        "tempfile",
        "urllib",
        "urllib3",
        "webbrowser",
        "xmlrpc",
    }
)

_NETWORK_PREFIXES = (
    "socket.",
    "http.client.",
    "urllib.",
    "ftplib.",
    "smtplib.",
    "poplib.",
    "imaplib.",
    "nntplib.",
    "telnetlib.",
)
_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
        "os.startfile",
        "webbrowser.open",
    }
)
_SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
_FILESYSTEM_EVENTS = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.chflags",
        "os.lchflags",
        "os.link",
        "os.symlink",
        "os.truncate",
        "os.utime",
        "os.setxattr",
        "os.removexattr",
        "shutil.copyfile",
        "shutil.copymode",
        "shutil.copystat",
        "shutil.copytree",
        "shutil.chown",
        "shutil.make_archive",
        "shutil.move",
        "shutil.rmtree",
        "shutil.unpack_archive",
        "tempfile.mkdtemp",
        "tempfile.mkstemp",
    }
)
_LIMIT_EVENTS = frozenset({"resource.setrlimit", "resource.prlimit"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_IMPORTLIB_DIR = os.path.dirname(str(__import__("importlib").__file__)) + os.sep


class SandboxRefusal(PermissionError):
    """The sandbox refused an operation (the message names it)."""


class SandboxImportRefusal(ImportError):
    """The sandbox refused an import (an ImportError, so optional imports fall back)."""


class SandboxTimeout(BaseException):
    """The wall-clock timer fired (a BaseException: ``except Exception`` cannot swallow it)."""


def _is_user(filename: str) -> bool:
    return filename.startswith("<") and not filename.startswith("<frozen")


def _importer_is_user(frame: FrameType | None) -> bool:
    """Whether the code that asked for an import is the user's (not a library's)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith("<frozen importlib") or filename.startswith(_IMPORTLIB_DIR)):
            return _is_user(filename)
        frame = frame.f_back
    return False


def _importing(frame: FrameType | None) -> bool:
    """Whether a module is being imported somewhere up the stack."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib._bootstrap"):
            return True
        frame = frame.f_back
    return False


def _refuse_import(name: str) -> None:
    if name.partition(".")[0] in DENIED_IMPORTS and _importer_is_user(sys._getframe(2)):
        raise SandboxImportRefusal(f"sandbox: import of {name!r} is not allowed", name=name)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Refuse the operations the sandbox does not allow (see the module docstring)."""
    if event == "import":
        _refuse_import(args[0])
    elif event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else False
        if writing or (isinstance(flags, int) and flags & _WRITE_FLAGS):
            raise SandboxRefusal(f"sandbox: writing files is not allowed (open {path!r})")
    elif event.startswith(_NETWORK_PREFIXES):
        raise SandboxRefusal(f"sandbox: network access is not allowed ({event})")
    elif event in _PROCESS_EVENTS:
        raise SandboxRefusal(f"sandbox: starting processes is not allowed ({event})")
    elif event in _SIGNAL_EVENTS:
        raise SandboxRefusal(f"sandbox: signalling processes is not allowed ({event})")
    elif event in _FILESYSTEM_EVENTS:
        raise SandboxRefusal(f"sandbox: changing the filesystem is not allowed ({event})")
    elif event in _LIMIT_EVENTS:
        raise SandboxRefusal(f"sandbox: changing resource limits is not allowed ({event})")
    elif event.startswith("ctypes.") and not _importing(sys._getframe(1)):
        raise SandboxRefusal(f"sandbox: ctypes is not allowed ({event})")


class _DenyFinder:
    """Refuses denied imports that bypass the ``import`` audit event (`importlib.import_module`)."""

    @staticmethod
    def find_spec(name: str, path: Sequence[str] | None = None, target: object = None) -> None:
        _refuse_import(name)
        return None


class _Capture(io.TextIOBase):
    """stdout and stderr of the user's code: the first and last ``limit`` characters kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head: list[str] = []
        self.head_size = 0
        self.tail = ""
        self.total = 0

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.total += len(text)
        room = self.limit - self.head_size
        if room > 0:
            self.head.append(text[:room])
            self.head_size += min(room, len(text))
        if len(text) > room:
            self.tail = (self.tail + text[max(room, 0) :])[-self.limit :]
        return len(text)

    def text(self) -> str:
        """The output, cut like `spec_graph.tools._text.truncate` (head, marker, tail)."""
        head = "".join(self.head)
        if self.total <= self.limit:
            return head
        width = len(_marker(self.total))
        keep = max(self.limit - width, 0)
        tail = keep // 3
        cut_tail = self.tail[len(self.tail) - tail :] if tail else ""
        return head[: keep - tail] + _marker(self.total - keep) + cut_tail


def _marker(dropped: int) -> str:
    return f"\n[... {dropped} characters truncated ...]\n"


def _refusal(error: BaseException) -> BaseException | None:
    """The sandbox refusal that caused ``error``, if any (a library may have wrapped it)."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (SandboxRefusal, SandboxImportRefusal)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(error: BaseException) -> str:
    """One line for an exception out of the user's code: type, message, user line."""
    refusal = _refusal(error)
    if refusal is not None:
        return str(refusal)
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == USER_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, SyntaxError):
        message = f"SyntaxError: {error.msg}"
    return f"{message} (line {line})" if line else message


def _set_limits(timeout_s: float, memory_mb: int) -> None:
    cpu = math.ceil(timeout_s) + 1
    limits = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024, memory_mb * 1024 * 1024),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if hasattr(resource, "RLIMIT_NPROC"):
        limits.append((resource.RLIMIT_NPROC, 0, 0))  # no fork, no threads
    for kind, soft, hard in limits:
        # e.g. RLIMIT_AS on macOS fails; the others still hold
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (soft, hard))


def _run(code: str, capture: _Capture) -> None:
    tree = ast.parse(code, USER_FILENAME, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop()
        assert isinstance(final, ast.Expr)
        last = ast.Expression(final.value)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(tree, USER_FILENAME, "exec"), namespace)
    if last is not None:
        value = eval(compile(last, USER_FILENAME, "eval"), namespace)
        if value is not None:
            capture.write(repr(value) + "\n")


def _add_sites(directories: Iterable[str] | None) -> None:
    """Put the parent's site-packages on ``sys.path`` (the sandbox starts with ``-S``)."""
    if not directories:
        return
    import site

    for directory in directories:
        site.addsitedir(directory)
    for setup in ("setquit", "setcopyright", "sethelper"):
        with contextlib.suppress(Exception):
            getattr(site, setup)()


def main() -> None:
    """Run the code on stdin under the limits in ``sys.argv[1]`` and report on stdout."""
    config = json.loads(sys.argv[1])
    if config.get("probe"):
        sys.stdout.write("probe ok\n")
        return
    _add_sites(config.get("sites"))
    timeout_s, memory_mb = float(config["timeout_s"]), int(config["memory_mb"])
    code = sys.stdin.read()
    out = sys.stdout
    capture = _Capture(int(config["max_output_chars"]))
    result: dict[str, str | bool | None] = {"error": None, "timed_out": False, "memory": False}

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise SandboxTimeout

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file write fails, not kills
    _set_limits(timeout_s, memory_mb)
    for name in list(sys.modules):
        if name.partition(".")[0] in DENIED_IMPORTS:
            del sys.modules[name]  # so a user import is seen (the bootstrap keeps its refs)
    sys.meta_path.insert(0, _DenyFinder)
    sys.addaudithook(_audit)
    sys.stdin = io.StringIO("")
    sys.stdout = sys.stderr = capture
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        try:
            _run(code, capture)
        finally:
            # Off before anything else: describing a deep traceback must not be interrupted.
            signal.setitimer(signal.ITIMER_REAL, 0)
    except SandboxTimeout:
        result["timed_out"] = True
    except MemoryError:
        result["memory"] = True
    except SystemExit as error:
        if error.code not in (None, 0):
            result["error"] = f"SystemExit: {error.code}"
    except BaseException as error:
        result["error"] = _describe(error)
    sys.stdout, sys.stderr = out, sys.__stderr__
    result["output"] = capture.text()
    out.write(RESULT_MARKER + json.dumps(result) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
