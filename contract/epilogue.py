"""The fused int8 epilogue: its semantics (the golden model) and its parameter packet.

One definition of what DRAIN_Q computes (spec ``[epilogue]``), in numpy only, importable on the
board and in tests without a simulator or MLIR. For output row m, column n::

    acc = sum_k (A[m,k] - a_zp) * (B[k,n] - b_zp) + bias[n]            int32, wrapping
    out = clamp(round_half_even(float32(acc) * scale[n]), lo - zp, hi - zp) + zp

``float32(acc)`` rounds the int32 to nearest even and the product is one float32 multiply (also
rounded to nearest even): this is how onnxruntime's CPU kernels (MLAS ``MlasRequantizeOutput``)
requantize QLinearMatMul / QLinearConv / QGemm outputs, so a layer computed this way equals
onnxruntime bit for bit. Clamping before or after the rounding is the same thing for integer
bounds.

The golden model checks results; it never produces a result the accelerator is claimed to have
produced. The CPU fallback of a host step may call :func:`requantize` (it is then labelled CPU).
"""

from __future__ import annotations

import numpy as np

from accel.overlays.spec import Spec

#: Output dtypes of the epilogue and their integer ranges.
OUT_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}


def _wrap32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64).astype(np.uint32).astype(np.int32)


def accumulate(a: np.ndarray, b: np.ndarray, *, a_zero_point: int = 0, b_zero_point: int = 0,
               bias: np.ndarray | None = None) -> np.ndarray:
    """``sum_k (A - a_zp)(B - b_zp) + bias`` as int32 with two's-complement wrap-around (int64 inside)."""
    a64 = a.astype(np.int64) - int(a_zero_point)
    b64 = b.astype(np.int64) - int(b_zero_point)
    acc = a64 @ b64
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)
    return _wrap32(acc)


def requantize(acc: np.ndarray, scale: np.ndarray | float, zero_point: int = 0,
               out_dtype: str = "int8", clamp: tuple[int, int] | None = None) -> np.ndarray:
    """int32 accumulators -> ``out_dtype`` (int8/uint8) with MLAS's float32 arithmetic.

    ``scale`` is a float32 scalar or one per output column (the last axis of ``acc``);
    ``clamp`` = (lo, hi) in the output's integer domain, default the dtype's range."""
    lo, hi = clamp if clamp is not None else OUT_RANGES[out_dtype]
    x = np.asarray(acc, dtype=np.int32).astype(np.float32)            # int32 -> float32, RNE
    p = x * np.asarray(scale, dtype=np.float32)                       # float32 multiply, RNE
    p = np.clip(p, np.float32(lo - zero_point), np.float32(hi - zero_point))
    y = np.rint(p).astype(np.int32) + int(zero_point)                 # np.rint: half to even
    return y.astype(np.dtype(out_dtype))


def matmul(a: np.ndarray, b: np.ndarray, *, bias: np.ndarray | None = None,
           scale: np.ndarray | float | None = None, zero_point: int = 0, a_zero_point: int = 0,
           b_zero_point: int = 0, clamp: tuple[int, int] | None = None,
           out_dtype: str = "int32") -> np.ndarray:
    """The golden model of ``Accelerator.matmul`` with an epilogue (see the module docstring)."""
    acc = accumulate(a, b, a_zero_point=a_zero_point, b_zero_point=b_zero_point, bias=bias)
    if out_dtype == "int32":
        return acc
    return requantize(acc, scale, zero_point, out_dtype, clamp)


def u8_shift(zero_point: int, dtype: str) -> int:
    """A zero point in the int8 domain the input path works in: uint8 data is converted on the
    fly to ``x - 128`` (u8 flag), so its zero point moves by 128 too."""
    return int(zero_point) - 128 if dtype == "uint8" else int(zero_point)


def folded_bias(b_int8: np.ndarray, bias: np.ndarray | None, a_zp8: int, b_zp8: int) -> np.ndarray:
    """The int32 bias the accelerator adds: ``bias - a_zp8 * colsum(B8) + K * a_zp8 * b_zp8``.

    ``b_int8`` is B in the int8 domain (after the u8 conversion), ``a_zp8``/``b_zp8`` the zero
    points in that domain. The row term ``-b_zp8 * rowsum(A8)`` is the accelerator's (it sums A's
    rows as they load), so no pass over A happens on the CPU."""
    k, n = b_int8.shape
    out = np.zeros(n, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).copy()
    if a_zp8:
        out -= a_zp8 * b_int8.astype(np.int64).sum(axis=0)
        out += k * a_zp8 * b_zp8
    return _wrap32(out)


def pack_params(spec: Spec, bias: np.ndarray, scale: np.ndarray, *, zero_point: int, lo: int, hi: int,
                b_zero_point: int = 0) -> bytes:
    """The LOAD_EPI packet for one output window: header + one (bias, scale) record per column,
    laid out by the spec's ``[epilogue]`` table."""
    lay = spec.epilogue
    n = len(bias)
    buf = bytearray(lay.packet_bytes(n))
    head = np.frombuffer(buf, dtype=np.uint8)
    for name, value in (("zero_point", zero_point), ("lo", lo), ("hi", hi), ("b_zero_point", b_zero_point)):
        off = lay.header[name]
        head[off:off + 2] = np.frombuffer(np.int16(value).tobytes(), dtype=np.uint8)
    rec = head[lay.header_bytes:].reshape(n, lay.column_bytes)
    bias32 = np.ascontiguousarray(np.asarray(bias, dtype=np.int32))
    scale32 = np.ascontiguousarray(np.broadcast_to(np.asarray(scale, dtype=np.float32), (n,)))
    rec[:, lay.column["bias"]:lay.column["bias"] + 4] = bias32.view(np.uint8).reshape(n, 4)
    rec[:, lay.column["scale"]:lay.column["scale"] + 4] = scale32.view(np.uint8).reshape(n, 4)
    return bytes(buf)
