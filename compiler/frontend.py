"""Frontends: ONNX models -> linalg on tensors, through IREE's importer and torch-mlir pipeline.

``iree-import-onnx model.onnx -o m.mlir`` gives the torch dialect; ``iree-opt`` with
:data:`ONNX_PIPELINE` lowers it to ``func.func`` + ``tensor.empty`` + ``linalg.fill`` +
``linalg.matmul`` (an ONNX ``MatMulInteger`` becomes ``linalg.matmul`` on
``tensor<MxKxi8>, tensor<KxNxi8> -> tensor<MxNxi32>``; initializers become
``arith.constant dense<...>``, which the compiled module carries, see ``module.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from accel.errors import CompileError

ONNX_PIPELINE = (
    "builtin.module(func.func(convert-torch-onnx-to-torch), torch-lower-to-backend-contract, "
    "func.func(torch-decompose-complex-ops), torch-backend-to-linalg-on-tensors-backend-pipeline)"
)


def tool(name: str) -> str:
    """Path of an IREE tool: next to this Python (the venv's bin) first, then PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which(name)
    if not found:
        raise CompileError(f"{name} not found: install the compiler extra (pip install 'pynq-accel[compiler]')")
    return found


def _run(cmd: list[str], what: str) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"{what} failed to run: {exc}") from None
    if proc.returncode != 0:
        raise CompileError(f"{what} failed: {_diagnostic(proc.stderr or proc.stdout, proc.returncode)}")
    return proc.stdout


def _diagnostic(output: str, returncode: int) -> str:
    """One line out of a tool's failure output: a Python traceback's final exception line
    (what went wrong, not where in the importer), else the first error lines."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    if not lines:
        return f"exit code {returncode}"
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        return lines[-1]
    return "; ".join(lines[:4])


def _importable_copy(src: Path, tmp: Path) -> Path:
    """``src``, or a copy whose IR version the importer's ``onnx`` package can read.

    Exporters write the newest ONNX IR version they know; the importer refuses a model whose IR
    version is newer than its ``onnx`` package even when every operator set the model uses is
    supported. The IR version describes the file format (protobuf fields), not operator
    semantics, so a model that uses only supported operator sets is rewritten down to the
    supported IR version; a newer operator set is a real incompatibility, named with the fix."""
    try:
        import onnx
    except ImportError:
        raise CompileError(
            "importing ONNX models needs the 'onnx' package: pip install 'pynq-accel[compiler]'"
        ) from None
    try:
        model = onnx.load(str(src), load_external_data=False)
    except Exception as exc:  # protobuf raises several types for a file that is not a model
        raise CompileError(f"{src.name} is not a readable ONNX model: {exc}") from None
    if model.ir_version <= onnx.IR_VERSION:
        return src
    newest = onnx.defs.onnx_opset_version()
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > newest:
            raise CompileError(
                f"{src.name} uses ONNX opset {opset.version}, newer than the {newest} this compiler's onnx "
                f"{onnx.__version__} supports; re-export the model with opset_version={newest} or lower "
                f"(e.g. torch.onnx.export(..., opset_version={newest}))"
            )
    model.ir_version = onnx.IR_VERSION
    out = tmp / src.name
    onnx.save(model, str(out))
    return out


def onnx_to_linalg(path: str | os.PathLike[str], *, keep_locations: bool = True) -> str:
    """Import an ONNX model and lower it to linalg-on-tensors MLIR text."""
    src = Path(path)
    if not src.is_file():
        raise CompileError(f"no such ONNX model: {src}")
    with tempfile.TemporaryDirectory(prefix="accel-onnx-") as tmp:
        model = _importable_copy(src, Path(tmp))
        torch_mlir = Path(tmp) / (src.stem + ".torch.mlir")
        _run([tool("iree-import-onnx"), str(model), "-o", str(torch_mlir)], f"iree-import-onnx {src.name}")
        cmd = [tool("iree-opt"), f"--pass-pipeline={ONNX_PIPELINE}", str(torch_mlir)]
        if keep_locations:
            cmd.append("--mlir-print-debuginfo")
        text = _run(cmd, f"lowering {src.name} to linalg (iree-opt)")
        # locations point into the imported torch-dialect file: name it after the model
        return text.replace(f'"{torch_mlir}"', f'"{src}(imported)"')
