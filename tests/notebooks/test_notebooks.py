"""Execute notebooks/*.ipynb with nbclient and fail on any error output.

Off-board the notebooks pick the simulation backend (``backend="auto"``); on a board with the
overlay installed the same test runs them on the hardware. Each notebook is its own test, so
``pytest -n 2`` runs them in parallel. The kernel is this interpreter (a kernel spec written
into a temporary JUPYTER_PATH), never whatever ``python3`` kernel a user has registered.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
KERNEL = "pynq-accel-test"
TIMEOUT_S = 600  # per cell; a cold simulator build happens inside the first cell


@pytest.fixture
def kernel_name(tmp_path, monkeypatch) -> str:
    pytest.importorskip("ipykernel")
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "pynq-accel (test interpreter)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return KERNEL


def test_there_are_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_getting_started", "02_compile_mlir", "03_schedules_and_zero_copy"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_small_and_clean(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not cleared"
    assert path.stat().st_size < 20_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path, kernel_name, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=TIMEOUT_S,
                                     resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:  # the failing cell's traceback
        pytest.fail(f"{path.name}: {exc}")
    elapsed = time.monotonic() - t0
    errors = [
        (i, out.get("ename"), out.get("evalue"))
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: error outputs {errors}"
    stderr = [
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]
    assert not any("Traceback" in s for s in stderr), stderr
    print(f"{path.name}: {elapsed:.1f} s")
