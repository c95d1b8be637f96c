"""One embedded llama.cpp server on loopback, started and stopped for you.

Each model runs in its own child process (`spec_graph.embedded._llama_worker`, built on the
``xllamacpp`` wheel) so that its verbose native log goes to a file, Ctrl-C or a crash of the
parent always releases it (the child exits when its stdin closes), and a crash in llama.cpp
cannot take the caller's process down. Servers bind 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
from pydantic import BaseModel, ConfigDict, Field

from spec_graph.errors import EmbeddedServerError

__all__ = ["DraftSpeculation", "LlamaServer", "LlamaServerConfig"]

logger = logging.getLogger(__name__)


class DraftSpeculation(BaseModel):
    """Token-level speculative decoding inside the target's llama.cpp server.

    A small draft model proposes up to ``n_max`` tokens, the target verifies them in one
    batch; greedy output is identical to plain decoding (only the speed changes). On a
    2-core CPU it measured 0.45-0.58x of plain decoding (docs/bounds.md): it is for machines
    where verifying a batch costs about as much as one token (GPUs), so it is off by default.
    """

    model_config = ConfigDict(frozen=True)

    draft_model_path: Path
    n_max: int = Field(default=8, ge=1, le=64)
    """Most tokens drafted per verification."""
    n_min: int = Field(default=0, ge=0)
    """Fewest tokens worth a verification."""
    p_min: float = Field(default=0.75, ge=0.0, le=1.0)
    """Stop drafting when the draft's own top token is less likely than this."""


class LlamaServerConfig(BaseModel):
    """How to run one embedded llama.cpp server."""

    model_config = ConfigDict(frozen=True)

    model_path: Path
    n_ctx: int = Field(default=16384, ge=256)
    """Context of the server, split evenly among its slots: chain + judge prompt must fit."""
    n_parallel: int = Field(default=2, ge=1)
    """Concurrent requests (slots); the judge and a step can then keep separate caches."""
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    speculative: DraftSpeculation | None = None
    """Token-level speculative decoding with a draft model (off: None)."""
    startup_timeout_s: float = Field(default=180.0, gt=0)
    log_path: Path | None = None
    """Where llama.cpp's log goes; default: a temp file, named in errors."""
    max_restarts: int = Field(default=3, ge=0, le=20)
    """A server that dies is restarted on the same port this many times in all (then it
    stays down and calls fail with a clear error); 0 turns the supervisor off."""


