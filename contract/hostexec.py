"""The host operations' computations, implemented once, with numpy only (what the board's CPU runs).

They live in the contract, below both rooms, so the compiler's constant folding
(``accel-onnx-partition`` evaluating host ops whose inputs are all weights) computes exactly
what the board would; the runtime runs them through :mod:`accel.runtime.hostops`.

The op set, its attributes and its shape/dtype inference are the contract's
(:mod:`accel.contract.hostops`, documented in docs/host_ops.md); this module only computes.
:func:`run` writes every result INTO the output arrays it is given: they are views into the
program's CMA arena, planned at compile time, so a host step never hands back a buffer the
caller would have to copy. Inputs are never modified. Internal temporaries (an im2col matrix,
an int64 accumulator) are numpy scratch that lives for one call.

Rounding follows onnxruntime's CPU kernels (MLAS), so integer outputs equal onnxruntime's bit for
bit: QuantizeLinear divides in float32, rounds half to even and saturates; QLinearMatMul /
QLinearConv requantize through :func:`accel.contract.epilogue.requantize` (the one definition of
that arithmetic). Integer matmuls accumulate in float64 (every partial sum of int8/uint8 products
is an integer below 2**53 for any K under 2**37, so this is exact and uses BLAS) and wrap to int32.
Float matmul/conv/transcendental results match onnxruntime to float32 rounding (their summation
order differs), not bit for bit; docs/host_ops.md lists the tolerances.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from accel.contract import epilogue
from accel.contract.hostops import (
    QUANT_RANGES,
    check,
    conv_geometry,
    dtype_name,
    output_specs,
    resolved_attrs,
    window_geometry,
)
from accel.errors import DtypeError, ShapeError

Arrays = Sequence[np.ndarray | None]


def run(op: str, inputs: Arrays, attrs: Mapping[str, Any], outputs: Sequence[np.ndarray]) -> None:
    """Compute host op ``op`` on ``inputs`` (None for an absent optional input) into ``outputs``.

    The outputs' shapes and dtypes must be exactly what :func:`accel.contract.hostops.output_specs`
    infers (ShapeError/DtypeError otherwise): the compiler planned them, the runtime checks."""
    check(op, len(inputs), attrs, len(outputs))
    for i, x in enumerate(inputs):
        if x is not None and not isinstance(x, np.ndarray):
            raise DtypeError(f"host op {op}: input {i} is a {type(x).__name__}, not a numpy array")
    specs = [None if x is None else (tuple(x.shape), x.dtype.name) for x in inputs]
    want = output_specs(op, specs, attrs, values=inputs)
    for i, (o, (shape, dt)) in enumerate(zip(outputs, want, strict=True)):
        if not isinstance(o, np.ndarray):
            raise DtypeError(f"host op {op}: output {i} must be a numpy array (a view into the arena)")
        if tuple(o.shape) != tuple(shape):
            raise ShapeError(f"host op {op}: output {i} has shape {tuple(o.shape)}; the op produces {tuple(shape)}")
        if o.dtype.name != dt:
            raise DtypeError(f"host op {op}: output {i} has dtype {o.dtype.name}; the op produces {dt}")
    _IMPL[op](list(inputs), resolved_attrs(op, attrs), list(outputs))


# ----------------------------------------------------------------------------- shared pieces
def _store(out: np.ndarray, value: Any) -> None:
    np.copyto(out, value, casting="unsafe")


def _per_axis(p: np.ndarray | None, ndim: int, axis: int, default: float = 0.0) -> np.ndarray:
    """A scalar or 1-D quantization parameter shaped to broadcast along ``axis`` of an ndim array."""
    if p is None:
        return np.asarray(default)
    p = np.asarray(p)
    if p.ndim == 0 or p.size == 1:
        return p.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = p.size
    return p.reshape(shape)


def quantize(x: np.ndarray, scale: Any, zero_point: Any, dtype: str) -> np.ndarray:
    """``saturate(round_half_even(x / scale) + zero_point)`` in float32 (MLAS's order: divide,
    round, add the zero point, clamp); ``scale``/``zero_point`` already broadcastable to x."""
    lo, hi = QUANT_RANGES[dtype]
    q = np.rint(np.asarray(x, dtype=np.float32) / np.asarray(scale, dtype=np.float32))
    q = q + np.asarray(zero_point, dtype=np.float32)
    return np.clip(q, np.float32(lo), np.float32(hi)).astype(dtype)


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer matmul (numpy broadcasting) wrapped to int32; inputs hold small integers
    (zero points already subtracted). float64 BLAS is exact here: see the module docstring."""
    acc = np.matmul(a.astype(np.float64), b.astype(np.float64))
    return acc.astype(np.int64).astype(np.int32)


