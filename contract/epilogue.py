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

from dataclasses import dataclass
from typing import Any

import numpy as np

from accel.errors import DtypeError, InputError, ShapeError
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
    with np.errstate(over="ignore"):  # |product| beyond float32: +-inf, saturated by the clamp below
        p = x * np.asarray(scale, dtype=np.float32)                   # float32 multiply, RNE
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


# --------------------------------------------------------------------------- capability
#: The first accelerator version (spec ``version``, the VERSION register) whose RTL implements
#: LOAD_EPI, DRAIN_Q and the u8 input flag. Older overlays answer them with BAD_OPCODE.
RTL_VERSION = (1, 1)


def supported(spec: Spec) -> bool:
    """True when the overlay's RTL implements the epilogue and the u8 input path."""
    return tuple(spec.version) >= RTL_VERSION


# --------------------------------------------------------------------------- arguments
IN_DTYPES = ("int8", "uint8")
OUT_DTYPES = ("int32", "int8", "uint8")
_IN_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}


@dataclass(frozen=True)
class Args:
    """Checked, normalised epilogue arguments of one ``M x K x N`` matmul.

    Zero points are plain ints in their tensor's own domain; ``a_zp8``/``b_zp8`` are the same
    in the int8 domain the input path works in (:func:`u8_shift`). ``scale`` is float32, one
    per output column (a per-tensor scale is broadcast); ``bias`` int32 or None."""

    n: int
    k: int
    a_dtype: str
    b_dtype: str
    out_dtype: str
    bias: np.ndarray | None
    scale: np.ndarray | None
    zero_point: int
    a_zero_point: int
    b_zero_point: int
    lo: int
    hi: int

    @property
    def a_zp8(self) -> int:
        return u8_shift(self.a_zero_point, self.a_dtype)

    @property
    def b_zp8(self) -> int:
        return u8_shift(self.b_zero_point, self.b_dtype)

    @property
    def fused(self) -> bool:
        """The fabric's epilogue (LOAD_EPI/DRAIN_Q) computes the output: 8-bit results."""
        return self.out_dtype != "int32"

    @property
    def plain(self) -> bool:
        """Today's int32 path with nothing to add: int8 A and B, no bias, zero points 0."""
        return (not self.fused and self.a_dtype == "int8" and self.b_dtype == "int8" and self.bias is None
                and self.a_zero_point == 0 and self.b_zero_point == 0)


def _dtype_name(value: Any, what: str, allowed: tuple[str, ...]) -> str:
    try:
        name = np.dtype(value).name
    except TypeError:
        raise DtypeError(f"{what} {value!r} is not a numpy dtype; use one of {list(allowed)}") from None
    if name not in allowed:
        raise DtypeError(f"{what} is {name}; the accelerator supports {list(allowed)}")
    return name


def _zero_point(value: Any, what: str, dtype: str) -> int:
    arr = np.asarray(value)
    if arr.ndim and arr.size and np.all(arr == arr.flat[0]):
        arr = arr.reshape(-1)[:1].reshape(())  # a per-column array with one value is per tensor
    if arr.ndim:
        raise InputError(
            f"{what} must be one integer (per tensor), got shape {arr.shape}"
            + (": a per-column B zero point has no place in the fabric's epilogue (its row term would be an "
               "outer product); subtract it on the host (B - b_zero_point as int8 if it fits) or requantize "
               "the int32 result on the CPU" if what == "b_zero_point" and arr.size else "")
        )
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and float(arr) == int(arr)):
        raise DtypeError(f"{what} must be an integer, not {arr.dtype} {value!r}")
    lo, hi = _IN_RANGES.get(dtype, (0, 0))
    v = int(arr)
    if not lo <= v <= hi:
        raise InputError(f"{what}={v} is outside the {dtype} range [{lo}, {hi}] of its tensor")
    return v