class LlamaServer:
    """One llama.cpp server in a child process. Use as a context manager.

    Example:
        >>> with LlamaServer(LlamaServerConfig(model_path=gguf)) as server:  # doctest: +SKIP
        ...     print(server.base_url)
    """

    def __init__(self, config: LlamaServerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None
        self._own_log = config.log_path is None
        """A temp log of ours is removed on a clean close, kept when an error names it."""
        self._keep_log = False
        self.log_path = config.log_path or Path(
            tempfile.mkstemp(prefix="spec-graph-llama-", suffix=".log")[1]
        )
        self.restarts = 0
        """How many times the supervisor brought a dead server back."""
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` once started."""
        if self._base_url is None:
            raise EmbeddedServerError("the embedded server is not running")
        return self._base_url

    def start(self) -> str:
        """Start the server and wait until it answers ``/health``; returns the base URL.

        A supervisor thread then watches the child: if llama.cpp crashes, it is restarted on
        the same port (so every endpoint handed out stays valid), at most
        ``config.max_restarts`` times.
        """
        if self._process is not None:
            return self.base_url
        if not self.config.model_path.is_file():
            raise EmbeddedServerError(f"model file not found: {self.config.model_path}")
        _require_xllamacpp()
        self._closing.clear()
        self._spawn(port=0)
        logger.info("llama.cpp server for %s at %s", self.config.model_path.name, self._base_url)
        if self.config.max_restarts:
            self._supervisor = threading.Thread(
                target=self._supervise, name=f"llama-supervisor-{self.port}", daemon=True
            )
            self._supervisor.start()
        return self.base_url

    @property
    def port(self) -> int:
        """The loopback port the server listens on (kept across restarts)."""
        return int(self.base_url.rsplit(":", 1)[1].split("/", 1)[0])

    def _supervise(self) -> None:
        while not self._closing.wait(0.5):
            with self._lock:
                process = self._process
                if process is None or process.poll() is None or self._closing.is_set():
                    continue
                self._keep_log = True  # the crash is in the log
                if self.restarts >= self.config.max_restarts:
                    logger.error(
                        "llama.cpp server for %s died (code %s) and was restarted %d times "
                        "already: leaving it down; log: %s",
                        self.config.model_path.name, process.returncode, self.restarts,
                        self.log_path,
                    )  # fmt: skip
                    return
                self.restarts += 1
                logger.warning(
                    "llama.cpp server for %s died (code %s); restarting it on port %d (%d/%d)",
                    self.config.model_path.name, process.returncode, self.port, self.restarts,
                    self.config.max_restarts,
                )  # fmt: skip
                try:
                    self._spawn(port=self.port)
                except EmbeddedServerError as e:
                    logger.error("restart failed: %s", e)  # the next round tries again

    def _spawn(self, *, port: int) -> None:
        """Start the child on ``port`` (0: a free one) and wait until it is healthy."""
        spec = {
            "model_path": str(self.config.model_path),
            "n_ctx": self.config.n_ctx,
            "n_parallel": self.config.n_parallel,
            # One cache per slot, not one shared buffer: in a shared one, attention runs over
            # every slot's cells (masked), and a judge call or another chain in its own slot
            # changes the chain's logits in the last bits, and greedy steps change.
            "kv_unified": False,
            "n_threads": self.config.n_threads,
            "speculative": (
                None
                if self.config.speculative is None
                else self.config.speculative.model_dump(mode="json")
            ),
            "port": port,
        }
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "spec_graph.embedded._llama_worker", json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the child in order
            )
        try:
            self._base_url = self._read_address()
            self._wait_healthy()
        except BaseException as e:
            self._keep_log = isinstance(e, EmbeddedServerError)  # its message names the log
            if port == 0:  # the first start: nothing to keep
                self.close()
            elif self._process is not None and self._process.poll() is None:
                self._process.kill()  # a restart that hangs: the supervisor tries again
            raise

    def close(self) -> None:
        """Stop the server (idempotent): close its stdin, then terminate, then kill."""
        self._closing.set()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join()
        process, self._process, self._base_url = self._process, None, None
        if process is None:
            self._remove_log()
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        if process.returncode not in (0, None):
            self._keep_log = True  # a crash: its log is what explains it
        self._remove_log()

    def _remove_log(self) -> None:
        if self._own_log and not self._keep_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _read_address(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        result: dict[str, str] = {}

        def read() -> None:
            line = (
                self._process.stdout.readline() if self._process and self._process.stdout else b""
            )
            if line:
                result.update(json.loads(line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.config.startup_timeout_s)
        if "base_url" not in result:
            code = self._process.poll()
            what = f"exited with code {code}" if code is not None else "did not start in time"
            msg = (
                f"llama.cpp server for {self.config.model_path.name} {what}; "
                f"log: {self.log_path}: {_tail(self.log_path)}"
            )
            raise EmbeddedServerError(msg)
        return result["base_url"]

    def _wait_healthy(self) -> None:
        root = self.base_url.removesuffix("/v1")
        deadline = time.monotonic() + self.config.startup_timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{root}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise EmbeddedServerError(
            f"llama.cpp server at {root} never became healthy; log: {self.log_path}"
        )


def _require_xllamacpp() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        msg = "the embedded backend needs xllamacpp: pip install 'spec-graph[local]'"
        raise EmbeddedServerError(msg)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])
