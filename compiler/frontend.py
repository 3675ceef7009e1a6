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
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        detail = "; ".join(msg[:4]) if msg else f"exit code {proc.returncode}"
        raise CompileError(f"{what} failed: {detail}")
    return proc.stdout


def onnx_to_linalg(path: str | os.PathLike[str], *, keep_locations: bool = True) -> str:
    """Import an ONNX model and lower it to linalg-on-tensors MLIR text."""
    src = Path(path)
    if not src.is_file():
        raise CompileError(f"no such ONNX model: {src}")
    with tempfile.TemporaryDirectory(prefix="accel-onnx-") as tmp:
        torch_mlir = Path(tmp) / (src.stem + ".torch.mlir")
        _run([tool("iree-import-onnx"), str(src), "-o", str(torch_mlir)], f"iree-import-onnx {src.name}")
        cmd = [tool("iree-opt"), f"--pass-pipeline={ONNX_PIPELINE}", str(torch_mlir)]
        if keep_locations:
            cmd.append("--mlir-print-debuginfo")
        text = _run(cmd, f"lowering {src.name} to linalg (iree-opt)")
        # locations point into the imported torch-dialect file: name it after the model
        return text.replace(f'"{torch_mlir}"', f'"{src}(imported)"')
