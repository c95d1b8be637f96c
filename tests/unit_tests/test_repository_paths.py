"""Every tracked file stands on its own: none names the folder beside the repository.

The README's commands must run from a fresh clone, so no file may point at a sibling folder of
the checkout (the benchmark questions are bundled: ``spec_graph.bench.datasets``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in parts so this file does not name them: the folder beside the repository, by
# its relative and its absolute path on the development machine.
OUTSIDE = ("/".join(["..", "shared"]), "/".join(["", "work", "shared"]))


def _tracked() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_names_the_folder_beside_the_repository():
    files = _tracked()
    assert files
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if path.is_file() and any(name.encode() in path.read_bytes() for name in OUTSIDE)
    ]
    assert offenders == []
