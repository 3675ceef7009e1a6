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
from typing import Any

import numpy as np

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


NODE_ATTR = "accel.node"  # the ONNX node's name on its torch.operator (set by name_nodes)
#: com.microsoft ops whose output type the importer cannot infer: (output elem type from input #, shape inputs)
_CONTRIB_TYPES = {"QLinearAdd": (7, (0, 3)), "QLinearMul": (7, (0, 3))}


def parse_shapes(items: list[str] | tuple[str, ...]) -> dict[str, list[int]]:
    """``["x=1,8", "y=4"]`` -> ``{"x": [1, 8], "y": [4]}`` (the ``--shape NAME=DIMS`` flag)."""
    out: dict[str, list[int]] = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError(item)
            out[name] = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
        except ValueError:
            raise CompileError(f"--shape {item!r}: write NAME=DIMS, e.g. --shape input=1,3,32,32") from None
    return out


def _specialize(model: Any, shapes: dict[str, list[int]], batch: int | None) -> None:
    """Give every graph input static dims: ``shapes[name]`` whole, else ``batch`` for a symbolic
    first dim; any dim still symbolic is refused with the flag that fixes it."""
    for out in model.graph.output:  # shape inference fills them in from the specialized inputs
        dims = out.type.tensor_type.shape.dim
        if out.type.HasField("tensor_type") and not all(d.HasField("dim_value") for d in dims):
            out.type.tensor_type.ClearField("shape")
    inits = {i.name for i in model.graph.initializer}
    known = {i.name for i in model.graph.input}
    for name in shapes:
        if name not in known:
            raise CompileError(f"--shape {name}=...: the model has no input {name!r} "
                               f"(inputs: {', '.join(sorted(known - inits))})")
    for inp in model.graph.input:
        if inp.name in inits or not inp.type.HasField("tensor_type"):
            continue
        dims = inp.type.tensor_type.shape.dim
        if inp.name in shapes:
            want = shapes[inp.name]
            if len(want) != len(dims):
                raise CompileError(f"--shape {inp.name}=...: the input has {len(dims)} dimensions, "
                                   f"{len(want)} given")
            for d, v in zip(dims, want, strict=True):
                d.ClearField("dim_param")
                d.dim_value = v
            continue
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i == 0 and batch is not None:
                d.ClearField("dim_param")
                d.dim_value = batch
                continue
            sym = d.dim_param or "?"
            raise CompileError(f"input {inp.name!r} has symbolic dimension {sym!r} (dim {i}): specialize it at "
                               f"compile time with --shape {inp.name}=DIMS" + (" or --batch N" if i == 0 else ""))


def _qgemm_type(model: Any, node: Any, typed: dict[str, Any]) -> None:
    """com.microsoft QGemm: [M, N] of y_zero_point's type (float32 without y_scale)."""
    import onnx

    a, b = typed.get(node.input[0]), typed.get(node.input[3])
    if a is None or b is None:
        return
    attrs = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    ad = [d.dim_value for d in a.type.tensor_type.shape.dim]
    bd = [d.dim_value for d in b.type.tensor_type.shape.dim]
    m = ad[1] if attrs.get("transA", 0) else ad[0]
    n = bd[0] if attrs.get("transB", 0) else bd[1]
    elem = onnx.TensorProto.FLOAT
    if len(node.input) > 8 and node.input[8]:
        zp = typed.get(node.input[8])
        if zp is None:
            return
        elem = zp.type.tensor_type.elem_type
    vi = onnx.helper.make_tensor_value_info(node.output[0], elem, [m, n])
    model.graph.value_info.append(vi)
    typed[vi.name] = vi


