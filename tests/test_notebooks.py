"""The notebooks of notebooks/, executed top to bottom in the default suite, so that a change to
the package cannot silently break them: each runs in a fresh kernel whose working directory is
a temporary folder (its ``outputs/`` land there), and an exception or a failed ``assert`` in any
cell fails the test with that cell's source and traceback. About 2.5 minutes on 2 CPU cores for
the four (docs/tests.md). The committed files keep their outputs stripped: nothing is written
back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # one cell; the slowest takes about 50 s on a busy 2-core machine


def test_the_notebooks_are_found() -> None:
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(path, as_version=4)
    # The kernel gets one intra-op thread: the notebooks' tensors are tiny, and on a busy 2-core
    # machine a second thread only adds synchronisation (measured, 04_metrics: 3 min with two,
    # 40 s with one). The kernel inherits this process's environment.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    failure = None
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:  # the cell's source and traceback
        failure = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # without the terminal colours
    if failure is not None:
        pytest.fail(f"{path.name} failed:\n{failure}", pytrace=False)
