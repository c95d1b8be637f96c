"""The cookbook's notebooks run top to bottom against the real tiny models, and are stored clean.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (the venv's own
ipykernel, so the kernel imports this checkout) with the repository root as its working
directory. The notebooks start their own embedded tiny models (or, in 05, the chat model does)
and assert the structure of what they get, never the tiny model's answers.

Notebooks are committed without outputs: a stored output or execution count fails here, so
clear them before committing (Jupyter: "Clear All Outputs";
``jupyter nbconvert --clear-output --inplace cookbook/*.ipynb``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
COOKBOOK = ROOT / "cookbook"
NOTEBOOKS = sorted(COOKBOOK.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_swap_the_judge.ipynb",
    "03_scot_vs_specreason.ipynb",
    "04_tools_and_retrieval.ipynb",
    "05_chat_model_in_an_agent.ipynb",
    "06_write_your_own_strategy.ipynb",
]
CELL_TIMEOUT_S = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def test_the_cookbook_has_its_notebooks_and_an_index():
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    index = (COOKBOOK / "README.md").read_text()
    for name in EXPECTED:
        assert name in index, f"cookbook/README.md does not list {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_stored_notebook_has_no_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have stored outputs or execution counts; clear them "
        f"(jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)})"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def _failure(nb, path: Path, error: Exception) -> str:
    """The failing cell (number and source) and its error, without ANSI colours."""
    failed = [
        (i, cell)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.outputs)
    ]
    if not failed:
        return f"{path.name}: {type(error).__name__}: {_ANSI.sub('', str(error))}"
    index, cell = failed[-1]
    out = [o for o in cell.outputs if o.get("output_type") == "error"][-1]
    traceback = _ANSI.sub("", "\n".join(out.get("traceback", [])))
    return (
        f"{path.name}: cell {index} failed with {out.get('ename')}: {out.get('evalue')}\n"
        f"--- cell {index} ---\n{cell.source}\n--- traceback ---\n{traceback}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs(path: Path, capsys: pytest.CaptureFixture[str]):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    started = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as error:
        pytest.fail(_failure(nb, path, error), pytrace=False)
    with capsys.disabled():
        print(f"\n{path.name}: {time.perf_counter() - started:.1f} s", end="")
