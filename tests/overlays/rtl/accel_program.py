"""Bench-side instruction builder for accel_top: a tiled matmul as stream packets.

Plain Python + numpy (the golden model); encodes instructions with ``Spec.encode``.
Packets are what the MM2S DMA would send: command packets (one instruction per beat, low
64 bits) and the data packets of LOAD_A / STREAM_B, in stream order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accel.contract.epilogue import OUT_RANGES, folded_bias, pack_params, u8_shift
from accel.overlays.spec import Spec


@dataclass
class Geometry:
    rows: int
    lanes: int
    kmax: int
    nmax: int
    ififo_depth: int

    @classmethod
    def from_params(cls, spec: Spec, param: Callable[[str, int], int]) -> Geometry:
        """The geometry of the DUT under test: its -G parameters, defaulting to the spec's."""
        return cls(
            rows=param("ROWS", spec.rows),
            lanes=param("DATA_WIDTH", spec.stream_width) // 8,
            kmax=param("KMAX", spec.kmax),
            nmax=param("NMAX", spec.nmax),
            ififo_depth=param("IFIFO_DEPTH", spec.ififo_depth),
        )


@dataclass
class Epilogue:
    """DRAIN_Q parameters of a matmul (the golden model's arguments, original dtypes)."""

    scale: np.ndarray                 # float32, one per output column
    bias: np.ndarray | None = None    # int32 per output column
    zero_point: int = 0
    a_zero_point: int = 0
    b_zero_point: int = 0
    clamp: tuple[int, int] | None = None
    out_dtype: str = "int8"


@dataclass
class Program:
    packets: list[bytes] = field(default_factory=list)
    drains: list[tuple[int, int, int, int]] = field(default_factory=list)  # (m0, mr, n0, nc)
    out_bytes: int = 4                # bytes per result: 4 (DRAIN) or 1 (DRAIN_Q)
    instructions: int = 0
    macs: int = 0
    chunks: int = 0   # B chunks the MAC array consumes (the BUSY counter)
    panel_bytes: list[int] = field(default_factory=list)   # data bytes in before each DRAIN


def beat(spec: Spec, lanes: int, opcode: str, **fields: int) -> bytes:
    """One instruction beat: the 64-bit word, little-endian, zero-padded to the beat."""
    return spec.encode(opcode, **fields).to_bytes(8, "little") + bytes(max(0, lanes - 8))


