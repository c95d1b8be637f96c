"""The bundled question sets: found by name (``--data gsm8k-dev``), complete, licensed."""

from __future__ import annotations

import json

import pytest

from spec_graph.bench.datasets import (
    BUNDLED_DATASETS,
    LICENSE_FILE,
    bundled_dataset,
    dataset_names,
    resolve_dataset,
)
from spec_graph.bench.runner import load_items
from spec_graph.cli import run
from spec_graph.errors import UserError


def test_bundled_names():
    assert dataset_names() == ["gsm8k-dev", "gsm8k-tune"]


@pytest.mark.parametrize(("name", "rows", "first"), [
    ("gsm8k-dev", 400, "gsm8k-test-0"),
    ("gsm8k-tune", 20, "gsm8k-test-300"),
])  # fmt: skip
def test_bundled_set_loads_by_name(name, rows, first):
    path = resolve_dataset(name)
    assert path == bundled_dataset(name)
    assert BUNDLED_DATASETS.get(name).rows == rows
    items = load_items(path)
    assert len(items) == rows
    assert items[0].id == first
    assert all(item.question and item.answer for item in items)
    assert len({item.id for item in items}) == rows


def test_tune_set_is_a_slice_of_the_dev_set():
    dev = {json.loads(line)["id"]: line for line in bundled_dataset("gsm8k-dev").open()}
    for line in bundled_dataset("gsm8k-tune").open():
        assert dev[json.loads(line)["id"]] == line


def test_license_beside_the_data():
    license_file = bundled_dataset("gsm8k-dev").parent / LICENSE_FILE
    text = license_file.read_text()
    assert text.startswith("MIT License")
    assert "OpenAI" in text


def test_a_path_still_works(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2"}\n')
    assert resolve_dataset(str(path)) == path
    assert resolve_dataset(path) == path


def test_unknown_name_lists_the_bundled_ones():
    with pytest.raises(UserError) as error:
        resolve_dataset("gsm8k-nope")
    message = str(error.value)
    assert "\n" not in message
    assert "gsm8k-nope" in message
    assert "gsm8k-dev, gsm8k-tune" in message


@pytest.mark.parametrize("command", ["bench", "tune"])
def test_cli_unknown_data_is_a_usage_error(command, capsys):
    assert run([command, "--data", "gsm8k-nope"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "gsm8k-nope" in err
    assert "gsm8k-dev, gsm8k-tune" in err
