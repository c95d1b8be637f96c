"""Escapes from the Python sandbox, played as an attacker who writes the code.

Most attempts first switch off the in-process guard (the audit hook and the import finder
are plain Python, so the code can), to show that what holds is the kernel-enforced layer:
bubblewrap's namespaces and read-only binds, the clean environment and the seccomp filter.
Each such test also proves the guard really was off (e.g. ``os.mkdir`` in ``/tmp`` works),
so a pass cannot come from the guard alone.

Needs a working bubblewrap (Linux, user namespaces); skipped elsewhere, with the reason.

Never run this code outside the sandbox: with the guard off it forks without bound and
touches host paths. `run` therefore forbids the weak fallback (``allow_weak_sandbox=False``,
and the opt-in variable is removed), so a broken isolation gives a refusal, not an escape;
the attempts also aim at harmless targets where they can.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from spec_graph.tools import bwrap, run_python, sandbox

try:
    bwrap.probe(str(bwrap.child_script_path()), sandbox._environment("/tmp"))
    _UNAVAILABLE = ""
except bwrap.BwrapUnavailable as why:
    _UNAVAILABLE = str(why)

pytestmark = pytest.mark.skipif(bool(_UNAVAILABLE), reason=f"no isolation: {_UNAVAILABLE}")

# Switch off the in-process guard: both ways the review found.
BYPASS_GLOBALS = (
    "import sys\n"
    "m = sys.modules['__main__']\n"
    "m._audit.__code__ = (lambda e, a: None).__code__\n"
    "m._refuse_import = lambda n: None\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if f is not m._DenyFinder]\n"
)
BYPASS_GC = (
    "import gc, sys\n"
    "[hook] = [f for f in gc.get_objects() if getattr(f, '__name__', '') == '_audit']\n"
    "hook.__code__ = (lambda e, a: None).__code__\n"
    "[refuse] = [f for f in gc.get_objects() if getattr(f, '__name__', '') == '_refuse_import']\n"
    "refuse.__code__ = (lambda n: None).__code__\n"
)
GUARD_IS_OFF = "import os\nos.mkdir('/tmp/guard-off')\nprint('guard off')\n"
"""The audit hook refuses os.mkdir; on the sandbox's tmpfs it works once the hook is off."""