def im2col(x: np.ndarray, attrs: Mapping[str, Any], out: np.ndarray | None = None,
           kernel: Sequence[int] | None = None, pad_value: Any = 0) -> np.ndarray:
    """NCHW ``x`` -> [N*OH*OW, C*KH*KW] patches, columns ordered (c, kh, kw) (a weight reshaped
    OIHW -> [O, C*KH*KW] is the matching row), written into ``out`` when given."""
    n, c, h, w = x.shape
    k = [int(v) for v in (kernel if kernel is not None else attrs["kernel_shape"])]
    (oh, ow), pads = window_geometry("accel.Im2Col", (h, w), attrs, kernel=k)
    s = [int(v) for v in (attrs.get("strides") or [1, 1])]
    d = [int(v) for v in (attrs.get("dilations") or [1, 1])]
    # pad enough for every window (the last one may reach past the end padding when it is uneven)
    need_h = (oh - 1) * s[0] + (k[0] - 1) * d[0] + 1
    need_w = (ow - 1) * s[1] + (k[1] - 1) * d[1] + 1
    xp = np.full((n, c, max(need_h, pads[0] + h), max(need_w, pads[1] + w)), pad_value, dtype=x.dtype)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
    if out is None:
        out = np.empty((n * oh * ow, c * k[0] * k[1]), dtype=x.dtype)
    view = out.reshape(n, oh, ow, c, k[0], k[1])
    for i in range(k[0]):
        for j in range(k[1]):
            win = xp[:, :, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0], j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]]
            view[:, :, :, :, i, j] = win.transpose(0, 2, 3, 1)
    return out


def rows_to_nchw(rows: np.ndarray, n: int, oh: int, ow: int) -> np.ndarray:
    """[N*OH*OW, O] -> [N, O, OH, OW] (a view; copy it where a contiguous result is needed)."""
    return rows.reshape(n, oh, ow, rows.shape[1]).transpose(0, 3, 1, 2)