def check_args(m: int, n: int, k: int, *, a_dtype: Any = "int8", b_dtype: Any = "int8",
               out_dtype: Any = "int32", bias: Any = None, scale: Any = None, zero_point: Any = 0,
               a_zero_point: Any = 0, b_zero_point: Any = 0, clamp: Any = None) -> Args:
    """Validate ``Accelerator.matmul``'s epilogue arguments; typed errors name the argument.

    Pure numpy (the CLI checks its options with it before it opens a backend)."""
    a_dt = _dtype_name(a_dtype, "operand 'a' dtype", IN_DTYPES)
    b_dt = _dtype_name(b_dtype, "operand 'b' dtype", IN_DTYPES)
    out_dt = _dtype_name(out_dtype, "out_dtype", OUT_DTYPES)
    a_zp = _zero_point(a_zero_point, "a_zero_point", a_dt)
    b_zp = _zero_point(b_zero_point, "b_zero_point", b_dt)
    bias32 = None
    if bias is not None:
        arr = np.asarray(bias)
        if arr.dtype.kind not in "iu":
            raise DtypeError(f"bias must be an integer array (int32 per output column), not {arr.dtype}")
        if arr.shape not in ((n,), (1, n)):
            raise ShapeError(f"bias must have one int32 per output column: shape ({n},), got {arr.shape}")
        wide = arr.reshape(n).astype(np.int64)
        if wide.size and (wide.min() < -(2**31) or wide.max() > 2**31 - 1):
            raise InputError("bias has values outside int32; the accelerator adds an int32 bias")
        bias32 = wide.astype(np.int32)
    if out_dt == "int32":
        for name, val, default in (("scale", scale, None), ("clamp", clamp, None)):
            if val is not default:
                raise InputError(f"{name} applies to int8/uint8 output only; pass out_dtype=np.int8 or np.uint8 "
                                 "(an int32 result is the accumulator itself)")
        if not (isinstance(zero_point, (int, np.integer)) and int(zero_point) == 0):
            raise InputError(f"zero_point={zero_point!r} applies to int8/uint8 output only; an int32 result has none")
        return Args(n, k, a_dt, b_dt, out_dt, bias32, None, 0, a_zp, b_zp, -(2**31), 2**31 - 1)
    if scale is None:
        raise InputError(f"scale is required for {out_dt} output (float32, per tensor or one per output column)")
    sarr = np.asarray(scale)
    if sarr.dtype.kind not in "iuf":
        raise DtypeError(f"scale must be float32 (per tensor or one per output column), not {sarr.dtype}")
    if sarr.ndim and sarr.shape not in ((n,), (1, n), (1,)):
        raise ShapeError(f"scale must be one float32 or one per output column (shape ({n},)), got {sarr.shape}")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        s32 = sarr.astype(np.float32).reshape(-1)
    bad = ~np.isfinite(s32) | (s32 <= 0) | (s32 < np.finfo(np.float32).tiny)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"scale[{i}]={sarr.reshape(-1)[i]!r} (float32 {s32[i]!r}) must be a finite, positive, normal float32 "
            f"(>= {np.finfo(np.float32).tiny:.3g}): the epilogue multiplies in float32"
        )
    scale32 = np.ascontiguousarray(np.broadcast_to(s32, (n,)) if s32.size == 1 else s32)
    olo, ohi = OUT_RANGES[out_dt]
    zp = _zero_point(zero_point, "zero_point", out_dt)
    if clamp is None:
        lo, hi = olo, ohi
    else:
        try:
            lo, hi = (int(x) for x in clamp)
        except (TypeError, ValueError):
            raise InputError(f"clamp must be (lo, hi), two integers in the {out_dt} range, not {clamp!r}") from None
        if not olo <= lo <= hi <= ohi:
            raise InputError(f"clamp=({lo}, {hi}) must satisfy {olo} <= lo <= hi <= {ohi} ({out_dt} output)")
    return Args(n, k, a_dt, b_dt, out_dt, bias32, scale32, zp, a_zp, b_zp, lo, hi)


def to_int8(x: np.ndarray) -> np.ndarray:
    """A tensor in the int8 domain the input path works in (uint8: ``x - 128``, the u8 flag's
    conversion); for the golden model and the host's bias fold, never the accelerator's input."""
    if x.dtype == np.uint8:
        return (x.astype(np.int16) - 128).astype(np.int8)
    return x


def device_bias(b: np.ndarray, args: Args) -> tuple[np.ndarray, int]:
    """The int32 bias the fabric adds (:func:`folded_bias`) and the bytes of B the host read for it
    (a column sum of B only when the A zero point is not 0 in the int8 domain)."""
    b8 = to_int8(b)
    bias = folded_bias(b8, args.bias, args.a_zp8, args.b_zp8)
    return bias, (int(b.nbytes) if args.a_zp8 else 0)


def params_bytes(spec: Spec, windows: list[list[int]]) -> int:
    """Bytes of the params operand: one LOAD_EPI packet per window ``[col0, cols, offset]``."""
    return max((off + spec.epilogue.packet_bytes(cols) for _c0, cols, off in windows), default=0)


def fill_params(spec: Spec, windows: list[list[int]], dst: np.ndarray, bias: np.ndarray, args: Args) -> int:
    """Write the LOAD_EPI packets of a program's windows into ``dst`` (uint8, the params operand)
    and return the bytes written (host work: the packets are built on the CPU at bind time)."""
    written = 0
    for c0, cols, off in windows:
        pkt = pack_params(spec, bias[c0:c0 + cols], args.scale[c0:c0 + cols], zero_point=args.zero_point,
                          lo=args.lo, hi=args.hi, b_zero_point=args.b_zp8)
        dst[off:off + len(pkt)] = np.frombuffer(pkt, dtype=np.uint8)
        written += len(pkt)
    return written


def int32_correction(a: np.ndarray, bias: np.ndarray, args: Args) -> tuple[np.ndarray, int]:
    """For int32 output: what the host adds to the fabric's ``A8 @ B8`` to get the semantics
    (``bias - b_zp8 * rowsum(A8)``, wrapping) and the bytes of A it read (0 when ``b_zp8`` is 0).

    The fused path does this on the fabric; the int32 path has no epilogue, so it is host work."""
    corr = np.broadcast_to(bias.astype(np.int64), (a.shape[0], bias.shape[0]))
    read = 0
    if args.b_zp8:
        rows = to_int8(a).astype(np.int64).sum(axis=1)
        corr = corr - args.b_zp8 * rows[:, None]
        read = int(a.nbytes)
    return _wrap32(corr), read