@pytest.fixture(autouse=True)
def _never_weak(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(sandbox.WEAK_SANDBOX_ENV, raising=False)


def run(code: str, **limits) -> sandbox.SandboxResult:
    result = run_python(code, allow_weak_sandbox=False, **limits)
    assert not (result.error or "").startswith("sandbox: refused"), result.error
    return result


def values(result: sandbox.SandboxResult):
    """The repr printed last by the code (REPL-style), parsed."""
    return ast.literal_eval(result.output.strip().splitlines()[-1])


@pytest.mark.parametrize("bypass", [BYPASS_GLOBALS, BYPASS_GC], ids=["globals", "gc-code"])
def test_the_guard_can_be_switched_off_which_is_why_it_is_not_the_boundary(bypass: str):
    result = run(bypass + GUARD_IS_OFF + "import subprocess, socket\n'imported'")
    assert (result.output, result.error) == ("guard off\n'imported'\n", None)


# --- secrets of the parent ---------------------------------------------------------------


def test_parent_environment_is_not_readable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-OPENAI-0123456789")
    monkeypatch.setenv("SPEC_GRAPH_TARGET_API_KEY", "sk-test-TARGET-0123456789")
    code = BYPASS_GLOBALS + (
        "import os\n"
        "seen = [os.getppid(), dict(os.environ)]\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        seen.append(open(f'/proc/{pid}/environ', 'rb').read().decode())\n"
        "    except OSError as e:\n"
        "        seen.append(type(e).__name__)\n"
        "print(seen)\n"
    )
    result = run(code)
    assert result.error is None
    assert "PATH=/usr/bin:/bin" in result.output  # it did read an environ
    assert "sk-test" not in result.output
    assert "OPENAI_API_KEY" not in result.output
    assert "SPEC_GRAPH" not in result.output
    ppid, environment = values(result)[:2]
    assert ppid == 1  # bwrap's init in the new PID namespace, not the caller
    assert set(environment) - {"PWD"} == set(sandbox._environment("/tmp"))  # bwrap sets PWD


def test_parent_memory_is_not_readable():
    secret = "sk-IN-MEMORY-" + uuid.uuid4().hex  # built at run time, only in this process
    assert secret  # keep it alive
    code = BYPASS_GLOBALS + (
        "import os, re\n"
        "needle = re.compile(rb'sk-IN-MEMORY-[0-9a-f]{32}')  # matches no text of its own\n"
        "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "read, hits = 0, []\n"
        "for pid in pids:\n"
        "    try:\n"
        "        maps = open(f'/proc/{pid}/maps').read().splitlines()\n"
        "        mem = open(f'/proc/{pid}/mem', 'rb')\n"
        "    except OSError:\n"
        "        continue\n"
        "    for line in maps:\n"
        "        start, end = (int(x, 16) for x in line.split()[0].split('-'))\n"
        "        try:\n"
        "            mem.seek(start)\n"
        "            chunk = mem.read(min(end - start, 1 << 24))\n"
        "        except (OSError, ValueError, OverflowError):\n"
        "            continue\n"
        "        read += len(chunk)\n"
        "        hits += needle.findall(chunk)\n"
        "(pids, read > 0, hits)\n"
    )
    result = run(code)
    assert result.error is None, result.error
    pids, read_something, hits = values(result)
    assert read_something  # its own memory at least: the scan did run
    assert hits == []
    assert secret not in result.output
    assert os.getpid() not in pids  # the caller is not in the namespace at all
    assert set(pids) <= {1, 2}  # bwrap's init and the child


def test_parent_pid_is_not_visible_and_cannot_be_signalled():
    me = os.getpid()
    code = BYPASS_GLOBALS + (
        f"import os, signal\n"
        f"try:\n"
        f"    os.kill({me}, 0)\n"
        f"    outcome = 'sent'\n"
        f"except OSError as e:\n"
        f"    outcome = type(e).__name__\n"
        f"(os.path.exists('/proc/{me}'), outcome)\n"
    )
    result = run(code)
    assert values(result) == (False, "ProcessLookupError")
    assert psutil.pid_exists(me)


# --- import denylist bypass, processes --------------------------------------------------


def test_exec_compile_import_bypass_still_cannot_start_processes():
    code = (
        "exec(compile('import subprocess, _posixsubprocess', '/x.py', 'exec'))\n"
        "print('imported')\n" + BYPASS_GLOBALS + GUARD_IS_OFF + "import subprocess\n"
        "subprocess.run(['/usr/bin/id'], capture_output=True)\n"
    )
    result = run(code)
    assert result.output == "imported\nguard off\n"  # the denylist was bypassed, the hook off
    assert result.error is not None
    assert result.error.startswith("PermissionError: [Errno 1] Operation not permitted")
    assert "uid=" not in result.output


@pytest.mark.parametrize("bypass", [BYPASS_GLOBALS, BYPASS_GC], ids=["globals", "gc-code"])
def test_os_system_fork_and_exec_are_contained(bypass: str):
    code = (
        bypass + GUARD_IS_OFF + "import os\n"
        "outcomes = [os.system('/usr/bin/id > /tmp/id.txt')]\n"
        "try:\n"
        "    os.fork()\n"
        "    outcomes.append('forked')\n"
        "except OSError as e:\n"
        "    outcomes.append(e.errno)\n"
        "outcomes.append(os.path.exists('/tmp/id.txt') and os.path.getsize('/tmp/id.txt'))\n"
        "outcomes\n"
    )
    result = run(code)
    assert result.output.startswith("guard off\n")
    status, fork_errno, ran = values(result)
    assert status != 0  # system() could not start a shell
    assert fork_errno == 1  # EPERM from the seccomp filter
    assert not ran


def test_fork_bomb_is_bounded():
    before = len(psutil.pids())
    started = time.perf_counter()
    code = BYPASS_GLOBALS + "import os\nwhile True:\n    os.fork()\n"
    result = run(code, timeout_s=3)
    assert time.perf_counter() - started < 5  # refused at once, not killed at the timeout
    assert result.error is not None
    assert result.error.startswith("PermissionError: [Errno 1] Operation not permitted")
    assert len(psutil.pids()) < before + 20


def test_thread_bomb_is_bounded():
    code = (
        BYPASS_GLOBALS + "import threading, time\n"
        "n = 0\n"
        "try:\n"
        "    while n < 100_000:\n"
        "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "        n += 1\n"
        "except BaseException as e:\n"
        "    print('stopped', type(e).__name__)\n"
        "n\n"
    )
    started = time.perf_counter()
    result = run(code, timeout_s=3, memory_mb=128)
    assert time.perf_counter() - started < 8
    # Stopped by a limit (RLIMIT_NPROC for a non-root caller, the address space for root)
    # or by the timeout; either way it ends, and the namespace goes with it.
    assert result.timed_out or "stopped" in result.output


def _marker_processes(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


GRANDCHILD = (
    "import os, sys, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', "
    "{marker!r}])\n"
    "    os._exit(0)\n"
    "print('parent', pid, flush=True)\n"
)


def test_setsid_grandchild_is_refused_by_default():
    marker = f"grandchild-{uuid.uuid4().hex}"
    result = run(BYPASS_GLOBALS + GRANDCHILD.format(marker=marker) + "time.sleep(30)\n")
    assert result.error is not None
    assert result.error.startswith("PermissionError")
    assert _marker_processes(marker) == []


@pytest.mark.parametrize("ending", ["time.sleep(30)\n", "os._exit(0)\n"], ids=["timeout", "exit"])
def test_setsid_grandchild_dies_with_the_namespace_even_without_seccomp(
    monkeypatch: pytest.MonkeyPatch, ending: str
):
    """The second layer: with fork allowed, a grandchild in its own session still dies,
    because killing bwrap kills the PID namespace's init and so the whole namespace."""
    monkeypatch.setattr(bwrap, "seccomp_pipe", lambda: None)
    marker = f"grandchild-{uuid.uuid4().hex}"
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(p.pid for p in _marker_processes(marker))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code = BYPASS_GLOBALS + GRANDCHILD.format(marker=marker) + "time.sleep(1.5)\n" + ending
        result = run(code, timeout_s=3)
    finally:
        done.set()
        watcher.join()
    assert seen, "the grandchild never ran: the test would prove nothing"
    assert result.timed_out == (ending.startswith("time"))
    assert _marker_processes(marker) == []  # gone when run_python returns, no waiting
    for pid in set(seen):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


# --- files --------------------------------------------------------------------------------


def test_host_files_are_not_there(tmp_path: Path):
    canary = tmp_path / "canary.txt"
    canary.write_text("host secret")
    project = Path(__file__).resolve().parents[3]
    code = BYPASS_GLOBALS + (
        "import os\n"
        "def probe(path):\n"
        "    try:\n"
        "        return sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()\n"
        "    except OSError as e:\n"
        "        return type(e).__name__\n"
        f"paths = ['/etc/passwd', '/etc/shadow', '/etc', {str(canary)!r}, {str(tmp_path)!r},\n"
        f"         {str(project / 'pyproject.toml')!r}, {str(project)!r},\n"
        f"         {str(Path.home())!r}, {str(Path.home() / '.ssh')!r}, '/run', '/var', '/home']\n"
        "{p: probe(p) for p in paths}\n"
    )
    result = run(code)
    seen = values(result)
    assert seen["/etc/passwd"] == "FileNotFoundError"
    assert seen["/etc/shadow"] == "FileNotFoundError"
    assert set(seen["/etc"]) <= {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"}
    assert seen[str(canary)] == "FileNotFoundError"
    assert seen[str(tmp_path)] == "FileNotFoundError"
    assert seen[str(project / "pyproject.toml")] == "FileNotFoundError"
    # the project directory exists only where a bound site-packages lies below it
    assert seen[str(project)] in ("FileNotFoundError", [".venv"])
    assert "host secret" not in result.output
    home = seen[str(Path.home())]
    assert home == "FileNotFoundError" or not set(home) & {".ssh", ".bashrc", ".config"}
    assert seen[str(Path.home() / ".ssh")] == "FileNotFoundError"
    assert seen["/run"] == seen["/var"] == seen["/home"] == "FileNotFoundError"


def test_unlink_of_a_host_file_fails_and_it_survives(tmp_path: Path):
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    code = (
        BYPASS_GC
        + GUARD_IS_OFF
        + (
            "import os, shutil\n"
            "outcomes = []\n"
            f"for act in (lambda: os.unlink({str(canary)!r}),\n"
            f"            lambda: shutil.rmtree({str(tmp_path)!r})):\n"
            "    try:\n"
            "        act()\n"
            "        outcomes.append('done')\n"
            "    except OSError as e:\n"
            "        outcomes.append(type(e).__name__)\n"
            "outcomes\n"
        )
    )
    result = run(code)
    assert values(result) == ["FileNotFoundError", "FileNotFoundError"]
    assert canary.read_text() == "keep me"


def test_bound_directories_are_read_only():
    code = BYPASS_GLOBALS + (
        "import os, sys, errno\n"
        "stdlib = os.path.dirname(os.__file__)\n"
        f"name = {'sg-probe-' + uuid.uuid4().hex!r}\n"
        # existing files: only the child script, which exists in the sandbox only
        f"child = {bwrap.CHILD_PATH!r}\n"
        "attempts = [\n"
        "    lambda: open(os.path.join(stdlib, name), 'w'),\n"
        "    lambda: os.mkdir(os.path.join(stdlib, name)),\n"
        "    lambda: os.symlink('/tmp', os.path.join(stdlib, name)),\n"
        "    lambda: open(os.path.join('/usr', name), 'w'),\n"
        "    lambda: open(os.path.join('/', name), 'w'),\n"
        "    lambda: open(child, 'a'),\n"
        "    lambda: os.remove(child),\n"
        "    lambda: os.rename(child, child + '.x'),\n"
        "    lambda: os.chmod(child, 0o777),\n"
        "]\n"
        "codes = []\n"
        "for attempt in attempts:\n"
        "    try:\n"
        "        attempt()\n"
        "        codes.append('allowed')\n"
        "    except OSError as e:\n"
        "        codes.append(errno.errorcode.get(e.errno))\n"
        "codes\n"
    )
    result = run(code)
    codes = values(result)
    assert "allowed" not in codes
    assert set(codes) <= {"EROFS", "EPERM", "EACCES", "EBUSY"}
    assert codes[0] == "EROFS"


def test_scratch_tmp_takes_no_data():
    """/tmp is a size-capped tmpfs and the file size limit is 0: names, but no bytes."""
    code = (
        BYPASS_GLOBALS
        + GUARD_IS_OFF
        + (
            "import os\n"
            "fd = os.open('/tmp/big', os.O_CREAT | os.O_WRONLY)\n"
            "try:\n"
            "    os.write(fd, b'x' * 4096)\n"
            "    outcome = 'wrote'\n"
            "except OSError as e:\n"
            "    outcome = e.strerror\n"
            "(outcome, os.path.getsize('/tmp/big'))\n"
        )
    )
    result = run(code)
    assert values(result) == ("File too large", 0)


def test_proc_self_and_symlinks_lead_nowhere():
    code = BYPASS_GLOBALS + (
        "import os\n"
        "os.symlink('/', '/tmp/root')\n"
        "os.symlink('/proc/1/root/../../../etc/passwd', '/tmp/passwd')\n"
        "def probe(path):\n"
        "    try:\n"
        "        return open(path).read()[:40]\n"
        "    except OSError as e:\n"
        "        return type(e).__name__\n"
        "out = {p: probe(p) for p in ['/tmp/root/etc/passwd', '/tmp/passwd',\n"
        "        '/proc/self/root/etc/passwd', '/proc/1/root/etc/passwd',\n"
        "        '/proc/1/cwd/etc/passwd', '/proc/self/cwd/../etc/passwd']}\n"
        "out['fds'] = sorted(os.listdir('/proc/self/fd'))\n"
        "out['cmdline1'] = open('/proc/1/cmdline', 'rb').read().split(b'\\0')[0].decode()\n"
        "out\n"
    )
    result = run(code)
    seen = values(result)
    for path in (
        "/tmp/root/etc/passwd",
        "/tmp/passwd",
        "/proc/self/root/etc/passwd",
        "/proc/1/root/etc/passwd",
        "/proc/1/cwd/etc/passwd",
        "/proc/self/cwd/../etc/passwd",
    ):
        assert seen[path] in ("FileNotFoundError", "PermissionError"), path
    assert len(seen["fds"]) <= 4  # stdin, stdout, stderr, the listing itself: no host fds
    assert seen["cmdline1"].endswith("bwrap")  # PID 1 is bwrap, not the caller


def test_no_privileges_inside():
    code = BYPASS_GLOBALS + (
        "import os, resource\n"
        "status = dict(line.split(':\\t', 1) for line in open('/proc/self/status')\n"
        "              if ':\\t' in line)\n"
        "try:\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)\n"
        "    raised = 'raised'\n"
        "except (ValueError, OSError) as e:\n"
        "    raised = type(e).__name__\n"
        "(os.getuid(), os.getgid(), status['CapEff'].strip(), status['Seccomp'].strip(),\n"
        " status['NoNewPrivs'].strip(), raised, os.uname().nodename)\n"
    )
    result = run(code)
    uid, gid, caps, seccomp, no_new_privs, raised, hostname = values(result)
    assert (uid, gid) == (65534, 65534)
    assert int(caps, 16) == 0
    assert seccomp == "2"  # a filter is loaded
    assert no_new_privs == "1"
    assert raised == "ValueError"  # the rlimits cannot be raised again
    assert hostname == "sandbox"


def test_no_nested_namespaces_or_ptrace():
    code = BYPASS_GLOBALS + (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "out = []\n"
        "for call in (lambda: libc.unshare(0x10000000), lambda: libc.ptrace(0, 0, 0, 0)):\n"
        "    out.append((call(), ctypes.get_errno()))\n"
        "out\n"
    )
    result = run(code)
    # unshare(CLONE_NEWUSER) and ptrace(PTRACE_TRACEME): EPERM from the filter
    assert values(result) == [(-1, 1), (-1, 1)]


# --- network ------------------------------------------------------------------------------

_LISTENER = """
import socket, sys, time
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(8)
server.settimeout(0.2)
print(server.getsockname()[1], flush=True)
accepted = 0
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    if sys.stdin.readable() and False:
        break
    try:
        connection, _ = server.accept()
    except TimeoutError:
        continue
    accepted += 1
    data = connection.recv(100)
    connection.close()
    print('accepted', data.decode(), flush=True)
    if data == b'stop':
        break
"""


def test_network_to_the_host_loopback_is_unreachable():
    """A listener on the host's 127.0.0.1 (in a helper process: sockets are off in the unit
    tests' own process) is reached by a plain process but not from the sandbox."""
    listener = subprocess.Popen(
        [sys.executable, "-c", _LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout is not None
        port = int(listener.stdout.readline())
        code = (
            BYPASS_GLOBALS
            + GUARD_IS_OFF
            + (
                "import socket\n"
                "outcomes = []\n"
                f"for host in ('127.0.0.1', 'localhost', '::1'):\n"
                "    try:\n"
                f"        s = socket.create_connection((host, {port}), timeout=1)\n"
                "        s.sendall(b'sandbox')\n"
                "        outcomes.append('connected')\n"
                "    except OSError as e:\n"
                "        outcomes.append(type(e).__name__)\n"
                "outcomes\n"
            )
        )
        result = run(code)
        assert result.output.startswith("guard off\n")
        assert "connected" not in values(result)
        # control: the listener works for a process outside the sandbox
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import socket; socket.create_connection(('127.0.0.1', {port})).sendall(b'stop')",
            ],
            check=True,
            timeout=10,
        )
        lines = listener.stdout.read().splitlines()
    finally:
        listener.kill()
        listener.wait()
    assert lines == ["accepted stop"]  # the control only: nothing came from the sandbox


def test_abstract_unix_sockets_of_the_host_are_unreachable():
    name = f"spec-graph-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # allowed in unit tests
    try:
        server.bind("\0" + name)
        server.listen(1)
        code = (
            BYPASS_GLOBALS
            + GUARD_IS_OFF
            + (
                "import socket\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "try:\n"
                f"    s.connect('\\0' + {name!r})\n"
                "    outcome = 'connected'\n"
                "except OSError as e:\n"
                "    outcome = type(e).__name__\n"
                "outcome\n"
            )
        )
        result = run(code)
        assert values(result) == "ConnectionRefusedError"
    finally:
        server.close()


# --- the result record --------------------------------------------------------------------

_MARKER = sandbox.RESULT_MARKER


def _forge(record: str, exit_status: int = 0) -> str:
    return (
        BYPASS_GLOBALS
        + f"import os\nos.write(1, ({_MARKER!r} + {record!r}).encode())\nos._exit({exit_status})\n"
    )


def test_a_forged_timeout_is_not_believed():
    record = json.dumps({"output": "FORGED 42", "error": None, "timed_out": True})
    result = run(_forge(record), timeout_s=5)
    assert not result.timed_out
    assert result.error == "sandbox: the code reported a timeout that did not happen"


def test_a_forged_record_cannot_exceed_the_caps():
    code = BYPASS_GLOBALS + (
        "import json, os\n"
        "record = {'output': 'A' * 1_000_000, 'error': 'line one\\nline two ' + 'B' * 50_000}\n"
        f"os.write(1, ({_MARKER!r} + json.dumps(record)).encode())\n"
        "os._exit(0)\n"
    )
    result = run(code, max_output_chars=200)
    assert len(result.output) <= 200
    assert "characters truncated" in result.output
    assert result.error is not None
    assert "\n" not in result.error
    assert len(result.error) <= 300


@pytest.mark.parametrize(
    ("record", "status"),
    [
        (json.dumps({"output": "FORGED", "error": None}), 3),  # not a clean exit
        (json.dumps({"output": ["not", "text"], "error": None}), 0),  # wrong types
        (json.dumps({"output": "FORGED", "timed_out": "yes"}), 0),
        (json.dumps({"output": "FORGED"}) + "trailing", 0),  # not the last thing written
        ("[1, 2]", 0),
    ],
    ids=["exit-status", "types", "flag-type", "trailing", "not-an-object"],
)
def test_malformed_or_unclean_records_are_ignored(record: str, status: int):
    result = run(_forge(record, status))
    assert result.output == ""
    assert result.error is not None
    assert result.error.startswith("sandbox: Python exited with status")


def test_the_record_is_the_code_s_own_account_only():
    """A well-formed forged record is what the code could have printed anyway: it is
    reported as the code's output, nothing more."""
    record = json.dumps({"output": "FORGED 42\n", "error": None})
    forged = run(_forge(record))
    honest = run("print('FORGED 42')")
    assert (forged.output, forged.error, forged.timed_out) == (
        honest.output,
        honest.error,
        honest.timed_out,
    )
