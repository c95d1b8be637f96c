"""Question sets shipped inside the package, found by name: ``spec-graph bench --data gsm8k-dev``.

The files live in ``spec_graph/data/`` (package data: in a clone and in an installed wheel
alike), with the GSM8K license beside them (``GSM8K_LICENSE.txt``, MIT, OpenAI 2021). Each line
is a JSON object with ``id``, ``question`` and ``answer`` (the number), plus GSM8K's worked
``solution``.

- ``gsm8k-dev``: GSM8K test items 0-399 (ids ``gsm8k-test-0`` .. ``gsm8k-test-399``), every
  benchmark of the README and ``benchmarks/`` reads slices of it (``--offset/--limit``).
- ``gsm8k-tune``: items 300-319 of the same set, the default questions of ``spec-graph tune``.

`resolve_dataset` turns a ``--data`` value into a file: an existing path wins, then a bundled
name; anything else is one `UserError` that lists the bundled names.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from spec_graph.errors import UserError
from spec_graph.registry import Registry

__all__ = [
    "BUNDLED_DATASETS",
    "LICENSE_FILE",
    "BundledDataset",
    "bundled_dataset",
    "dataset_names",
    "resolve_dataset",
]

LICENSE_FILE = "GSM8K_LICENSE.txt"
"""The license of the bundled GSM8K problems, beside them in ``spec_graph/data/``."""


@dataclass(frozen=True)
class BundledDataset:
    """One question set in ``spec_graph/data/``: its file name, size and what it is."""

    filename: str
    rows: int
    description: str

    @property
    def path(self) -> Path:
        """The file on disk (package data: works from a clone and from an installed wheel)."""
        return data_dir() / self.filename


BUNDLED_DATASETS: Registry[BundledDataset] = Registry(
    "bundled dataset",
    {
        "gsm8k-dev": BundledDataset(
            "gsm8k_dev.jsonl", 400, "GSM8K test items 0-399 (every benchmark in the README)"
        ),
        "gsm8k-tune": BundledDataset(
            "gsm8k_tune.jsonl", 20, "GSM8K test items 300-319 (spec-graph tune's default)"
        ),
    },
)
"""Bundled question sets by name; `register` one of your own to make ``--data NAME`` find it."""


def data_dir() -> Path:
    """``spec_graph/data/``, where the bundled sets and their license live."""
    return Path(str(files("spec_graph") / "data"))


def dataset_names() -> list[str]:
    """The names ``--data`` accepts besides a path."""
    return BUNDLED_DATASETS.names()


def bundled_dataset(name: str) -> Path:
    """The file of the bundled set ``name`` (a `UserError` listing the names if unknown)."""
    return BUNDLED_DATASETS.get(name).path


def resolve_dataset(value: str | Path) -> Path:
    """A ``--data`` value as a file: an existing path as it is, else a bundled set's name.

    A value that is neither is a one-line `UserError` naming the bundled sets.
    """
    path = Path(value)
    if path.is_file():
        return path
    found = BUNDLED_DATASETS.find(str(value))
    if found is not None:
        return found.path
    raise UserError(f"no such dataset: {value} (not a file; bundled: {', '.join(dataset_names())})")