def _contrib_types(model: Any) -> None:
    """Value infos for com.microsoft outputs the shape inference leaves untyped (QLinearAdd...)."""
    import onnx

    def static(v: Any) -> bool:
        return v.type.HasField("tensor_type") and all(d.HasField("dim_value") for d in v.type.tensor_type.shape.dim)

    typed = {v.name: v for v in [*model.graph.value_info, *model.graph.input, *model.graph.output] if static(v)}
    for init in model.graph.initializer:
        typed.setdefault(init.name, onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    for node in model.graph.node:
        if node.domain == "com.microsoft" and node.op_type == "QGemm" and node.output[0] not in typed:
            _qgemm_type(model, node, typed)
            continue
        rule = _CONTRIB_TYPES.get(node.op_type) if node.domain == "com.microsoft" else None
        if rule is None or node.output[0] in typed:
            continue
        elem_from, shape_from = rule
        srcs = [typed.get(node.input[i]) for i in shape_from if i < len(node.input)]
        et = typed.get(node.input[elem_from]) if elem_from < len(node.input) else None
        if et is None or any(s is None for s in srcs):
            continue
        shapes = [[d.dim_value for d in s.type.tensor_type.shape.dim] for s in srcs]
        vi = onnx.helper.make_tensor_value_info(node.output[0], et.type.tensor_type.elem_type,
                                                list(np.broadcast_shapes(*[tuple(s) for s in shapes])))
        model.graph.value_info.append(vi)
        typed[vi.name] = vi
    for out in model.graph.output:  # a graph output keeps the symbolic dims it was declared with
        if not static(out) and out.name in typed:
            out.type.CopyFrom(typed[out.name].type)


def _freeze(model: Any, constants: dict[str, np.ndarray]) -> None:
    """Graph inputs given a value at compile time become initializers (weights)."""
    from onnx import helper, numpy_helper

    by_name = {i.name: i for i in model.graph.input}
    for name, value in constants.items():
        inp = by_name.get(name)
        if inp is None:
            raise CompileError(f"constant {name!r}: the model has no input {name!r} (inputs: {', '.join(by_name)})")
        want = helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(value).astype(want), name))
        model.graph.input.remove(inp)


def prepare_onnx(src: Path, tmp: Path, shapes: dict[str, list[int]] | None = None,
                 batch: int | None = None, constants: dict[str, np.ndarray] | None = None) -> tuple[Path, Any]:
    """A copy of the model ready for import: static input dims, shapes inferred, every node named.
    Returns (path, model)."""
    import onnx

    path = _importable_copy(src, tmp)
    model = onnx.load(str(path))
    _freeze(model, constants or {})
    _specialize(model, shapes or {}, batch)
    for _ in range(len(model.graph.node) + 1):  # each contrib op typed by _contrib_types lets inference go on
        try:
            model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        except Exception as exc:  # onnx raises InferenceError and others for inconsistent models
            raise CompileError(f"{src.name}: ONNX shape inference failed: {exc}") from None
        before = len(model.graph.value_info)
        _contrib_types(model)
        if all(o.type.tensor_type.HasField("shape") for o in model.graph.output) \
                or len(model.graph.value_info) == before:
            break
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        while name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        node.name = name
    out = tmp / (src.stem + ".prepared.onnx")
    onnx.save(model, str(out))
    return out, model


def onnx_to_torch(path: str | os.PathLike[str], *, shapes: dict[str, list[int]] | None = None,
                  batch: int | None = None, constants: dict[str, np.ndarray] | None = None) -> tuple[str, Any]:
    """Import an ONNX model into the torch dialect (one ``torch.operator "onnx.<Op>"`` per node).
    Returns (MLIR text, the prepared onnx model); :func:`name_nodes` puts the node names on the ops."""
    src = Path(path)
    if not src.is_file():
        raise CompileError(f"no such ONNX model: {src}")
    with tempfile.TemporaryDirectory(prefix="accel-onnx-") as tmp:
        model_path, model = prepare_onnx(src, Path(tmp), shapes, batch, constants)
        torch_mlir = Path(tmp) / (src.stem + ".torch.mlir")
        _run([tool("iree-import-onnx"), str(model_path), "-o", str(torch_mlir)], f"iree-import-onnx {src.name}")
        return torch_mlir.read_text(), model


def name_nodes(func: Any, model: Any, op_names: list[str]) -> list[str]:
    """The ONNX node names for ``op_names`` (the ``onnx.<Op>`` names of a function's
    ``torch.operator`` ops, in order). The importer emits one ``onnx.Constant`` per initializer
    first, then one op per graph node in graph order, so the last ``len(graph.node)`` ops are the
    nodes; every op type is checked against its node so a different importer order is caught."""
    nodes = list(model.graph.node)
    lead = len(op_names) - len(nodes)
    if lead < 0 or any(n != "onnx.Constant" for n in op_names[:lead]):
        raise CompileError(f"iree-import-onnx emitted {len(op_names)} ops for a graph of {len(nodes)} nodes: "
                           "cannot map the imported ops to ONNX nodes (unsupported importer version?)")
    names = [f"initializer_{i}" for i in range(lead)]
    for node, op in zip(nodes, op_names[lead:], strict=True):
        if op != f"onnx.{node.op_type}":
            raise CompileError(f"imported op {op} does not match ONNX node {node.name!r} ({node.op_type}): cannot map "
                               "the imported ops to ONNX nodes (unsupported importer version?)")
        names.append(node.name)
    return names


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
