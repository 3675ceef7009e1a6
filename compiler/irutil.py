"""Small helpers over the MLIR Python bindings of ``iree-base-compiler`` (``iree.compiler.ir``).

Everything that touches MLIR objects directly lives in the compiler; nothing here is needed
at run time on the board. Locations are rendered ``file:line:col`` (``<input>`` for text).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from accel.errors import CompileError

try:  # the MLIR bindings are an optional dependency (pynq-accel[compiler])
    from iree.compiler import ir, passmanager  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "accel.compiler needs the MLIR Python bindings: pip install 'pynq-accel[compiler]' "
        f"(iree-base-compiler); import failed: {exc}"
    ) from exc

TEXT_INPUT_NAME = "<input>"


def make_context() -> ir.Context:
    """A context with every upstream dialect and the (unregistered, generic-form) accel ops."""
    ctx = ir.Context()
    ctx.allow_unregistered_dialects = True
    return ctx


def looks_like_path(src: str | os.PathLike[str]) -> bool:
    if isinstance(src, os.PathLike):
        return True
    return "\n" not in src and "{" not in src and len(src) < 4096 and Path(src).suffix in (".mlir", ".mlirbc", ".onnx")


def parse_module(
    src: str | os.PathLike[str], ctx: ir.Context, text_name: str = TEXT_INPUT_NAME
) -> tuple[ir.Module, str]:
    """Parse MLIR text or a ``.mlir`` file; syntax errors become a :class:`CompileError`.

    Returns the module and the name its locations use (the path, or ``text_name`` for text)."""
    name = text_name
    with ctx:
        try:
            if looks_like_path(src):
                path = Path(src)
                if not path.is_file():
                    raise CompileError(f"no such MLIR file: {path}")
                name = str(path)
                module = ir.Module.parseFile(str(path))
            else:
                module = ir.Module.parse(str(src))
        except ir.MLIRError as exc:
            diags = list(getattr(exc, "error_diagnostics", []) or [])
            if diags:
                d = diags[0]
                raise CompileError(
                    f"malformed MLIR: {d.message}", op=None, location=format_location(d.location, name)
                ) from None
            raise CompileError(f"malformed MLIR: {exc}", location=name) from None
    return module, name


def format_location(loc: Any, text_name: str = TEXT_INPUT_NAME) -> str:
    """``file:line:col`` of a location (the first file location inside name/fused/callsite locs)."""
    found = _file_loc(loc)
    if found is None:
        return "unknown location"
    fname, line, col = found
    if fname in ("-", ""):
        fname = text_name
    return f"{fname}:{line}:{col}"


def _file_loc(loc: Any) -> tuple[str, int, int] | None:
    if isinstance(loc, ir.FileLineColLoc):
        return loc.filename, loc.start_line, loc.start_col
    if isinstance(loc, ir.NameLoc):
        return _file_loc(loc.child_loc)
    if isinstance(loc, ir.FusedLoc):
        for sub in loc.locations:
            found = _file_loc(sub)
            if found:
                return found
        return None
    if isinstance(loc, ir.CallSiteLoc):
        return _file_loc(loc.callee) or _file_loc(loc.caller)
    m = re.search(r'"([^"]*)":(\d+):(\d+)', str(loc))  # a location the bindings did not downcast
    if m:
        return m.group(1), int(m.group(2)), int(m.group(3))
    return None


def op_location(op: Any, text_name: str = TEXT_INPUT_NAME) -> str:
    return format_location(_op(op).location, text_name)


def _op(op: Any) -> ir.Operation:
    return op.operation if hasattr(op, "operation") else op


def body_ops(op: Any) -> list[ir.Operation]:
    """The operations of the first block of the first region (empty if none)."""
    o = _op(op)
    if not o.regions or not len(o.regions[0].blocks):
        return []
    return [x.operation for x in o.regions[0].blocks[0].operations]


def functions(module_op: Any) -> Iterator[ir.Operation]:
    for op in body_ops(module_op):
        if op.name == "func.func":
            yield op


def func_name(func: Any) -> str:
    return ir.StringAttr(_op(func).attributes["sym_name"]).value


def has_body(func: Any) -> bool:
    o = _op(func)
    return bool(o.regions) and len(o.regions[0].blocks) > 0


def attr_get(op: Any, name: str) -> ir.Attribute | None:
    attrs = _op(op).attributes
    return attrs[name] if name in attrs else None


# ------------------------------------------------------------------ attribute <-> python
def i64(value: int) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def to_attr(value: Any) -> ir.Attribute:
    """Python value -> attribute: bool -> BoolAttr, int -> i64, str, dict -> DictAttr, list -> ArrayAttr."""
    if isinstance(value, ir.Attribute):
        return value
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, int):
        return i64(value)
    if isinstance(value, float):
        return ir.FloatAttr.get_f64(value)
    if isinstance(value, str):
        return ir.StringAttr.get(value)
    if isinstance(value, dict):
        return ir.DictAttr.get({k: to_attr(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return ir.ArrayAttr.get([to_attr(v) for v in value])
    raise TypeError(f"cannot turn {type(value).__name__} into an attribute")


def from_attr(attr: ir.Attribute) -> Any:
    """Attribute -> Python value (the inverse of :func:`to_attr`, plus dense arrays/elements)."""
    if isinstance(attr, ir.BoolAttr):
        return bool(attr.value)
    if isinstance(attr, ir.IntegerAttr):
        t = attr.type
        if isinstance(t, ir.IntegerType) and t.width == 1:
            return bool(attr.value)
        return int(attr.value)
    if isinstance(attr, ir.FloatAttr):
        return float(attr.value)
    if isinstance(attr, ir.StringAttr):
        return attr.value
    if isinstance(attr, ir.DictAttr):
        return {na.name: from_attr(na.attr) for na in (attr[i] for i in range(len(attr)))}
    if isinstance(attr, ir.ArrayAttr):
        return [from_attr(a) for a in attr]
    for cls in (ir.DenseI64ArrayAttr, ir.DenseI32ArrayAttr, ir.DenseI16ArrayAttr, ir.DenseI8ArrayAttr):
        if isinstance(attr, cls):
            return [int(x) for x in attr]
    if isinstance(attr, ir.UnitAttr):
        return True
    return str(attr)


def attr_dict(op: Any) -> dict[str, Any]:
    """All attributes of an op as Python values."""
    attrs = _op(op).attributes
    return {na.name: from_attr(na.attr) for na in (attrs[i] for i in range(len(attrs)))}


def dict_attr(op: Any, name: str) -> dict[str, Any] | None:
    a = attr_get(op, name)
    if a is None:
        return None
    value = from_attr(a)
    return value if isinstance(value, dict) else None


def set_attr(op: Any, name: str, value: Any) -> None:
    _op(op).attributes[name] = to_attr(value)


# ------------------------------------------------------------------ types
def shaped(t: ir.Type) -> tuple[str, list[int] | None, str] | None:
    """(kind, shape or None if dynamic, element type) of a tensor/memref type, else None.

    kind is "tensor", "memref" or "unranked"."""
    if isinstance(t, (ir.UnrankedTensorType, ir.UnrankedMemRefType)):
        return "unranked", None, str(t.element_type)
    if isinstance(t, ir.RankedTensorType):
        kind = "tensor"
    elif isinstance(t, ir.MemRefType):
        kind = "memref"
    else:
        return None
    shape = [int(d) for d in t.shape] if t.has_static_shape else None
    return kind, shape, str(t.element_type)


def memref_layout_problem(t: ir.Type) -> str | None:
    """Why a memref cannot be DMA'd in place as a dense row-major buffer (None if it can)."""
    if not isinstance(t, ir.MemRefType):
        return None
    if t.memory_space is not None:
        return f"memory space {t.memory_space} is not supported (default memory space only)"
    try:
        strides, offset = t.get_strides_and_offset()
    except Exception:
        return f"layout {t.layout} is not a strided layout"
    shape = [int(d) for d in t.shape]
    want = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        want[i] = want[i + 1] * shape[i + 1]
    if offset != 0 or [int(s) for s in strides] != want:
        return f"layout {t.layout} is not dense row-major (strides {list(strides)}, offset {offset})"
    return None
