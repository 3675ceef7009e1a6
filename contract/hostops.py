"""The host operations: the fixed set of CPU steps a driver program for a whole model may contain.

A compiled model runs its matmuls and convolutions on the accelerator and everything else on the
board's CPU, with numpy only (the board has no MLIR and no onnxruntime on 32-bit ARM). This
module is the contract for those CPU steps, shared by the compiler (which decides what the CPU
can run and infers the shapes of the buffers it plans) and the runtime (which validates programs
and executes the steps in :mod:`accel.runtime.hostops`, each op implemented once there):

- :data:`HOST_OPS`: op name -> :class:`HostOpSpec` (input/output counts, attributes with their
  defaults, one line of doc). Names are ONNX op types with ONNX semantics (opset 13+), domain
  qualified for contrib ops (``com.microsoft.QLinearAdd``), plus ``accel.*`` helpers the compiler
  places around accelerator steps (``accel.Requantize``, ``accel.Im2Col``, ``accel.RowsToNCHW``);
- :func:`check`: refuse an unknown op, a wrong input count or an unsupported attribute value with a
  :class:`~accel.errors.ProgramError` that names the op and the attribute;
- :func:`output_specs`: shape/dtype inference ((shape, dtype) per output) from the inputs'
  shapes/dtypes and, where an output shape depends on an input's value (Reshape's shape,
  Squeeze's axes, ...), that value;
- :func:`cost`: bytes read/written and elements (and MACs) of a step, to price host work.

Dtypes are numpy dtype names (``"int8"``, ``"float32"``); ``Cast.to`` and ``output_dtype`` take
ONNX ``TensorProto`` enum values (:data:`ONNX_DTYPES`) or a dtype name. The full table with
semantics is in docs/host_ops.md. Pure Python + numpy; nothing is computed at import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.errors import DtypeError, ProgramError, ShapeError

Shape = tuple[int, ...]
TensorSpec = tuple[Shape, str]

#: ONNX ``TensorProto.DataType`` values this set handles -> numpy dtype names (onnx.proto).
ONNX_DTYPES: Mapping[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
}
#: Integer ranges of the quantized types.
QUANT_RANGES: Mapping[str, tuple[int, int]] = {
    "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
}
FLOATS = ("float32", "float64", "float16")
INTS = ("int8", "uint8", "int16", "uint16", "int32", "int64", "uint32", "uint64")
Q8 = ("int8", "uint8")

REQUIRED = object()  # an attribute default meaning "must be given"


@dataclass(frozen=True)
class HostOpSpec:
    """One host operation: its signature and how its outputs' shapes follow from its inputs."""

    name: str
    min_inputs: int
    max_inputs: int
    n_outputs: int
    attrs: Mapping[str, Any]
    doc: str
    dtypes: str
    infer: Callable[[Sequence[TensorSpec | None], dict[str, Any], Sequence[Any]], list[TensorSpec]] = field(
        repr=False, compare=False)
    validate: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False, compare=False)


# ----------------------------------------------------------------------------- helpers
def _err(op: str, msg: str) -> ProgramError:
    return ProgramError(f"host op {op}: {msg}")


def dtype_name(value: Any) -> str:
    """A dtype name from an ONNX enum value, a numpy dtype or a name."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if int(value) not in ONNX_DTYPES:
            raise DtypeError(f"ONNX element type {int(value)} is not supported by the host ops "
                             f"(supported: {sorted(ONNX_DTYPES.items())})")
        return ONNX_DTYPES[int(value)]
    try:
        return np.dtype(value).name
    except TypeError as exc:
        raise DtypeError(f"{value!r} is not a dtype") from exc


def _axis(op: str, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"host op {op}: axis {axis} is out of range for a rank-{rank} input")
    return axis % max(rank, 1)


def _need(op: str, specs: Sequence[TensorSpec | None], i: int) -> TensorSpec:
    s = specs[i] if i < len(specs) else None
    if s is None:
        raise ShapeError(f"host op {op}: input {i} is required")
    return tuple(int(d) for d in s[0]), dtype_name(s[1])


def _opt(specs: Sequence[TensorSpec | None], i: int) -> TensorSpec | None:
    s = specs[i] if i < len(specs) else None
    return None if s is None else (tuple(int(d) for d in s[0]), dtype_name(s[1]))


def _value(op: str, values: Sequence[Any], i: int, what: str) -> np.ndarray | None:
    v = values[i] if i < len(values) else None
    return None if v is None else np.asarray(v)


def _want_dtype(op: str, what: str, dt: str, allowed: Sequence[str]) -> None:
    if dt not in allowed:
        raise DtypeError(f"host op {op}: {what} has dtype {dt}; supported: {', '.join(allowed)}")


def broadcast(op: str, *shapes: Shape) -> Shape:
    """numpy/ONNX multidirectional broadcasting of ``shapes``."""
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError as exc:
        raise ShapeError(f"host op {op}: shapes {', '.join(map(str, shapes))} do not broadcast") from exc


def _qparam(op: str, what: str, spec: TensorSpec | None, x_shape: Shape, axis: int) -> None:
    """A scale/zero point is a scalar (per tensor) or 1-D of x's ``axis`` length (per axis)."""
    if spec is None:
        return
    shape = spec[0]
    if len(shape) == 0 or (len(shape) == 1 and shape[0] == 1):
        return
    if len(shape) == 1 and len(x_shape) and shape[0] == x_shape[_axis(op, axis, len(x_shape))]:
        return
    raise ShapeError(f"host op {op}: {what} has shape {shape}; it must be a scalar or 1-D of length "
                     f"{x_shape[axis] if len(x_shape) else '?'} (the input's axis {axis})")


