"""The ONNX package's own node tests for the ops issue 14 names, and onnxruntime as a reference.

The onnx 1.19 wheel ships ``onnx/backend/test/data/node/<test>/`` (``model.onnx`` and
``test_data_set_0/{input,output}_*.pb``); the 1.20+ wheels no longer do. :func:`cases` lists the
matmul/conv/gemm tests, :func:`load` reads one (inputs keyed by graph input name, expected outputs
by graph output name), and :func:`ort_outputs` (from :mod:`accel.bench.zoo`) runs any model in
onnxruntime (CPU).

Known bad data: the int8 ``test_qlinearmatmul_*`` expected outputs in onnx 1.19 wrap around
instead of saturating (onnx issues #6169 / #7835, fixed by onnx PR #7868); onnxruntime saturates,
as the ONNX spec says, so for the tests in :data:`KNOWN_BAD_DATA` compare with
:func:`expected` (which returns onnxruntime's outputs for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.bench.zoo import ort_outputs

#: Name prefixes of the node tests issue 14 asks the suite to run (plus exact names).
PREFIXES = ("test_matmulinteger", "test_qlinearmatmul_", "test_convinteger_", "test_qlinearconv",
            "test_gemm_", "test_matmul_")

#: Node tests whose shipped expected outputs are wrong in onnx 1.19 (use onnxruntime's instead).
KNOWN_BAD_DATA = frozenset({
    "test_qlinearmatmul_2D_int8_float16", "test_qlinearmatmul_2D_int8_float32",
    "test_qlinearmatmul_3D_int8_float16", "test_qlinearmatmul_3D_int8_float32",
})


@dataclass(frozen=True)
class NodeCase:
    """One node test: its model file, inputs and shipped expected outputs (by graph names)."""

    name: str
    model_path: Path
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


def node_dir() -> Path:
    """Where the onnx wheel keeps its node tests."""
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"


def cases() -> list[str]:
    """Names of the issue-14 node tests present in the installed onnx wheel (sorted)."""
    root = node_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and any(p.name == q.rstrip("_") or p.name.startswith(q) for q in PREFIXES))


def _read_tensor(path: Path) -> np.ndarray:
    import onnx
    from onnx import numpy_helper

    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(t)


def load(name: str, data_set: int = 0) -> NodeCase:
    """Node test ``name``: model path, inputs by graph input name, shipped outputs by output name."""
    import onnx

    d = node_dir() / name
    model_path = d / "model.onnx"
    model = onnx.load(str(model_path))
    inits = {i.name for i in model.graph.initializer}
    in_names = [i.name for i in model.graph.input if i.name not in inits]
    out_names = [o.name for o in model.graph.output]
    ds = d / f"test_data_set_{data_set}"
    ins = {n: _read_tensor(ds / f"input_{i}.pb") for i, n in enumerate(in_names)}
    outs = {n: _read_tensor(ds / f"output_{i}.pb") for i, n in enumerate(out_names)}
    return NodeCase(name, model_path, ins, outs)


def expected(case: NodeCase) -> dict[str, np.ndarray]:
    """The outputs to compare with: the shipped ones, or onnxruntime's for :data:`KNOWN_BAD_DATA`."""
    if case.name in KNOWN_BAD_DATA:
        return ort_outputs(case.model_path, case.inputs)
    return case.outputs