def matmul(
    spec: Spec,
    geo: Geometry,
    a: np.ndarray,
    b: np.ndarray,
    *,
    kchunk: int | None = None,
    nchunk: int | None = None,
    cmd_split: int | None = None,
    epi: Epilogue | None = None,
) -> Program:
    """C = A @ B as panels of `rows` rows of A, N windows of <= nchunk columns, K chunks of
    <= kchunk (accumulate=1 after the first). A is reloaded per N window only when K is
    split; banks alternate (double buffering).

    With ``epi``: uint8 A/B are sent as they are with the u8 flag (the input path converts),
    each window's LOAD_EPI (the a_zero_point term folded into the bias, B's zero point in the
    int8 domain) comes before its first STREAM_B unless that parameter bank already holds the
    window, and DRAIN_Q replaces DRAIN."""
    m, k = a.shape
    k2, n = b.shape
    assert k == k2
    kchunk = min(kchunk or geo.kmax, geo.kmax)
    nchunk = min(nchunk or geo.nmax, geo.nmax)
    assert kchunk % geo.lanes == 0 or kchunk >= k
    assert nchunk % geo.lanes == 0 or nchunk >= n
    a_u8 = int(a.dtype == np.uint8)
    b_u8 = int(b.dtype == np.uint8)
    a_bytes = np.ascontiguousarray(a if a_u8 else a.astype(np.int8)).view(np.uint8)
    b_bytes = np.ascontiguousarray(b if b_u8 else b.astype(np.int8)).view(np.uint8)
    epi_bias = None
    if epi is not None:
        a_zp8 = u8_shift(epi.a_zero_point, str(a.dtype))
        b_zp8 = u8_shift(epi.b_zero_point, str(b.dtype))
        b8 = b.astype(np.int16) - 128 if b_u8 else b.astype(np.int16)
        epi_bias = folded_bias(b8, epi.bias, a_zp8, b_zp8)
        lo, hi = epi.clamp if epi.clamp is not None else OUT_RANGES[epi.out_dtype]
        scale = np.broadcast_to(np.asarray(epi.scale, dtype=np.float32), (n,))
    steps: list[tuple[bytes, bytes | None]] = []
    abuf = acc = 0
    epi_loaded: list[tuple[int, int] | None] = [None, None]   # window whose parameters each bank holds
    prog = Program()
    ks = list(range(0, k, kchunk))
    for m0 in range(0, m, geo.rows):
        mr = min(geo.rows, m - m0)
        a_panel = a_bytes[m0 : m0 + mr].tobytes()
        loaded = None
        for n0 in range(0, n, nchunk):
            nc = min(nchunk, n - n0)
            if epi is not None and epi_loaded[acc] != (n0, nc):
                # a parameter bank keeps its window's parameters: load only when it changes
                epi_loaded[acc] = (n0, nc)
                steps.append(
                    (beat(spec, geo.lanes, "LOAD_EPI", acc=acc, win_cnt=nc),
                     pack_params(spec, epi_bias[n0 : n0 + nc], scale[n0 : n0 + nc], zero_point=epi.zero_point,
                                 lo=lo, hi=hi, b_zero_point=b_zp8))
                )
            for i, k0 in enumerate(ks):
                kc = min(kchunk, k - k0)
                if loaded != k0 or len(ks) > 1:
                    abuf ^= 1
                    steps.append(
                        (beat(spec, geo.lanes, "LOAD_A", abuf=abuf, u8=a_u8, rows=mr, row_len=k, win_lo=k0,
                              win_cnt=kc),
                         a_panel)
                    )
                    loaded = k0
                steps.append(
                    (beat(spec, geo.lanes, "STREAM_B", abuf=abuf, acc=acc, accumulate=int(i > 0), u8=b_u8,
                          row_len=n, win_lo=n0, win_cnt=nc),
                     b_bytes[k0 : k0 + kc].tobytes())
                )
                prog.macs += mr * nc * kc
                prog.chunks += kc * -(-nc // geo.lanes)
            drain_op = "DRAIN" if epi is None else "DRAIN_Q"
            steps.append((beat(spec, geo.lanes, drain_op, acc=acc, rows=mr, win_cnt=nc), None))
            done = sum(prog.panel_bytes)
            prog.panel_bytes.append(sum(len(d) for _, d in steps if d is not None) - done)
            prog.drains.append((m0, mr, n0, nc))
            acc ^= 1
    split = cmd_split or geo.ififo_depth
    for g in range(0, len(steps), split):
        group = steps[g : g + split]
        prog.packets.append(b"".join(s[0] for s in group))
        prog.packets.extend(s[1] for s in group if s[1] is not None)
    prog.instructions = len(steps)
    prog.out_bytes = 4 if epi is None else 1
    return prog


def assemble(prog: Program, frames: list[bytes], m: int, n: int, dtype: str = "<i4") -> np.ndarray:
    """Place the drained panels (int32, or 8-bit results of DRAIN_Q) into C (checks each
    frame's length)."""
    dt = np.dtype(dtype)
    c = np.zeros((m, n), dtype=dt)
    assert len(frames) == len(prog.drains), (len(frames), len(prog.drains))
    for (m0, mr, n0, nc), f in zip(prog.drains, frames, strict=True):
        assert len(f) == mr * nc * dt.itemsize, (len(f), mr, nc)
        c[m0 : m0 + mr, n0 : n0 + nc] = np.frombuffer(f, dtype=dt).reshape(mr, nc)
    return c