# ----------------------------------------------------------------------------- geometry
def window_geometry(op: str, spatial: Shape, attrs: Mapping[str, Any], *,
                    kernel: Sequence[int] | None = None) -> tuple[Shape, tuple[int, ...]]:
    """Output spatial size and resolved pads (ONNX order: all begins, then all ends) of a
    Conv/pool window with ``kernel_shape``, ``strides``, ``dilations``, ``pads``, ``auto_pad``,
    ``ceil_mode`` (pools). ceil_mode drops a last window that would start in the end padding
    (as onnxruntime's pool output size does)."""
    nd = len(spatial)
    k = [int(v) for v in (kernel if kernel is not None else attrs.get("kernel_shape") or [])]
    if len(k) != nd:
        raise ShapeError(f"host op {op}: kernel_shape {k} does not match {nd} spatial dims")
    s = [int(v) for v in (attrs.get("strides") or [1] * nd)]
    d = [int(v) for v in (attrs.get("dilations") or [1] * nd)]
    p = [int(v) for v in (attrs.get("pads") or [0] * (2 * nd))]
    if len(s) != nd or len(d) != nd or len(p) != 2 * nd:
        raise ShapeError(f"host op {op}: strides/dilations need {nd} values and pads {2 * nd}")
    if min(k + s + d) < 1 or min(p) < 0:
        raise ShapeError(f"host op {op}: kernel, strides, dilations must be >= 1 and pads >= 0")
    auto = attrs.get("auto_pad", "NOTSET")
    ceil = bool(attrs.get("ceil_mode", 0))
    out, pb, pe = [], [], []
    for i in range(nd):
        ext = (k[i] - 1) * d[i] + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-spatial[i] // s[i])
            tot = max(0, (o - 1) * s[i] + ext - spatial[i])
            small, big = tot // 2, tot - tot // 2
            b, e = (small, big) if auto == "SAME_UPPER" else (big, small)
        else:
            b, e = (0, 0) if auto == "VALID" else (p[i], p[i + nd])
            span = spatial[i] + b + e - ext
            if span < 0:
                raise ShapeError(f"host op {op}: window {ext} is larger than the padded input "
                                 f"({spatial[i]} + pads {b}+{e}) on spatial axis {i}")
            o = (-(-span // s[i]) if ceil else span // s[i]) + 1
            if ceil and (o - 1) * s[i] >= spatial[i] + b:
                o -= 1
        out.append(o)
        pb.append(b)
        pe.append(e)
    return tuple(out), tuple(pb + pe)


# ----------------------------------------------------------------------------- inference
def _same(op, specs, attrs, values):
    return [_need(op, specs, 0)]


def _float_unary(op, specs, attrs, values):
    s = _need(op, specs, 0)
    _want_dtype(op, "input", s[1], FLOATS)
    return [s]


def _relu(op, specs, attrs, values):
    s = _need(op, specs, 0)
    _want_dtype(op, "input", s[1], (*FLOATS, "int8", "int16", "int32", "int64"))
    return [s]


def _clip(op, specs, attrs, values):
    s = _need(op, specs, 0)
    _want_dtype(op, "input", s[1], (*FLOATS, *INTS))
    for i in (1, 2):
        b = _opt(specs, i)
        if b is not None and (b[0] not in ((), (1,)) or b[1] != s[1]):
            raise ShapeError(f"host op {op}: min/max must be scalars of the input's dtype {s[1]}, got {b}")
    return [s]


def _binary(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 1)
    if a[1] != b[1]:
        raise DtypeError(f"host op {op}: inputs have dtypes {a[1]} and {b[1]}; they must match")
    _want_dtype(op, "input", a[1], (*FLOATS, "int32", "int64", "int8", "uint8", "int16", "uint16"))
    return [(broadcast(op, a[0], b[0]), a[1])]


def _softmax(op, specs, attrs, values):
    s = _float_unary(op, specs, attrs, values)[0]
    _axis(op, int(attrs["axis"]), len(s[0]))
    return [s]


def _quantize(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "x", x[1], ("float32",))
    sc, zp = _need(op, specs, 1), _opt(specs, 2)
    _want_dtype(op, "y_scale", sc[1], ("float32",))
    axis = int(attrs["axis"])
    _qparam(op, "y_scale", sc, x[0], axis)
    _qparam(op, "y_zero_point", zp, x[0], axis)
    if zp is not None:
        out = zp[1]
        if zp[0] != sc[0] and zp[0] not in ((), (1,)):
            raise ShapeError(f"host op {op}: y_zero_point shape {zp[0]} differs from y_scale's {sc[0]}")
    else:
        out = dtype_name(attrs["output_dtype"]) if attrs.get("output_dtype") else "uint8"
    _want_dtype(op, "output", out, tuple(QUANT_RANGES))
    return [(x[0], out)]


def _dequantize(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "x", x[1], (*QUANT_RANGES, "int32"))
    sc, zp = _need(op, specs, 1), _opt(specs, 2)
    _want_dtype(op, "x_scale", sc[1], ("float32",))
    axis = int(attrs["axis"])
    _qparam(op, "x_scale", sc, x[0], axis)
    _qparam(op, "x_zero_point", zp, x[0], axis)
    if zp is not None and zp[1] != x[1]:
        raise DtypeError(f"host op {op}: x_zero_point dtype {zp[1]} differs from x's {x[1]}")
    return [(x[0], "float32")]


def _dynquant(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "x", x[1], ("float32",))
    return [(x[0], "uint8"), ((), "float32"), ((), "uint8")]


def matmul_shape(op: str, a: Shape, b: Shape) -> Shape:
    """numpy.matmul's output shape (1-D operands promoted and the added dim removed)."""
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(f"host op {op}: matmul operands must have rank >= 1 (got {a} and {b})")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(f"host op {op}: A is {a} and B is {b}: A's last dim must equal B's "
                         f"second-to-last")
    batch = broadcast(op, a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _matmul(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 1)
    if a[1] != b[1]:
        raise DtypeError(f"host op {op}: A is {a[1]} and B is {b[1]}; they must match")
    _want_dtype(op, "A", a[1], ("float32", "float64", "int32", "int64"))
    return [(matmul_shape(op, a[0], b[0]), a[1])]


def _zp_rows(op, what, zp, shape, dim):
    if zp is None:
        return
    if zp[0] in ((), (1,)) or (len(zp[0]) == 1 and zp[0][0] == shape[dim]):
        return
    raise ShapeError(f"host op {op}: {what} has shape {zp[0]}; it must be a scalar or 1-D of length {shape[dim]}")


def _matmul_integer(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 1)
    _want_dtype(op, "A", a[1], Q8)
    _want_dtype(op, "B", b[1], Q8)
    if len(a[0]) < 2 or len(b[0]) < 2:
        raise ShapeError(f"host op {op}: A and B need rank >= 2 here (got {a[0]} and {b[0]})")
    azp, bzp = _opt(specs, 2), _opt(specs, 3)
    for zp, x, what in ((azp, a, "a_zero_point"), (bzp, b, "b_zero_point")):
        if zp is not None and zp[1] != x[1]:
            raise DtypeError(f"host op {op}: {what} dtype {zp[1]} differs from its operand's {x[1]}")
    _zp_rows(op, "a_zero_point", azp, a[0], -2)
    _zp_rows(op, "b_zero_point", bzp, b[0], -1)
    return [(matmul_shape(op, a[0], b[0]), "int32")]


def _qlinear_matmul(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 3)
    _want_dtype(op, "a", a[1], Q8)
    _want_dtype(op, "b", b[1], Q8)
    if len(a[0]) < 2 or len(b[0]) < 2:
        raise ShapeError(f"host op {op}: a and b need rank >= 2 here (got {a[0]} and {b[0]})")
    yzp = _need(op, specs, 7)
    for i, what in ((1, "a_scale"), (2, "a_zero_point"), (6, "y_scale"), (7, "y_zero_point")):
        s = _need(op, specs, i)
        if s[0] not in ((), (1,)):
            raise ShapeError(f"host op {op}: {what} must be a scalar here (per-tensor), got shape {s[0]}")
    for i, what in ((4, "b_scale"), (5, "b_zero_point")):
        _zp_rows(op, what, _need(op, specs, i), b[0], -1)
    for i, what in ((1, "a_scale"), (4, "b_scale"), (6, "y_scale")):
        # opset 21 allows float16 scales; they widen to float32 exactly
        _want_dtype(op, what, _need(op, specs, i)[1], ("float32", "float16"))
    _want_dtype(op, "y_zero_point", yzp[1], Q8)
    return [(matmul_shape(op, a[0], b[0]), yzp[1])]


def _gemm(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 1)
    _want_dtype(op, "A", a[1], ("float32", "float64"))
    if a[1] != b[1] or len(a[0]) != 2 or len(b[0]) != 2:
        raise ShapeError(f"host op {op}: A and B must be 2-D of one dtype (got {a} and {b})")
    m, k = a[0][::-1] if attrs["transA"] else a[0]
    k2, n = b[0][::-1] if attrs["transB"] else b[0]
    if k != k2:
        raise ShapeError(f"host op {op}: op(A) is {m}x{k} and op(B) is {k2}x{n}")
    c = _opt(specs, 2)
    if c is not None:
        if c[1] != a[1] or broadcast(op, c[0], (m, n)) != (m, n):
            raise ShapeError(f"host op {op}: C {c} does not broadcast to ({m}, {n}) {a[1]}")
    return [((m, n), a[1])]


def conv_geometry(op: str, x: Shape, w: Shape, attrs: Mapping[str, Any]) -> tuple[Shape, tuple[int, ...]]:
    """(output shape NCHW..., resolved pads) of a Conv/ConvInteger/QLinearConv."""
    if len(x) != 4 or len(w) != 4:
        raise ShapeError(f"host op {op}: only 2-D convolutions (NCHW input, OIHW weight) are host ops; "
                         f"got X {x} and W {w}")
    g = int(attrs.get("group", 1))
    if g < 1 or x[1] != w[1] * g or w[0] % g:
        raise ShapeError(f"host op {op}: X has {x[1]} channels, W is {w} and group={g}: "
                         f"need C == W.shape[1] * group and O % group == 0")
    ks = attrs.get("kernel_shape") or list(w[2:])
    if tuple(int(v) for v in ks) != tuple(w[2:]):
        raise ShapeError(f"host op {op}: kernel_shape {list(ks)} differs from W's {list(w[2:])}")
    sp, pads = window_geometry(op, x[2:], attrs, kernel=w[2:])
    return (x[0], w[0], *sp), pads


def _conv(op, specs, attrs, values):
    x, w = _need(op, specs, 0), _need(op, specs, 1)
    _want_dtype(op, "X", x[1], ("float32", "float64"))
    if w[1] != x[1]:
        raise DtypeError(f"host op {op}: W is {w[1]}, X is {x[1]}")
    out, _ = conv_geometry(op, x[0], w[0], attrs)
    bias = _opt(specs, 2)
    if bias is not None and bias[0] != (w[0][0],):
        raise ShapeError(f"host op {op}: B has shape {bias[0]}, expected ({w[0][0]},)")
    return [(out, x[1])]


def _conv_integer(op, specs, attrs, values):
    x, w = _need(op, specs, 0), _need(op, specs, 1)
    _want_dtype(op, "x", x[1], Q8)
    _want_dtype(op, "w", w[1], Q8)
    out, _ = conv_geometry(op, x[0], w[0], attrs)
    xzp, wzp = _opt(specs, 2), _opt(specs, 3)
    if xzp is not None and xzp[0] not in ((), (1,)):
        raise ShapeError(f"host op {op}: x_zero_point must be a scalar, got shape {xzp[0]}")
    _zp_rows(op, "w_zero_point", wzp, w[0], 0)
    return [(out, "int32")]


def _qlinear_conv(op, specs, attrs, values):
    x, w = _need(op, specs, 0), _need(op, specs, 3)
    _want_dtype(op, "x", x[1], Q8)
    _want_dtype(op, "w", w[1], Q8)
    out, _ = conv_geometry(op, x[0], w[0], attrs)
    for i, what in ((1, "x_scale"), (2, "x_zero_point"), (6, "y_scale"), (7, "y_zero_point")):
        s = _need(op, specs, i)
        if s[0] not in ((), (1,)):
            raise ShapeError(f"host op {op}: {what} must be a scalar, got shape {s[0]}")
    for i, what in ((4, "w_scale"), (5, "w_zero_point")):
        _zp_rows(op, what, _need(op, specs, i), w[0], 0)
    bias = _opt(specs, 8)
    if bias is not None and (bias[0] != (w[0][0],) or bias[1] != "int32"):
        raise ShapeError(f"host op {op}: B must be int32 of shape ({w[0][0]},), got {bias}")
    yzp = _need(op, specs, 7)
    _want_dtype(op, "y_zero_point", yzp[1], Q8)
    return [(out, yzp[1])]


def _shape_arg(op: str, values: Sequence[Any], i: int, what: str) -> list[int]:
    v = _value(op, values, i, what)
    if v is None:
        raise ShapeError(f"host op {op}: the value of input {i} ({what}) must be known at compile time "
                         f"(a constant or initializer)")
    return [int(t) for t in v.reshape(-1)]


def _reshape(op, specs, attrs, values):
    x = _need(op, specs, 0)
    target = _shape_arg(op, values, 1, "shape")
    n = math.prod(x[0])
    out = []
    for i, t in enumerate(target):
        if t == 0 and not attrs["allowzero"]:
            if i >= len(x[0]):
                raise ShapeError(f"host op {op}: shape {target} copies dim {i}, but the input is {x[0]}")
            out.append(x[0][i])
        else:
            out.append(t)
    if out.count(-1) > 1 or any(t < -1 for t in out):
        raise ShapeError(f"host op {op}: shape {target} is invalid (at most one -1, no other negatives)")
    if -1 in out:
        known = math.prod(t for t in out if t != -1)
        if known == 0 or n % known:
            raise ShapeError(f"host op {op}: cannot reshape {x[0]} to {target}")
        out[out.index(-1)] = n // known
    if math.prod(out) != n:
        raise ShapeError(f"host op {op}: cannot reshape {x[0]} ({n} elements) to {target}")
    return [(tuple(out), x[1])]


def _flatten(op, specs, attrs, values):
    x = _need(op, specs, 0)
    r = len(x[0])
    axis = int(attrs["axis"])
    if not -r <= axis <= r:
        raise ShapeError(f"host op {op}: axis {axis} is out of range for a rank-{r} input")
    axis = axis + r if axis < 0 else axis
    return [((math.prod(x[0][:axis]), math.prod(x[0][axis:])), x[1])]


def _transpose(op, specs, attrs, values):
    x = _need(op, specs, 0)
    perm = attrs.get("perm")
    perm = list(range(len(x[0])))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(len(x[0]))):
        raise ShapeError(f"host op {op}: perm {perm} is not a permutation of the input's {len(x[0])} axes")
    return [(tuple(x[0][p] for p in perm), x[1])]


def _squeeze(op, specs, attrs, values):
    x = _need(op, specs, 0)
    r = len(x[0])
    if _opt(specs, 1) is None:
        return [(tuple(d for d in x[0] if d != 1), x[1])]
    axes = {_axis(op, a, r) for a in _shape_arg(op, values, 1, "axes")}
    for a in axes:
        if x[0][a] != 1:
            raise ShapeError(f"host op {op}: axis {a} of {x[0]} is not 1")
    return [(tuple(d for i, d in enumerate(x[0]) if i not in axes), x[1])]


def _unsqueeze(op, specs, attrs, values):
    x = _need(op, specs, 0)
    axes = _shape_arg(op, values, 1, "axes")
    r = len(x[0]) + len(axes)
    norm = sorted(_axis(op, a, r) for a in axes)
    if len(set(norm)) != len(norm):
        raise ShapeError(f"host op {op}: axes {axes} repeat an axis")
    out, it = [], iter(x[0])
    for i in range(r):
        out.append(1 if i in norm else next(it))
    return [(tuple(out), x[1])]


def _concat(op, specs, attrs, values):
    ins = [_need(op, specs, i) for i in range(len(specs))]
    r = len(ins[0][0])
    axis = _axis(op, int(attrs["axis"]), r)
    for s in ins[1:]:
        if s[1] != ins[0][1] or len(s[0]) != r or any(
                s[0][i] != ins[0][0][i] for i in range(r) if i != axis):
            raise ShapeError(f"host op {op}: inputs {[s for s in ins]} differ outside axis {axis}")
    out = list(ins[0][0])
    out[axis] = sum(s[0][axis] for s in ins)
    return [(tuple(out), ins[0][1])]


def _cast(op, specs, attrs, values):
    x = _need(op, specs, 0)
    to = dtype_name(attrs["to"])
    _want_dtype(op, "input", x[1], (*FLOATS, *INTS, "bool"))
    _want_dtype(op, "to", to, (*FLOATS, *INTS, "bool"))
    return [(x[0], to)]


def _pool(op, specs, attrs, values):
    x = _need(op, specs, 0)
    if len(x[0]) != 4:
        raise ShapeError(f"host op {op}: only 2-D pools on NCHW inputs are host ops; got {x[0]}")
    allowed = ("float32", "float64", "int8", "uint8") if op == "MaxPool" else ("float32", "float64")
    _want_dtype(op, "X", x[1], allowed)
    sp, _ = window_geometry(op, x[0][2:], attrs)
    return [((*x[0][:2], *sp), x[1])]


def _global_pool(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "X", x[1], ("float32", "float64"))
    if len(x[0]) < 3:
        raise ShapeError(f"host op {op}: needs N, C and spatial dims, got {x[0]}")
    return [((*x[0][:2], *([1] * (len(x[0]) - 2))), x[1])]


def _qlinear_binary(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 3)
    _want_dtype(op, "A", a[1], Q8)
    if b[1] != a[1]:
        raise DtypeError(f"host op {op}: A is {a[1]} and B is {b[1]}; they must match")
    for i, what in ((1, "A_scale"), (2, "A_zero_point"), (4, "B_scale"), (5, "B_zero_point"),
                    (6, "C_scale"), (7, "C_zero_point")):
        s = _opt(specs, i)
        if s is None and i in (1, 4, 6):
            raise ShapeError(f"host op {op}: {what} is required")
        if s is not None and s[0] not in ((), (1,)):
            raise ShapeError(f"host op {op}: {what} must be a scalar, got shape {s[0]}")
    return [(broadcast(op, a[0], b[0]), a[1])]


def _qgemm(op, specs, attrs, values):
    a, b = _need(op, specs, 0), _need(op, specs, 3)
    _want_dtype(op, "A", a[1], Q8)
    _want_dtype(op, "B", b[1], Q8)
    if len(a[0]) != 2 or len(b[0]) != 2:
        raise ShapeError(f"host op {op}: A and B must be 2-D (got {a[0]} and {b[0]})")
    m, k = a[0][::-1] if attrs["transA"] else a[0]
    k2, n = b[0][::-1] if attrs["transB"] else b[0]
    if k != k2:
        raise ShapeError(f"host op {op}: op(A) is {m}x{k} and op(B) is {k2}x{n}")
    for i, what in ((1, "a_scale"), (2, "a_zero_point")):
        s = _need(op, specs, i)
        if s[0] not in ((), (1,)):
            raise ShapeError(f"host op {op}: {what} must be a scalar, got shape {s[0]}")
    for i, what in ((4, "b_scale"), (5, "b_zero_point")):
        s = _need(op, specs, i)
        if s[0] not in ((), (1,), (n,)):
            raise ShapeError(f"host op {op}: {what} must be a scalar or 1-D of length {n}, got shape {s[0]}")
    c = _opt(specs, 6)
    if c is not None and (c[1] != "int32" or broadcast(op, c[0], (m, n)) != (m, n)):
        raise ShapeError(f"host op {op}: C must be int32 and broadcast to ({m}, {n}), got {c}")
    ysc, yzp = _opt(specs, 7), _opt(specs, 8)
    if ysc is None:
        if yzp is not None:
            raise ShapeError(f"host op {op}: y_zero_point given without y_scale")
        return [((m, n), "float32")]
    out = yzp[1] if yzp is not None else "uint8"
    _want_dtype(op, "y_zero_point", out, Q8)
    return [((m, n), out)]


def _qlinear_gap(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "X", x[1], Q8)
    if len(x[0]) != 4:
        raise ShapeError(f"host op {op}: needs a 4-D input, got {x[0]}")
    if attrs["channels_last"]:
        return [((x[0][0], 1, 1, x[0][3]), x[1])]
    return [((*x[0][:2], 1, 1), x[1])]


def _argmax(op, specs, attrs, values):
    x = _need(op, specs, 0)
    r = len(x[0])
    axis = _axis(op, int(attrs["axis"]), r)
    if x[0][axis] == 0:
        raise ShapeError(f"host op {op}: axis {axis} of {x[0]} is empty")
    out = list(x[0])
    if attrs["keepdims"]:
        out[axis] = 1
    else:
        del out[axis]
    return [(tuple(out), "int64")]


def _shape(op, specs, attrs, values):
    x = _need(op, specs, 0)
    start = int(attrs["start"])
    end = attrs.get("end")
    sl = x[0][slice(start, None if end is None else int(end))]
    return [((len(sl),), "int64")]


def _gather(op, specs, attrs, values):
    x, idx = _need(op, specs, 0), _need(op, specs, 1)
    _want_dtype(op, "indices", idx[1], ("int32", "int64"))
    axis = _axis(op, int(attrs["axis"]), len(x[0]))
    return [((*x[0][:axis], *idx[0], *x[0][axis + 1:]), x[1])]


def _requantize(op, specs, attrs, values):
    acc = _need(op, specs, 0)
    _want_dtype(op, "input", acc[1], ("int32",))
    if not acc[0]:
        raise ShapeError(f"host op {op}: the accumulator must have rank >= 1")
    n = acc[0][-1]
    sc = np.asarray(attrs["scale"], dtype=np.float64).reshape(-1)
    if sc.size not in (1, n):
        raise ShapeError(f"host op {op}: scale has {sc.size} values; need 1 or {n} (one per column)")
    bias = _opt(specs, 1)
    if bias is not None and (bias[1] != "int32" or bias[0] not in ((n,), (1,), ())):
        raise ShapeError(f"host op {op}: bias must be int32 of shape ({n},), got {bias}")
    return [(acc[0], dtype_name(attrs["out_dtype"]))]


def _im2col(op, specs, attrs, values):
    x = _need(op, specs, 0)
    _want_dtype(op, "X", x[1], ("int8", "uint8", "float32", "float64"))
    if len(x[0]) != 4:
        raise ShapeError(f"host op {op}: X must be NCHW, got {x[0]}")
    k = [int(v) for v in attrs["kernel_shape"]]
    (oh, ow), _ = window_geometry(op, x[0][2:], attrs)
    return [((x[0][0] * oh * ow, x[0][1] * k[0] * k[1]), x[1])]


def _rows_to_nchw(op, specs, attrs, values):
    x = _need(op, specs, 0)
    n, oh, ow = (int(attrs[a]) for a in ("n", "oh", "ow"))
    if len(x[0]) != 2 or x[0][0] != n * oh * ow:
        raise ShapeError(f"host op {op}: input {x[0]} is not [n*oh*ow, O] = [{n * oh * ow}, O]")
    return [((n, x[0][1], oh, ow), x[1])]


# ----------------------------------------------------------------------------- attribute checks
_AUTO_PAD = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def _v_window(op: str) -> Callable[[dict[str, Any]], None]:
    def check_attrs(a: dict[str, Any]) -> None:
        if a.get("auto_pad", "NOTSET") not in _AUTO_PAD:
            raise _err(op, f"attribute auto_pad={a['auto_pad']!r} is not one of {_AUTO_PAD}")
        if "group" in a and int(a["group"]) < 1:
            raise _err(op, f"attribute group={a['group']} must be >= 1")
        if int(a.get("storage_order", 0)) != 0:
            raise _err(op, "attribute storage_order=1 (column-major indices) is not supported; use 0")
    return check_attrs


def _v_quant(op: str) -> Callable[[dict[str, Any]], None]:
    def check_attrs(a: dict[str, Any]) -> None:
        if int(a.get("block_size", 0)) != 0:
            raise _err(op, f"attribute block_size={a['block_size']} (blocked quantization) is not supported; "
                           "use per-tensor or per-axis parameters")
        if int(a.get("saturate", 1)) != 1:
            raise _err(op, "attribute saturate=0 only applies to float8 outputs, which are not supported")
        od = a.get("output_dtype", 0)
        allowed = ("float32",) if op == "DequantizeLinear" else tuple(QUANT_RANGES)
        if od and dtype_name(od) not in allowed:
            raise _err(op, f"attribute output_dtype={od} is not supported ({', '.join(allowed)})")
    return check_attrs


def _v_requant(a: dict[str, Any]) -> None:
    od = dtype_name(a["out_dtype"])
    if od not in Q8:
        raise _err("accel.Requantize", f"attribute out_dtype={a['out_dtype']!r} must be int8 or uint8")
    lo, hi = QUANT_RANGES[od]
    clo = lo if a.get("lo") is None else int(a["lo"])
    chi = hi if a.get("hi") is None else int(a["hi"])
    if not lo <= clo <= chi <= hi:
        raise _err("accel.Requantize", f"clamp [{clo}, {chi}] must lie inside {od}'s range [{lo}, {hi}]")
    if not lo <= int(a["zero_point"]) <= hi:
        raise _err("accel.Requantize", f"zero_point={a['zero_point']} is outside {od}'s range")
    sc = np.asarray(a["scale"], dtype=np.float64).reshape(-1)
    if sc.size == 0 or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
        raise _err("accel.Requantize", f"scale must be finite and > 0 (got {a['scale']!r})")


def _v_im2col(a: dict[str, Any]) -> None:
    k = a["kernel_shape"]
    if not isinstance(k, (list, tuple)) or len(k) != 2:
        raise _err("accel.Im2Col", f"attribute kernel_shape={k!r} must be [KH, KW]")
    _v_window("accel.Im2Col")(a)


def _v_cast(a: dict[str, Any]) -> None:
    try:
        dtype_name(a["to"])
    except DtypeError as exc:
        raise _err("Cast", f"attribute to={a['to']!r}: {exc}") from exc
    if int(a.get("saturate", 1)) != 1:
        raise _err("Cast", "attribute saturate=0 only applies to float8 outputs, which are not supported")


def _v_argmax(a: dict[str, Any]) -> None:
    if int(a["keepdims"]) not in (0, 1) or int(a["select_last_index"]) not in (0, 1):
        raise _err("ArgMax", "attributes keepdims and select_last_index must be 0 or 1")


def _v_gemm(a: dict[str, Any]) -> None:
    if int(a["transA"]) not in (0, 1) or int(a["transB"]) not in (0, 1):
        raise _err("Gemm", "attributes transA and transB must be 0 or 1")
    float(a["alpha"])


def _v_softmax(a: dict[str, Any]) -> None:
    int(a["axis"])


# ----------------------------------------------------------------------------- the table
_WIN = {"auto_pad": "NOTSET", "kernel_shape": None, "pads": None, "strides": None, "dilations": None}
_CONV = {**_WIN, "group": 1}
_POOL = {**_WIN, "kernel_shape": REQUIRED, "ceil_mode": 0}
_Q = {"axis": 1, "saturate": 1, "block_size": 0, "output_dtype": 0}


def _spec(name, lo, hi, nout, attrs, doc, dtypes, infer, validate=None) -> HostOpSpec:
    return HostOpSpec(name, lo, hi, nout, dict(attrs), doc, dtypes, infer, validate)


def _table() -> dict[str, HostOpSpec]:
    s = _spec
    ops = [
        s("QuantizeLinear", 2, 3, 1, _Q, "y = saturate(round_half_even(x / y_scale) + y_zero_point), "
          "per tensor or per axis", "float32 -> int8/uint8/int16/uint16", _quantize, _v_quant("QuantizeLinear")),
        s("DequantizeLinear", 2, 3, 1, {"axis": 1, "block_size": 0, "output_dtype": 0},
          "y = float32(x - x_zero_point) * x_scale, per tensor or per axis",
          "int8/uint8/int16/uint16/int32 -> float32", _dequantize, _v_quant("DequantizeLinear")),
        s("DynamicQuantizeLinear", 1, 1, 3, {}, "uint8 quantization with a scale/zero point from x's range "
          "(which is widened to include 0)", "float32 -> uint8, float32, uint8", _dynquant),
        s("MatMulInteger", 2, 4, 1, {}, "int32 (A - a_zero_point) @ (B - b_zero_point), numpy batch "
          "broadcasting (CPU fallback)", "int8/uint8 -> int32", _matmul_integer),
        s("QLinearMatMul", 8, 8, 1, {}, "quantized matmul requantized like onnxruntime "
          "(scale a_scale*b_scale/y_scale per tensor or per column; CPU fallback)",
          "int8/uint8 -> int8/uint8", _qlinear_matmul),
        s("ConvInteger", 2, 4, 1, _CONV, "int32 convolution of (x - x_zero_point) and (w - w_zero_point) "
          "via im2col (CPU fallback)", "int8/uint8 -> int32", _conv_integer, _v_window("ConvInteger")),
        s("QLinearConv", 8, 9, 1, _CONV, "quantized convolution + int32 bias, requantized like onnxruntime "
          "(per-channel w_scale allowed; CPU fallback)", "int8/uint8 -> int8/uint8", _qlinear_conv,
          _v_window("QLinearConv")),
        s("MatMul", 2, 2, 1, {}, "numpy.matmul semantics (float CPU fallback)", "float32/float64/int32/int64",
          _matmul),
        s("Gemm", 2, 3, 1, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0},
          "alpha * op(A) @ op(B) + beta * C, C broadcast to (M, N)", "float32/float64", _gemm, _v_gemm),
        s("Conv", 2, 3, 1, _CONV, "float convolution via im2col (CPU fallback)", "float32/float64", _conv,
          _v_window("Conv")),
        s("Add", 2, 2, 1, {}, "A + B with broadcasting (integers wrap)", "float, int8..int64", _binary),
        s("Sub", 2, 2, 1, {}, "A - B with broadcasting (integers wrap)", "float, int8..int64", _binary),
        s("Mul", 2, 2, 1, {}, "A * B with broadcasting (integers wrap)", "float, int8..int64", _binary),
        s("Div", 2, 2, 1, {}, "A / B with broadcasting (integers truncate toward zero)", "float, int8..int64",
          _binary),
        s("Relu", 1, 1, 1, {}, "max(x, 0)", "float, signed ints", _relu),
        s("Clip", 1, 3, 1, {}, "min(max(x, min), max); min/max optional scalar inputs", "float, ints", _clip),
        s("Sigmoid", 1, 1, 1, {}, "1 / (1 + exp(-x))", "float", _float_unary),
        s("Tanh", 1, 1, 1, {}, "tanh(x)", "float", _float_unary),
        s("Softmax", 1, 1, 1, {"axis": -1}, "exp(x - max) / sum(exp(x - max)) along axis (opset 13)",
          "float", _softmax, _v_softmax),
        s("Reshape", 2, 2, 1, {"allowzero": 0}, "reshape to a compile-time shape (0 copies a dim, -1 infers)",
          "any", _reshape),
        s("Flatten", 1, 1, 1, {"axis": 1}, "reshape to 2-D at axis", "any", _flatten),
        s("Transpose", 1, 1, 1, {"perm": None}, "permute axes (default: reverse)", "any", _transpose),
        s("Squeeze", 1, 2, 1, {}, "remove size-1 axes (compile-time axes input, opset 13)", "any", _squeeze),
        s("Unsqueeze", 2, 2, 1, {}, "insert size-1 axes (compile-time axes input, opset 13)", "any", _unsqueeze),
        s("Concat", 1, 64, 1, {"axis": REQUIRED}, "concatenate along axis", "any", _concat),
        s("Cast", 1, 1, 1, {"to": REQUIRED, "saturate": 1}, "convert the element type (float -> int "
          "truncates toward zero; out-of-range values are undefined, as in ONNX)", "float, ints, bool",
          _cast, _v_cast),
        s("Identity", 1, 1, 1, {}, "copy", "any", _same),
        s("MaxPool", 1, 1, 1, {**_POOL, "storage_order": 0}, "2-D max pool (pads never win)",
          "float, int8/uint8", _pool, _v_window("MaxPool")),
        s("AveragePool", 1, 1, 1, {**_POOL, "count_include_pad": 0}, "2-D average pool", "float", _pool,
          _v_window("AveragePool")),
        s("GlobalAveragePool", 1, 1, 1, {}, "mean over all spatial axes", "float", _global_pool),
        s("com.microsoft.QLinearAdd", 7, 8, 1, {}, "quantized A + B with broadcasting (onnxruntime contrib op)",
          "int8/uint8", _qlinear_binary),
        s("com.microsoft.QLinearMul", 7, 8, 1, {}, "quantized A * B with broadcasting (onnxruntime contrib op)",
          "int8/uint8", _qlinear_binary),
        s("com.microsoft.QGemm", 6, 9, 1, {"alpha": 1.0, "transA": 0, "transB": 0},
          "quantized Gemm (onnxruntime contrib op): int32 op(A - a_zp) @ op(B - b_zp) + C, then float32 "
          "(alpha*a_scale*b_scale per column) or requantized to y_scale/y_zero_point", "int8/uint8 -> float32 "
          "or int8/uint8", _qgemm, _v_gemm),
        s("com.microsoft.QLinearGlobalAveragePool", 5, 5, 1, {"channels_last": 0},
          "quantized global average pool (onnxruntime contrib op)", "int8/uint8", _qlinear_gap),
        s("ArgMax", 1, 1, 1, {"axis": 0, "keepdims": 1, "select_last_index": 0}, "index of the maximum",
          "float, ints -> int64", _argmax, _v_argmax),
        s("Shape", 1, 1, 1, {"start": 0, "end": None}, "the input's shape as int64 (opset 15 start/end)",
          "any -> int64", _shape),
        s("Gather", 2, 2, 1, {"axis": 0}, "numpy.take along axis (negative indices count from the end)",
          "any, int32/int64 indices", _gather),
        s("accel.Requantize", 1, 2, 1, {"scale": REQUIRED, "zero_point": 0, "lo": None, "hi": None,
                                        "out_dtype": "int8"},
          "the epilogue on the CPU: (acc + bias) -> clamp(round_half_even(float32 * scale), lo-zp, hi-zp) + zp "
          "(accel.contract.epilogue.requantize)", "int32 -> int8/uint8", _requantize, _v_requant),
        s("accel.Im2Col", 1, 1, 1, {**_WIN, "kernel_shape": REQUIRED, "pad_value": 0},
          "NCHW -> [N*OH*OW, C*KH*KW] patches, columns ordered (c, kh, kw), padding filled with pad_value",
          "int8/uint8/float", _im2col, _v_im2col),
        s("accel.RowsToNCHW", 1, 1, 1, {"n": REQUIRED, "oh": REQUIRED, "ow": REQUIRED},
          "[N*OH*OW, O] rows (a conv's matmul output) -> NCHW", "any", _rows_to_nchw),
    ]
    return {o.name: o for o in ops}


class _LazyTable(Mapping[str, HostOpSpec]):
    """The op table, built on first use (no work at import)."""

    _ops: dict[str, HostOpSpec] | None = None

    def _get(self) -> dict[str, HostOpSpec]:
        if _LazyTable._ops is None:
            _LazyTable._ops = _table()
        return _LazyTable._ops

    def __getitem__(self, key: str) -> HostOpSpec:
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


#: op name -> its spec.
HOST_OPS: Mapping[str, HostOpSpec] = _LazyTable()


def qualified_name(domain: str, op_type: str) -> str:
    """The host-op name of an ONNX node: its op type, prefixed by its domain unless that is the
    default one ("" or "ai.onnx"), e.g. ``com.microsoft.QLinearAdd``."""
    return op_type if domain in ("", "ai.onnx") else f"{domain}.{op_type}"


def supported() -> list[str]:
    """Every host op name, sorted."""
    return sorted(HOST_OPS)


def spec_of(op: str) -> HostOpSpec:
    """The spec of ``op``; a ProgramError listing the supported ops when there is none."""
    if op not in HOST_OPS:
        raise ProgramError(f"host op {op!r} is not supported on the CPU; supported host ops: "
                           f"{', '.join(supported())}")
    return HOST_OPS[op]


def resolved_attrs(op: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``attrs`` with the op's defaults filled in (after :func:`check`)."""
    sp = spec_of(op)
    out = {k: v for k, v in sp.attrs.items() if v is not REQUIRED}
    out.update(attrs)
    return out


def check(op: str, n_inputs: int, attrs: Mapping[str, Any], n_outputs: int | None = None) -> None:
    """Refuse an op the CPU cannot run as given: unknown op, input/output count, unknown or missing
    attribute, unsupported attribute value (ProgramError naming the op and the attribute)."""
    sp = spec_of(op)
    if not sp.min_inputs <= n_inputs <= sp.max_inputs:
        want = sp.min_inputs if sp.min_inputs == sp.max_inputs else f"{sp.min_inputs}..{sp.max_inputs}"
        raise _err(op, f"takes {want} inputs (optional ones may be empty), got {n_inputs}")
    if n_outputs is not None and n_outputs != sp.n_outputs:
        raise _err(op, f"produces {sp.n_outputs} output(s) here, got {n_outputs} (optional outputs such as "
                       "MaxPool's Indices are not supported)")
    unknown = sorted(set(attrs) - set(sp.attrs))
    if unknown:
        raise _err(op, f"attribute(s) {', '.join(unknown)} not supported; known: {', '.join(sp.attrs) or 'none'}")
    missing = [k for k, v in sp.attrs.items() if v is REQUIRED and attrs.get(k) is None]
    if missing:
        raise _err(op, f"required attribute(s) {', '.join(missing)} missing")
    if sp.validate is not None:
        try:
            sp.validate(resolved_attrs(op, attrs))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ProgramError):
                raise
            raise _err(op, f"bad attribute value: {exc}") from exc


def output_specs(op: str, input_specs: Sequence[TensorSpec | None], attrs: Mapping[str, Any],
                 values: Sequence[Any] | None = None) -> list[TensorSpec]:
    """(shape, dtype) of each output. ``input_specs[i]`` is (shape, dtype) or None for an absent
    optional input; ``values[i]`` is input i's value where known (needed for Reshape's shape,
    Squeeze/Unsqueeze's axes). Raises ShapeError/DtypeError for inputs the op cannot take."""
    check(op, len(input_specs), attrs)
    sp = HOST_OPS[op]
    return sp.infer(op, list(input_specs), resolved_attrs(op, attrs), list(values or []))


def cost(op: str, input_specs: Sequence[TensorSpec | None], attrs: Mapping[str, Any],
         values: Sequence[Any] | None = None) -> dict[str, int]:
    """The work of one host step: bytes read (all inputs), bytes written (all outputs), output
    elements, and multiply-accumulates for the matmul/conv fallbacks (0 otherwise)."""
    outs = output_specs(op, input_specs, attrs, values)

    def nbytes(s: TensorSpec) -> int:
        return math.prod(s[0]) * np.dtype(s[1]).itemsize

    read = sum(nbytes(_need(op, input_specs, i)) for i in range(len(input_specs)) if input_specs[i] is not None)
    macs = 0
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul", "Gemm", "com.microsoft.QGemm"):
        a = _need(op, input_specs, 0)[0]
        k = a[0] if op in ("Gemm", "com.microsoft.QGemm") and resolved_attrs(op, attrs)["transA"] else a[-1]
        macs = math.prod(outs[0][0]) * k
    elif op in ("Conv", "ConvInteger", "QLinearConv"):
        w = _need(op, input_specs, 3 if op == "QLinearConv" else 1)[0]
        macs = math.prod(outs[0][0]) * math.prod(w[1:])
    return {"bytes_read": read, "bytes_written": sum(nbytes(s) for s in outs),
            "elements": sum(math.prod(s[0]) for s in outs), "macs": macs}