def _conv_rows(x: np.ndarray, w: np.ndarray, attrs: Mapping[str, Any], *, x_pad: Any,
               dtype: Any) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Convolution as im2col + matmul per group: ([N*OH*OW, O] rows, (n, oh, ow)). ``x``/``w``
    are already in the compute dtype with zero points subtracted, except padding, which is ``x_pad``."""
    out_shape, _ = conv_geometry("Conv", x.shape, w.shape, attrs)
    n, o, oh, ow = out_shape
    g = int(attrs.get("group", 1))
    kk = w.shape[1] * w.shape[2] * w.shape[3]
    cols = im2col(x, attrs, kernel=w.shape[2:], pad_value=x_pad)
    rows = np.empty((n * oh * ow, o), dtype=dtype)
    og = o // g
    for gi in range(g):
        wg = w[gi * og:(gi + 1) * og].reshape(og, kk).astype(dtype)
        rows[:, gi * og:(gi + 1) * og] = cols[:, gi * kk:(gi + 1) * kk].astype(dtype) @ wg.T
    return rows, (n, oh, ow)


def _scalar(v: np.ndarray | None, default: Any = 0) -> Any:
    return default if v is None else np.asarray(v).reshape(-1)[0]


# ----------------------------------------------------------------------------- quantization
def _quantize_linear(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, sc, zp = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    dt = outs[0].dtype.name
    _store(outs[0], quantize(x, _per_axis(sc, x.ndim, a["axis"]), _per_axis(zp, x.ndim, a["axis"]), dt))


def _dequantize_linear(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, sc, zp = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    diff = x.astype(np.int32) - _per_axis(zp, x.ndim, a["axis"]).astype(np.int32)
    _store(outs[0], diff.astype(np.float32) * _per_axis(sc, x.ndim, a["axis"]).astype(np.float32))


def dynamic_qparams(x: np.ndarray) -> tuple[np.float32, np.uint8]:
    """ONNX DynamicQuantizeLinear's uint8 scale and zero point (float32 arithmetic, as onnxruntime):
    the range [min(0, min x), max(0, max x)] over 255 steps, zero point = round(saturate(-min/scale))."""
    lo = np.float32(min(0.0, float(x.min()))) if x.size else np.float32(0)
    hi = np.float32(max(0.0, float(x.max()))) if x.size else np.float32(0)
    scale = np.float32(1.0) if hi == lo else np.float32((hi - lo) / np.float32(255))
    zp = np.float32(0) - lo / scale
    return scale, np.uint8(np.rint(np.clip(zp, np.float32(0), np.float32(255))))


def _dynamic_quantize_linear(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    scale, zp = dynamic_qparams(ins[0])
    _store(outs[0], quantize(ins[0], scale, zp, "uint8"))
    outs[1][...] = scale
    outs[2][...] = zp


def _zp_sub(x: np.ndarray, zp: np.ndarray | None, axis: int) -> np.ndarray:
    """x - zp in float64 (exact), zp a scalar or 1-D along ``axis`` of x."""
    x64 = x.astype(np.float64)
    if zp is None:
        return x64
    z = np.asarray(zp).astype(np.float64)
    if z.size == 1:
        return x64 - z.reshape(())
    shape = [1] * x.ndim
    shape[axis] = z.size
    return x64 - z.reshape(shape)


def _matmul_integer(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    azp = ins[2] if len(ins) > 2 else None
    bzp = ins[3] if len(ins) > 3 else None
    av = _zp_sub(ins[0], azp, ins[0].ndim - 2)
    bv = _zp_sub(ins[1], bzp, ins[1].ndim - 1)
    _store(outs[0], int_matmul(av, bv))


def _qlinear_scale(in_scale: np.ndarray, w_scale: np.ndarray, out_scale: np.ndarray) -> np.ndarray:
    """onnxruntime's requantization multiplier in float32: in_scale * w_scale / out_scale."""
    m = np.float32(_scalar(in_scale)) * np.asarray(w_scale, dtype=np.float32).reshape(-1)
    return (m / np.float32(_scalar(out_scale))).astype(np.float32)


