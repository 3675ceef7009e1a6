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
    assert names == ["01_getting_started", "02_compile_mlir", "03_schedules_and_zero_copy", "04_quantized_model"]


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
    # run in the notebook's own folder, as Jupyter does (notebook 02 reads compiled/ beside it)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=TIMEOUT_S,
                                     resources={"metadata": {"path": str(path.parent)}})
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


BLOCK_MLIR = '''
import importlib.abc, sys
class _NoMLIR(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "iree":
            raise ImportError(f"{name}: no MLIR on a board install")
sys.meta_path.insert(0, _NoMLIR())
'''


def _run_on_board_install(stem: str, blocker: str, kernel_name, tmp_path, monkeypatch) -> str:
    """Execute notebook ``stem`` in a kernel whose interpreter runs ``blocker`` (a sitecustomize.py
    that makes the host-only packages unimportable, as on a board install) at start; the text the
    code cells printed."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    site = tmp_path / "board-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(blocker)
    monkeypatch.setenv("PYTHONPATH", str(site))
    path = next(p for p in NOTEBOOKS if p.stem == stem)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=TIMEOUT_S,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} on a board install: {exc}")
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def test_notebook_02_runs_on_a_board_install(kernel_name, tmp_path, monkeypatch):
    """A board install has the runtime only (docs/BOARD.md): no MLIR bindings. Notebook 02 must
    still run: it skips the compile cells and runs the program compiled on the host."""
    text = _run_on_board_install("02_compile_mlir", BLOCK_MLIR, kernel_name, tmp_path, monkeypatch)
    assert "no MLIR compiler here (a board install)" in text
    assert "result matches numpy" in text


@pytest.mark.parametrize("spec", ["z2_default", "kv260"])
def test_shipped_compiled_programs_are_current(spec):
    """notebooks/compiled/ holds what the compiler emits today for the notebook's MLIR."""
    compiler = pytest.importorskip("accel.compiler")
    pytest.importorskip("iree.compiler")
    from accel.contract.module import CompiledModule

    folder = NOTEBOOKS[0].parent / "compiled"
    shipped = CompiledModule.load(folder / f"matmul.{spec}.accel.json")
    fresh = compiler.compile(folder / "matmul.mlir", spec=spec)
    assert shipped["matmul"].program.to_dict() == fresh["matmul"].program.to_dict(), (
        f"stale notebooks/compiled/matmul.{spec}.accel.json: re-run the accel-run compile line at the top of "
        "notebooks/compiled/matmul.mlir"
    )


BLOCK_HOST_TOOLS = '''
import importlib.abc, sys
class _NoHostTools(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("iree", "onnx", "onnxruntime"):
            raise ImportError(f"{name}: no MLIR, onnx or onnxruntime on a board install")
sys.meta_path.insert(0, _NoHostTools())
'''


def test_notebook_04_runs_on_a_board_install(kernel_name, tmp_path, monkeypatch):
    """A board install has no MLIR, no onnx and no onnxruntime (32-bit ARM): notebook 04 skips
    training, quantization and compilation and runs the shipped model program."""
    text = _run_on_board_install("04_quantized_model", BLOCK_HOST_TOOLS, kernel_name, tmp_path, monkeypatch)
    assert "no MLIR compiler / onnxruntime here (a board install)" in text
    assert "equal to the CPU reference" in text and "quantized, on the accelerator" in text
    assert "onnxruntime's accuracy: on the host" in text and "float, onnxruntime" not in text


@pytest.mark.parametrize("spec", ["z2_default", "kv260"])
def test_shipped_model_programs_are_current(spec):
    """notebooks/compiled/mlp_quant.<spec>.model.json is what the compiler emits today for the
    shipped quantized model (notebook 04 runs it on a board, where nothing can compile)."""
    compiler = pytest.importorskip("accel.compiler")
    pytest.importorskip("iree.compiler")
    pytest.importorskip("onnx")
    from accel.contract.model import ModelProgram

    folder = NOTEBOOKS[0].parent / "compiled"
    shipped = ModelProgram.load(folder / f"mlp_quant.{spec}.model.json")
    batch = shipped.inputs[0]["shape"][0]
    fresh = compiler.compile(folder / "mlp_quant.onnx", spec=spec, batch=batch)
    assert Path(shipped.source).name == Path(fresh.source).name == "mlp_quant.onnx"
    shipped.source = fresh.source  # the path as it was given to the compiler, not a difference in the program
    assert shipped.to_dict() == fresh.to_dict(), (
        f"stale notebooks/compiled/mlp_quant.{spec}.model.json: cd notebooks && accel-run compile "
        f"compiled/mlp_quant.onnx -o compiled/mlp_quant.{spec}.model.json --spec {spec} --batch {batch}"
    )