def _qlinear_matmul(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, xs, xz, w, ws, wz, ys, yz = ins[:8]
    acc = int_matmul(_zp_sub(x, xz, x.ndim - 2), _zp_sub(w, wz, w.ndim - 1))
    scale = _qlinear_scale(xs, ws, ys)
    _store(outs[0], epilogue.requantize(acc, scale if scale.size > 1 else scale[0], int(_scalar(yz)),
                                        outs[0].dtype.name))


def _conv_integer(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, w = ins[0], ins[1]
    xz = ins[2] if len(ins) > 2 else None
    wz = ins[3] if len(ins) > 3 else None
    xv = _zp_sub(x, xz, 1)
    rows, (n, oh, ow) = _conv_rows(xv, _zp_sub(w, wz, 0), a, x_pad=0.0, dtype=np.float64)
    _store(outs[0], rows_to_nchw(rows.astype(np.int64).astype(np.int32), n, oh, ow))


def _qlinear_conv(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, xs, xz, w, ws, wz, ys, yz = ins[:8]
    bias = ins[8] if len(ins) > 8 else None
    rows, (n, oh, ow) = _conv_rows(_zp_sub(x, xz, 1), _zp_sub(w, wz, 0), a, x_pad=0.0, dtype=np.float64)
    acc = rows.astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    scale = _qlinear_scale(xs, ws, ys)
    q = epilogue.requantize(acc.astype(np.int32), scale if scale.size > 1 else scale[0], int(_scalar(yz)),
                            outs[0].dtype.name)
    _store(outs[0], rows_to_nchw(q, n, oh, ow))


def _qlinear_binary(kind: str) -> Callable[[Arrays, dict[str, Any], list[np.ndarray]], None]:
    def impl(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
        av, asc, azp, bv, bsc, bzp, csc = ins[:7]
        czp = ins[7] if len(ins) > 7 else None
        fa = av.astype(np.int32) - np.int32(_scalar(azp))
        fb = bv.astype(np.int32) - np.int32(_scalar(bzp))
        cs = np.float32(_scalar(csc))
        if kind == "add":
            # MLAS QLinearAdd: each side scaled by its ratio to the output scale, in float32
            val = (fa.astype(np.float32) * (np.float32(_scalar(asc)) / cs)
                   + fb.astype(np.float32) * (np.float32(_scalar(bsc)) / cs))
        else:
            # MLAS QLinearMul: the product of the centred integers times one float32 multiplier
            m = np.float32(_scalar(asc)) * np.float32(_scalar(bsc)) / cs
            val = (fa.astype(np.float32) * fb.astype(np.float32)) * m
        _store(outs[0], quantize(val, np.float32(1), _scalar(czp), outs[0].dtype.name))
    return impl


def _qgemm(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, xs, xz, w, ws, wz = ins[:6]
    c = ins[6] if len(ins) > 6 else None
    ys = ins[7] if len(ins) > 7 else None
    yz = ins[8] if len(ins) > 8 else None
    av = _zp_sub(x, xz, 0)
    bv = _zp_sub(w, wz, 0 if a["transB"] else 1)  # b_zero_point runs along N
    acc = int_matmul(av.T if a["transA"] else av, bv.T if a["transB"] else bv)
    if c is not None:
        acc = (acc.astype(np.int64) + c.astype(np.int64)).astype(np.int32)
    # onnxruntime (qgemm.cc): multiplier alpha * a_scale * b_scale (per column) in float32
    mult = (np.float32(a["alpha"]) * np.float32(_scalar(xs))) * np.asarray(ws, dtype=np.float32).reshape(-1)
    if ys is None:
        _store(outs[0], acc.astype(np.float32) * mult.astype(np.float32))
        return
    scale = (mult / np.float32(_scalar(ys))).astype(np.float32)
    _store(outs[0], epilogue.requantize(acc, scale if scale.size > 1 else scale[0], int(_scalar(yz, 0)),
                                        outs[0].dtype.name))


def _qlinear_gap(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, xs, xz, ys, yz = ins[:5]
    axes = (1, 2) if a["channels_last"] else (2, 3)
    hw = x.shape[axes[0]] * x.shape[axes[1]]
    acc = x.astype(np.int64).sum(axis=axes, keepdims=True) - int(_scalar(xz)) * hw
    scale = np.float32(_scalar(xs)) / (np.float32(_scalar(ys)) * np.float32(hw))
    _store(outs[0], epilogue.requantize(acc.astype(np.int32), scale, int(_scalar(yz)), outs[0].dtype.name))


def _requantize(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    acc = ins[0]
    if len(ins) > 1 and ins[1] is not None:
        acc = (acc.astype(np.int64) + ins[1].astype(np.int64)).astype(np.int32)
    od = dtype_name(a["out_dtype"])
    lo, hi = QUANT_RANGES[od]
    clamp = (lo if a["lo"] is None else int(a["lo"]), hi if a["hi"] is None else int(a["hi"]))
    scale = np.asarray(a["scale"], dtype=np.float32).reshape(-1)
    _store(outs[0], epilogue.requantize(acc, scale if scale.size > 1 else scale[0], int(a["zero_point"]),
                                        od, clamp))


def _im2col(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    im2col(ins[0], a, out=outs[0], pad_value=np.asarray(a["pad_value"]).astype(ins[0].dtype))


def _rows_to_nchw(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    _store(outs[0], rows_to_nchw(ins[0], int(a["n"]), int(a["oh"]), int(a["ow"])))


# ----------------------------------------------------------------------------- float compute
def _matmul(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    _store(outs[0], np.matmul(ins[0], ins[1]))


def _gemm(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    am = ins[0].T if a["transA"] else ins[0]
    bm = ins[1].T if a["transB"] else ins[1]
    dt = outs[0].dtype
    y = am @ bm
    if float(a["alpha"]) != 1.0:
        y = y * dt.type(a["alpha"])
    c = ins[2] if len(ins) > 2 else None
    if c is not None and float(a["beta"]) != 0.0:
        y = y + (c if float(a["beta"]) == 1.0 else c * dt.type(a["beta"]))
    _store(outs[0], y)


def _conv(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, w = ins[0], ins[1]
    rows, (n, oh, ow) = _conv_rows(x, w, a, x_pad=0, dtype=x.dtype)
    if len(ins) > 2 and ins[2] is not None:
        rows += ins[2]
    _store(outs[0], rows_to_nchw(rows, n, oh, ow))


def _binary(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray], ufunc: np.ufunc) -> None:
    with np.errstate(over="ignore"):
        ufunc(ins[0], ins[1], out=outs[0])


def _div(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, y = ins[0], ins[1]
    if x.dtype.kind == "f":
        np.divide(x, y, out=outs[0])
        return
    # ONNX/onnxruntime integer division truncates toward zero (C++ '/'); numpy floors
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x64, y64 = x.astype(np.int64), y.astype(np.int64)
        q = np.where(y64 == 0, 0, np.abs(x64) // np.where(y64 == 0, 1, np.abs(y64)))
        _store(outs[0], np.where((x64 < 0) != (y64 < 0), -q, q))


def _relu(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    np.maximum(ins[0], ins[0].dtype.type(0), out=outs[0])


def _clip(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x = ins[0]
    lo = ins[1] if len(ins) > 1 else None
    hi = ins[2] if len(ins) > 2 else None
    y = x if lo is None else np.maximum(x, np.asarray(lo).reshape(()))
    y = y if hi is None else np.minimum(y, np.asarray(hi).reshape(()))
    _store(outs[0], y)


def _sigmoid(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x = ins[0]
    with np.errstate(over="ignore"):
        _store(outs[0], x.dtype.type(1) / (x.dtype.type(1) + np.exp(-x)))


def _tanh(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    np.tanh(ins[0], out=outs[0])


def _softmax(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x = ins[0]
    e = np.exp(x - x.max(axis=int(a["axis"]), keepdims=True))
    _store(outs[0], e / e.sum(axis=int(a["axis"]), keepdims=True))


# ----------------------------------------------------------------------------- data movement
def _copy_reshaped(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    _store(outs[0], ins[0].reshape(outs[0].shape))


def _transpose(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    perm = a.get("perm")
    _store(outs[0], ins[0].transpose(None if perm is None else [int(p) for p in perm]))


def _concat(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    np.concatenate(list(ins), axis=int(a["axis"]), out=outs[0])


def _cast(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    with np.errstate(invalid="ignore", over="ignore"):
        _store(outs[0], ins[0])


def _pool(kind: str) -> Callable[[Arrays, dict[str, Any], list[np.ndarray]], None]:
    def impl(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
        x = ins[0]
        n, c, h, w = x.shape
        (oh, ow), pads = window_geometry(kind, (h, w), a)
        k = [int(v) for v in a["kernel_shape"]]
        s = [int(v) for v in (a.get("strides") or [1, 1])]
        d = [int(v) for v in (a.get("dilations") or [1, 1])]
        need = ((oh - 1) * s[0] + (k[0] - 1) * d[0] + 1, (ow - 1) * s[1] + (k[1] - 1) * d[1] + 1)
        full = (max(need[0], pads[0] + h + pads[2]), max(need[1], pads[1] + w + pads[3]))
        if kind == "MaxPool":
            fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
            xp = np.full((n, c, *full), fill, dtype=x.dtype)
        else:
            xp = np.zeros((n, c, *full), dtype=x.dtype)
            # the divisor counts the input (and, with count_include_pad, its pads; never the
            # ceil_mode overhang beyond them), as onnxruntime's pool kernels do
            mask = np.zeros(full, dtype=np.int64)
            if a["count_include_pad"]:
                mask[:pads[0] + h + pads[2], :pads[1] + w + pads[3]] = 1
            else:
                mask[pads[0]:pads[0] + h, pads[1]:pads[1] + w] = 1
            cnt = np.zeros((oh, ow), dtype=np.int64)
        xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
        acc = None
        for i in range(k[0]):
            for j in range(k[1]):
                sl = (slice(i * d[0], i * d[0] + (oh - 1) * s[0] + 1, s[0]),
                      slice(j * d[1], j * d[1] + (ow - 1) * s[1] + 1, s[1]))
                win = xp[(slice(None), slice(None), *sl)]
                if kind == "MaxPool":
                    acc = win.copy() if acc is None else np.maximum(acc, win)
                else:
                    acc = win.copy() if acc is None else acc + win
                    cnt += mask[sl]
        if kind == "MaxPool":
            _store(outs[0], acc)
        else:
            _store(outs[0], acc / np.maximum(cnt, 1).astype(x.dtype))
    return impl


def _global_average_pool(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x = ins[0]
    axes = tuple(range(2, x.ndim))
    _store(outs[0], x.mean(axis=axes, keepdims=True, dtype=x.dtype))


def _argmax(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x = ins[0]
    axis = int(a["axis"]) % x.ndim
    if a["select_last_index"]:
        idx = x.shape[axis] - 1 - np.argmax(np.flip(x, axis=axis), axis=axis)
    else:
        idx = np.argmax(x, axis=axis)
    _store(outs[0], np.expand_dims(idx, axis) if a["keepdims"] else idx)


def _shape(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    end = a.get("end")
    _store(outs[0], np.asarray(ins[0].shape[slice(int(a["start"]), None if end is None else int(end))],
                               dtype=np.int64))


def _gather(ins: Arrays, a: dict[str, Any], outs: list[np.ndarray]) -> None:
    x, idx = ins[0], ins[1]
    axis = int(a["axis"]) % x.ndim
    n = x.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise ShapeError(f"host op Gather: indices must lie in [{-n}, {n - 1}] for axis {axis} of {x.shape}")
    _store(outs[0], np.take(x, np.where(idx < 0, idx + n, idx), axis=axis))


_IMPL: Mapping[str, Callable[[Arrays, dict[str, Any], list[np.ndarray]], None]] = {
    "QuantizeLinear": _quantize_linear,
    "DequantizeLinear": _dequantize_linear,
    "DynamicQuantizeLinear": _dynamic_quantize_linear,
    "MatMulInteger": _matmul_integer,
    "QLinearMatMul": _qlinear_matmul,
    "ConvInteger": _conv_integer,
    "QLinearConv": _qlinear_conv,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Conv": _conv,
    "Add": lambda i, a, o: _binary(i, a, o, np.add),
    "Sub": lambda i, a, o: _binary(i, a, o, np.subtract),
    "Mul": lambda i, a, o: _binary(i, a, o, np.multiply),
    "Div": _div,
    "Relu": _relu,
    "Clip": _clip,
    "Sigmoid": _sigmoid,
    "Tanh": _tanh,
    "Softmax": _softmax,
    "Reshape": _copy_reshaped,
    "Flatten": _copy_reshaped,
    "Transpose": _transpose,
    "Squeeze": _copy_reshaped,
    "Unsqueeze": _copy_reshaped,
    "Concat": _concat,
    "Cast": _cast,
    "Identity": _copy_reshaped,
    "MaxPool": _pool("MaxPool"),
    "AveragePool": _pool("AveragePool"),
    "GlobalAveragePool": _global_average_pool,
    "com.microsoft.QLinearAdd": _qlinear_binary("add"),
    "com.microsoft.QLinearMul": _qlinear_binary("mul"),
    "com.microsoft.QLinearGlobalAveragePool": _qlinear_gap,
    "com.microsoft.QGemm": _qgemm,
    "ArgMax": _argmax,
    "Shape": _shape,
    "Gather": _gather,
    "accel.Requantize": _requantize,
    "accel.Im2Col": _im2col,
    "accel.RowsToNCHW": _rows_to_nchw,
}
