"""The fused epilogue without the RTL: the golden model against an independent exact-arithmetic
implementation of the formula (every rounding corner), the LOAD_EPI packet layout, argument
validation, the lowering (LOAD_EPI/DRAIN_Q/u8 placement, format version 2, int32 programs
unchanged), the walker's and schema's rules, the cost model, and a numpy emulation of the ISA
that runs the lowered programs with their bound parameters (so the lowering + binding are checked
end to end before the simulator implements DRAIN_Q)."""

from __future__ import annotations

import base64
import json
import struct
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from accel.contract import epilogue as epi
from accel.contract.costmodel import predict_program
from accel.contract.lowering import PARAMS_OPERAND, build_program
from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule, default_schedule
from accel.contract.walker import COMMAND_BUFFER, Instruction, Sequencer, encode_instruction, walk
from accel.errors import DtypeError, InputError, ProgramError, ShapeError
from accel.overlays.spec import load_spec

Z2 = load_spec("z2_default")
SPECS = [Z2, load_spec("kv260")]
IDS = [s.name for s in SPECS]


# --------------------------------------------------------------------------- independent formula
def _f32(x: Fraction) -> Fraction:
    """``x`` rounded to the nearest float32, ties to even, by integer arithmetic (no numpy float):
    the reference the golden model's numpy float32 path is checked against. Magnitudes at or
    beyond 2**128 after rounding become +-infinity (returned as None with a sign)."""
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    m = abs(x)
    e = m.numerator.bit_length() - m.denominator.bit_length()  # 2**e <= m < 2**(e+2)
    while Fraction(2) ** e > m:
        e -= 1
    while Fraction(2) ** (e + 1) <= m:
        e += 1
    e = max(e, -126)  # below that, float32 is subnormal (fixed quantum 2**-149)
    quantum = Fraction(2) ** (e - 23)
    q = m / quantum
    n = q.numerator // q.denominator
    rem = q - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2):
        n += 1
    r = n * quantum
    if r >= Fraction(2) ** 128:
        return Fraction(sign * 10**60)  # "infinity": beyond every clamp
    return sign * r


def _rne(x: Fraction) -> int:
    n = x.numerator // x.denominator
    rem = x - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2):
        n += 1
    return n


def reference(a: np.ndarray, b: np.ndarray, *, bias: Any = None, scale: Any = 1.0, zero_point: int = 0,
              a_zero_point: int = 0, b_zero_point: int = 0, clamp: Any = None, out_dtype: str = "int8") -> np.ndarray:
    """The issue's formula with Python integers and exact rationals (float32 rounding emulated)."""
    m, k = a.shape
    n = b.shape[1]
    lo, hi = clamp if clamp is not None else {"int8": (-128, 127), "uint8": (0, 255)}[out_dtype]
    sc = [float(s) for s in np.broadcast_to(np.asarray(scale, dtype=np.float32), (n,))]
    out = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        for j in range(n):
            acc = sum((int(a[i, q]) - a_zero_point) * (int(b[q, j]) - b_zero_point) for q in range(k))
            acc += 0 if bias is None else int(bias[j])
            acc = (acc + 2**31) % 2**32 - 2**31
            y = _rne(_f32(_f32(Fraction(acc)) * Fraction(sc[j])))
            out[i, j] = min(max(y + zero_point, lo), hi)
    return out.astype(out_dtype)


def test_reference_rounds_like_ieee() -> None:
    """The exact reference agrees with IEEE float32 on a few known roundings (so it tests something)."""
    for v in (16777217, 16777219, -16777217, 2**31 - 1, 123456789):
        assert _f32(Fraction(v)) == Fraction(int(np.float32(v)))
    assert _f32(Fraction(1, 3)) == Fraction(float(np.float32(1 / 3)))


@pytest.mark.parametrize("out_dtype", ["int8", "uint8"])
def test_golden_equals_exact_reference_random(out_dtype: str) -> None:
    rng = np.random.default_rng(12)
    for trial in range(12):
        m, k, n = (int(x) for x in rng.integers(1, 9, size=3))
        a_dt = "uint8" if trial % 2 else "int8"
        b_dt = "uint8" if trial % 3 == 0 else "int8"
        a = rng.integers(*epi._IN_RANGES[a_dt], endpoint=True, size=(m, k)).astype(a_dt)
        b = rng.integers(*epi._IN_RANGES[b_dt], endpoint=True, size=(k, n)).astype(b_dt)
        bias = rng.integers(-5000, 5000, size=n).astype(np.int32)
        scale = (rng.random(n) * 0.05 + 1e-4).astype(np.float32) if trial % 4 else np.float32(0.0123)
        olo, ohi = epi.OUT_RANGES[out_dtype]
        zp = int(rng.integers(olo, ohi + 1))
        clamp = None if trial % 5 else (zp, ohi)  # ReLU
        kw = dict(bias=bias, scale=scale, zero_point=zp, a_zero_point=int(rng.integers(*epi._IN_RANGES[a_dt])),
                  b_zero_point=int(rng.integers(*epi._IN_RANGES[b_dt])), clamp=clamp, out_dtype=out_dtype)
        got = epi.matmul(a, b, **kw)
        assert got.dtype == np.dtype(out_dtype)
        np.testing.assert_array_equal(got, reference(a, b, **kw))


def _requant_one(acc: int, scale: float, zp: int = 0, out: str = "int8", clamp: Any = None) -> tuple[int, int]:
    got = int(epi.requantize(np.array([[acc]], dtype=np.int32), np.float32(scale), zp, out, clamp)[0, 0])
    lo, hi = clamp if clamp is not None else epi.OUT_RANGES[out]
    want = min(max(_rne(_f32(_f32(Fraction(acc)) * Fraction(float(np.float32(scale))))) + zp, lo), hi)
    return got, want


CORNERS = [
    (1, 0.5), (3, 0.5), (5, 0.5), (-1, 0.5), (-3, 0.5), (-5, 0.5),       # exact ties: to even
    (253, 0.5), (255, 0.5), (-255, 0.5), (-257, 0.5),                   # ties at the saturation edges
    (16777217, 2.0**-20), (16777219, 2.0**-20), (-16777217, 2.0**-20),  # |acc| > 2**24: int32 -> float32 rounds
    (2**31 - 1, 2.0**-25), (-(2**31), 2.0**-24), (2**30 + 1, 2.0**-24),
    (1, 2.0**-21), (2**21 + 2**20, 2.0**-21), (100, 3.0),               # scale < 2**-20 and > 1
    (2**31 - 1, 3.0e38), (-(2**31), 3.0e38),                            # float32 overflow to +-inf: saturates
    (127, 1.0), (128, 1.0), (-128, 1.0), (-129, 1.0), (0, 1e-30),
]


@pytest.mark.parametrize("acc,scale", CORNERS)
def test_rounding_corners(acc: int, scale: float) -> None:
    for out, zp in (("int8", 0), ("int8", -7), ("uint8", 128), ("uint8", 0)):
        got, want = _requant_one(acc, scale, zp, out)
        assert got == want, (acc, scale, out, zp)


def test_half_ulp_neighbours() -> None:
    """Products just below / above .5 (one float32 ulp away) round down / up, never to even."""
    s = np.float32(0.5)
    below, above = np.nextafter(s, np.float32(0)), np.nextafter(s, np.float32(1))
    for acc in (1, 3, 5, 41):
        assert _requant_one(acc, float(below))[0] == acc // 2
        assert _requant_one(acc, float(above))[0] == acc // 2 + 1
        assert _requant_one(-acc, float(above))[0] == -(acc // 2) - 1


@pytest.mark.parametrize("clamp", [(-128, 127), (0, 127), (-128, -128), (127, 127), (-3, 6), (5, 5)])
def test_every_clamp_int8(clamp: tuple[int, int]) -> None:
    accs = np.arange(-400, 401, 7, dtype=np.int32).reshape(1, -1)
    got = epi.requantize(accs, np.float32(0.75), -2, "int8", clamp)
    assert got.min() >= clamp[0] and got.max() <= clamp[1]
    want = [_requant_one(int(x), 0.75, -2, "int8", clamp)[1] for x in accs[0]]
    assert got[0].tolist() == want


def test_per_column_scale_and_int32_wrap() -> None:
    a = np.full((2, 3), 127, dtype=np.int8)
    b = np.full((3, 2), -128, dtype=np.int8)
    bias = np.array([2**31 - 1, -(2**31)], dtype=np.int32)
    acc = epi.accumulate(a, b, bias=bias)  # wraps like the fabric's int32 adders
    want = [(3 * 127 * -128 + int(x) + 2**31) % 2**32 - 2**31 for x in bias]
    assert acc[0].tolist() == want
    y = epi.requantize(acc, np.array([1e-9, 1e-7], dtype=np.float32), 0, "int8")
    assert y[0].tolist() == [min(max(_rne(_f32(_f32(Fraction(w)) * Fraction(float(np.float32(s))))), -128), 127)
                             for w, s in zip(want, (1e-9, 1e-7), strict=True)]


# --------------------------------------------------------------------------- packet, folding, args
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_pack_params_layout(spec) -> None:
    bias = np.array([1, -2, 2**31 - 1], dtype=np.int32)
    scale = np.array([0.5, 1e-3, 3.0], dtype=np.float32)
    pkt = epi.pack_params(spec, bias, scale, zero_point=-5, lo=-3, hi=100, b_zero_point=-128)
    assert len(pkt) == spec.epilogue.packet_bytes(3) == 8 + 3 * 8
    head = struct.unpack_from("<4h", pkt, 0)
    fields = dict(zip(("zero_point", "lo", "hi", "b_zero_point"), head, strict=True))
    assert {k: fields[k] for k in spec.epilogue.header} == {"zero_point": -5, "lo": -3, "hi": 100, "b_zero_point": -128}
    for j in range(3):
        b_, s_ = struct.unpack_from("<if", pkt, 8 + 8 * j)
        assert b_ == bias[j] and np.float32(s_) == scale[j]


def test_folded_bias_equals_zero_point_algebra() -> None:
    """fabric(A8 @ B8) + folded bias - b_zp8 * rowsum(A8) == (A - a_zp)(B - b_zp) + bias, for uint8 and int8."""
    rng = np.random.default_rng(3)
    for a_dt, b_dt in (("uint8", "int8"), ("int8", "uint8"), ("uint8", "uint8"), ("int8", "int8")):
        a = rng.integers(*epi._IN_RANGES[a_dt], endpoint=True, size=(5, 7)).astype(a_dt)
        b = rng.integers(*epi._IN_RANGES[b_dt], endpoint=True, size=(7, 4)).astype(b_dt)
        bias = rng.integers(-100, 100, size=4).astype(np.int32)
        args = epi.check_args(5, 4, 7, a_dtype=a_dt, b_dtype=b_dt, bias=bias, a_zero_point=9, b_zero_point=3,
                              out_dtype="int32")
        dev_bias, read = epi.device_bias(b, args)
        assert read == (b.nbytes if args.a_zp8 else 0)
        fabric = epi.to_int8(a).astype(np.int64) @ epi.to_int8(b).astype(np.int64)
        corr, _ = epi.int32_correction(a, dev_bias, args)
        got = (fabric + corr).astype(np.uint32).astype(np.int32)
        np.testing.assert_array_equal(got, epi.accumulate(a, b, a_zero_point=9, b_zero_point=3, bias=bias))


ARG_ERRORS = [
    (dict(out_dtype="int8"), InputError, "scale is required"),
    (dict(out_dtype="int16", scale=1.0), DtypeError, "out_dtype"),
    (dict(out_dtype="int8", scale=0.0), InputError, "scale[0]"),
    (dict(out_dtype="int8", scale=-1.0), InputError, "scale[0]"),
    (dict(out_dtype="int8", scale=float("nan")), InputError, "scale[0]"),
    (dict(out_dtype="int8", scale=float("inf")), InputError, "scale[0]"),
    (dict(out_dtype="int8", scale=1e-39), InputError, "normal"),
    (dict(out_dtype="int8", scale=1e300), InputError, "finite"),
    (dict(out_dtype="int8", scale=[1.0, 2.0]), ShapeError, "scale"),
    (dict(out_dtype="int8", scale="x"), DtypeError, "scale"),
    (dict(out_dtype="int8", scale=1.0, clamp=(-129, 5)), InputError, "clamp"),
    (dict(out_dtype="uint8", scale=1.0, clamp=(5, 256)), InputError, "clamp"),
    (dict(out_dtype="int8", scale=1.0, clamp=(5, 4)), InputError, "clamp"),
    (dict(out_dtype="int8", scale=1.0, clamp=5), InputError, "clamp"),
    (dict(out_dtype="int8", scale=1.0, zero_point=128), InputError, "zero_point=128"),
    (dict(out_dtype="uint8", scale=1.0, zero_point=-1), InputError, "zero_point=-1"),
    (dict(scale=1.0), InputError, "scale applies"),
    (dict(clamp=(0, 5)), InputError, "clamp applies"),
    (dict(zero_point=3), InputError, "zero_point=3"),
    (dict(bias=np.zeros(4, dtype=np.int32)), ShapeError, "bias"),
    (dict(bias=np.zeros(3, dtype=np.float32)), DtypeError, "bias"),
    (dict(bias=np.array([2**31, 0, 0])), InputError, "bias"),
    (dict(a_zero_point=200), InputError, "a_zero_point=200"),
    (dict(a_dtype="uint8", a_zero_point=-1), InputError, "a_zero_point=-1"),
    (dict(b_zero_point=[1, 2, 3]), InputError, "per-column"),
    (dict(b_zero_point=1.5), DtypeError, "b_zero_point"),
    (dict(a_dtype="int16"), DtypeError, "operand 'a'"),
    (dict(b_dtype="float32"), DtypeError, "operand 'b'"),
]


@pytest.mark.parametrize("kw,exc,needle", ARG_ERRORS)
def test_bad_arguments_are_typed_and_named(kw: dict, exc: type, needle: str) -> None:
    with pytest.raises(exc, match=None) as info:
        epi.check_args(2, 3, 4, **kw)
    assert needle in str(info.value)


def test_args_normalise() -> None:
    args = epi.check_args(2, 3, 4, out_dtype=np.uint8, scale=np.float64(0.1), b_zero_point=[7, 7, 7],
                          b_dtype="uint8", a_dtype=np.uint8, a_zero_point=128)
    assert args.scale.dtype == np.float32 and args.scale.shape == (3,) and args.scale[0] == np.float32(0.1)
    assert (args.lo, args.hi, args.b_zero_point, args.b_zp8, args.a_zp8) == (0, 255, 7, -121, 0)
    assert epi.check_args(2, 3, 4).plain and not epi.check_args(2, 3, 4, bias=[1, 2, 3]).plain


# --------------------------------------------------------------------------- lowering
def _ops(spec, prog: DriverProgram) -> list[tuple[str, dict]]:
    return [(s.opcode, dict(s.fields)) for s in walk(spec, prog) if isinstance(s, Instruction)]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_int32_programs_unchanged(spec) -> None:
    for shape in ((256, 256, 256), (33, 9, 17), (1, 1, 1), (40, 1300, 70)):
        s = default_schedule(spec, *shape)
        plain, explicit = build_program(spec, s), build_program(spec, s, a_dtype="int8", b_dtype="int8",
                                                                 out_dtype="int32")
        assert plain.to_json() == explicit.to_json()
        doc = plain.to_dict()
        assert doc["version"] == 1 and "epilogue" not in doc
        assert {op for op, _ in _ops(spec, plain)} <= {"LOAD_A", "STREAM_B", "DRAIN"}
        assert all(f["u8"] == 0 for _, f in _ops(spec, plain))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("out_dtype", ["int8", "uint8"])
def test_fused_program_structure(spec, out_dtype: str) -> None:
    m, n, k = 3 * spec.rows + 1, 2 * spec.lanes + 3, 40
    s = Schedule(m, n, k, tile_m=spec.rows, tile_n=spec.lanes, tile_k=k, stationarity="A")
    prog = build_program(spec, s, a_dtype="uint8", out_dtype=out_dtype)
    ops = _ops(spec, prog)
    doc = json.loads(prog.to_json())
    assert doc["version"] == 2 and doc["operands"]["c"]["dtype"] == out_dtype
    assert doc["operands"]["a"]["dtype"] == "uint8" and doc["operands"]["b"]["dtype"] == "int8"
    ntiles = [(j, min(spec.lanes, n - j)) for j in range(0, n, spec.lanes)]
    lay = spec.epilogue
    assert doc["epilogue"]["windows"] == [[j, nc, sum(lay.packet_bytes(w) for _, w in ntiles[:i])]
                                          for i, (j, nc) in enumerate(ntiles)]
    assert doc["operands"][PARAMS_OPERAND]["shape"] == [sum(lay.packet_bytes(nc) for _, nc in ntiles)]
    assert {op for op, _ in ops} == {"LOAD_A", "STREAM_B", "LOAD_EPI", "DRAIN_Q"}
    assert all(f["u8"] == 1 for op, f in ops if op == "LOAD_A")
    assert all(f["u8"] == 0 for op, f in ops if op == "STREAM_B")
    # a LOAD_EPI precedes a STREAM_B exactly when that bank's window changed
    held: dict[int, tuple[int, int]] = {}
    pending = None
    for op, f in ops:
        if op == "LOAD_EPI":
            pending = f
        elif op == "STREAM_B":
            win = (f["win_lo"], f["win_cnt"])
            if pending is not None:
                assert (pending["acc"], pending["win_cnt"]) == (f["acc"], f["win_cnt"])
                assert held.get(f["acc"]) != win
                held[f["acc"]] = win
                pending = None
            else:
                assert held.get(f["acc"]) == win
    # 3 windows over 2 alternating banks: every tile's bank last held another window
    assert sum(op == "LOAD_EPI" for op, _ in ops) == prog.stats["tiles"] == 12
    assert sum(op == "DRAIN_Q" for op, _ in ops) == len(prog.s2mm)
    assert sum(e[2] for e in prog.s2mm) == m * n == prog.stats["dma_bytes_out"]
    # the round trip through JSON validates and walks the same
    again = DriverProgram.from_json(prog.to_json())
    assert again.to_json() == prog.to_json() and _ops(spec, again) == ops


def test_load_epi_once_per_bank_and_window() -> None:
    """One N window: each accumulator bank gets its parameters once; two windows alternating
    with the banks ("nm" order, one panel): a LOAD_EPI for every tile whose bank held the other window."""
    spec = Z2
    one = build_program(spec, Schedule(100, 24, 30, tile_m=16, tile_n=24, tile_k=30), out_dtype="int8")
    assert [f["acc"] for op, f in _ops(spec, one) if op == "LOAD_EPI"] == [0, 1]
    three = build_program(spec, Schedule(16, 24, 30, tile_m=16, tile_n=8, tile_k=30), out_dtype="int8")
    assert [(f["acc"], f["win_cnt"]) for op, f in _ops(spec, three) if op == "LOAD_EPI"] == [(0, 8), (1, 8), (0, 8)]
    single = build_program(spec, Schedule(100, 24, 30, tile_m=16, tile_n=24, tile_k=30, double_buffer=False),
                           out_dtype="int8")
    assert sum(op == "LOAD_EPI" for op, _ in _ops(spec, single)) == 1
    ksplit = build_program(spec, Schedule(16, 8, 64, tile_m=16, tile_n=8, tile_k=16, stationarity="C"),
                           out_dtype="int8", b_dtype="uint8")
    ops = _ops(spec, ksplit)
    assert [op for op, _ in ops].count("LOAD_EPI") == 1 and [op for op, _ in ops].count("STREAM_B") == 4
    assert all(f["u8"] == 1 for op, f in ops if op == "STREAM_B")


def test_epilogue_rejects_partial_sums() -> None:
    with pytest.raises(ShapeError, match="stationarity 'N'"):
        build_program(Z2, Schedule(16, 8, 64, tile_m=16, tile_n=8, tile_k=16, stationarity="N"), out_dtype="int8")
    with pytest.raises(ShapeError, match="c_init"):
        build_program(Z2, Schedule(16, 8, 8, tile_m=16, tile_n=8, tile_k=8), out_dtype="int8", c_init="accumulate")
    with pytest.raises(DtypeError, match="out_dtype"):
        build_program(Z2, Schedule(16, 8, 8, tile_m=16, tile_n=8, tile_k=8), out_dtype="int16")


def _doc(**kw: Any) -> dict:
    return build_program(Z2, Schedule(20, 12, 8, tile_m=16, tile_n=8, tile_k=8), out_dtype="int8", **kw).to_dict()


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d.update(version=1), "version"),
    (lambda d: d["epilogue"].update(out_dtype="int32"), "epilogue.out_dtype"),
    (lambda d: d["epilogue"].update(params="a"), "epilogue.params"),
    (lambda d: d["epilogue"].update(windows=[]), "epilogue.windows"),
    (lambda d: d["epilogue"]["windows"].append([0, 8, 10**6]), "outside the params operand"),
    (lambda d: d["epilogue"].update(extra=1), "unknown key"),
    (lambda d: d["operands"]["c"].update(dtype="int32"), "int32"),
])
def test_schema_rejects_bad_epilogue(edit, needle: str) -> None:
    doc = _doc()
    edit(doc)
    with pytest.raises(ProgramError, match=None) as info:
        DriverProgram.from_dict(doc)
    assert needle in str(info.value)


def _rewrite_cmd(doc: dict, fn) -> dict:
    """Re-encode the command words after ``fn(list of (opcode, fields))`` edits them."""
    cmd = base64.b64decode(doc["scratch"]["cmd"]["init"])
    ib = Z2.instr_bytes
    ops = [Z2.decode(int.from_bytes(cmd[i:i + Z2.instr_word_bytes], "little")) for i in range(0, len(cmd), ib)]
    fn(ops)
    words = b"".join(encode_instruction(Z2, op, **f) for op, f in ops)
    doc["scratch"]["cmd"]["init"] = base64.b64encode(words).decode()
    return doc


def test_walker_rules() -> None:
    def no_epi_for_bank(ops):
        i = next(i for i, (op, _) in enumerate(ops) if op == "LOAD_EPI")
        ops[i][1]["acc"] = 1  # bank 0 then drains without parameters

    with pytest.raises(ProgramError, match="no LOAD_EPI loaded"):
        walk(Z2, DriverProgram.from_dict(_rewrite_cmd(_doc(), no_epi_for_bank)))

    def wrong_width(ops):
        i = next(i for i, (op, _) in enumerate(ops) if op == "DRAIN_Q")
        ops[i][1]["win_cnt"] -= 1
    with pytest.raises(ProgramError, match="LOAD_EPI"):  # the params and the drained window disagree
        walk(Z2, DriverProgram.from_dict(_rewrite_cmd(_doc(), wrong_width)))

    doc = _doc()
    i = next(i for i, e in enumerate(doc["mm2s"]) if e[0] == PARAMS_OPERAND)
    doc["mm2s"][i][2] -= 8  # a LOAD_EPI packet one column short: EARLY_TLAST on the fabric
    with pytest.raises(ProgramError, match="consumes"):
        walk(Z2, DriverProgram.from_dict(doc))

    seq = Sequencer(Z2)  # the dialect verifier's event interface knows the new opcodes too
    seq.command(0, 3 * Z2.instr_bytes)
    seq.issue("LOAD_EPI", {"acc": 0, "win_cnt": 4})
    seq.data("epi", Z2.epilogue.packet_bytes(4))
    seq.issue("DRAIN_Q", {"acc": 0, "rows": 2, "win_cnt": 4})
    with pytest.raises(ProgramError, match="emits 8 bytes"):
        seq.receive(32)


# --------------------------------------------------------------------------- cost model
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_costmodel_prices_the_epilogue(spec) -> None:
    for m, n, k in ((256, 256, 256), (256, 256, 1), (33, 9, 17)):
        s = default_schedule(spec, m, n, k)
        p32, p8 = (predict_program(spec, build_program(spec, s, out_dtype=o)) for o in ("int32", "int8"))
        assert p8.breakdown["dma_bytes_out"] == m * n and p32.breakdown["dma_bytes_out"] == 4 * m * n
        prog8 = build_program(spec, s, out_dtype="int8")
        epi_bytes = sum(e[2] for e in prog8.mm2s if e[0] == PARAMS_OPERAND)
        extra_instr = prog8.stats["instructions"] - build_program(spec, s).stats["instructions"]
        assert extra_instr == sum(e[0] == PARAMS_OPERAND for e in prog8.mm2s) >= 1
        extra_in = epi_bytes + extra_instr * spec.instr_bytes
        assert p8.breakdown["dma_bytes_in"] == p32.breakdown["dma_bytes_in"] + extra_in
        # the uint8 input path costs nothing extra
        assert predict_program(spec, build_program(spec, s, a_dtype="uint8", b_dtype="uint8",
                                                   out_dtype="int8")).cycles == p8.cycles
    # output-bound today: the 8-bit drain is cheaper
    s = default_schedule(spec, 256, 256, 1)
    assert predict_program(spec, build_program(spec, s, out_dtype="int8")).cycles < \
        predict_program(spec, build_program(spec, s)).cycles


def test_costmodel_drain_q_uses_epi_lanes() -> None:
    """More requantization lanes shorten a DRAIN_Q-bound program (the lane count is a spec parameter)."""
    import dataclasses

    s = default_schedule(Z2, 256, 256, 1)
    cyc = [predict_program(sp, build_program(sp, s, out_dtype="int8")).cycles
           for sp in (dataclasses.replace(Z2, epi_lanes=e) for e in (1, 2, 4))]
    assert cyc[0] > cyc[1] > cyc[2]


# --------------------------------------------------------------------------- ISA emulation
def emulate(spec, prog: DriverProgram, bufs: dict[str, np.ndarray]) -> None:
    """Run a program's instruction stream with the ISA's semantics in numpy (the spec's comments:
    LOAD_A windows, STREAM_B accumulate, rowsum per bank, LOAD_EPI packets, DRAIN_Q's formula), as
    the executor would feed it: pack before a transfer, unpack after a drain. Checks the lowering
    and the parameter binding; the RTL is checked against the same golden model on the simulator."""
    raw = {name: np.frombuffer(np.ascontiguousarray(b).data, dtype=np.uint8) for name, b in bufs.items()}
    raw[COMMAND_BUFFER] = np.frombuffer(prog.instructions(), dtype=np.uint8)
    for name, sc in prog.scratch.items():
        if name != COMMAND_BUFFER:
            raw[name] = np.zeros(sc["bytes"], dtype=np.uint8)
    lay = spec.epilogue
    abank: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    acc: dict[int, np.ndarray] = {}
    rowsum: dict[int, np.ndarray] = {}
    params: dict[int, tuple] = {}
    drains = iter(prog.s2mm)

    def data(idx: int) -> np.ndarray:
        buf, off, nbytes, pack = prog.mm2s[idx]
        if pack:
            src = bufs[pack["src"]]
            block = np.ascontiguousarray(src[pack["row0"]:pack["row0"] + pack["rows"],
                                             pack["col0"]:pack["col0"] + pack["cols"]])
            raw[buf][off:off + nbytes] = block.view(np.uint8).reshape(-1)
        return raw[buf][off:off + nbytes]

    for st in walk(spec, prog):
        if not isinstance(st, Instruction):
            continue
        f = st.fields
        if st.opcode == "LOAD_A":
            rows = data(st.data).reshape(f["rows"], f["row_len"])[:, f["win_lo"]:f["win_lo"] + f["win_cnt"]]
            a8 = rows.astype(np.int16) - 128 if f["u8"] else rows.view(np.int8).astype(np.int16)
            abank[f["abuf"]] = (a8, a8.astype(np.int64).sum(axis=1))
        elif st.opcode == "STREAM_B":
            a8, rs = abank[f["abuf"]]
            b = data(st.data).reshape(a8.shape[1], f["row_len"])[:, f["win_lo"]:f["win_lo"] + f["win_cnt"]]
            b8 = b.astype(np.int16) - 128 if f["u8"] else b.view(np.int8).astype(np.int16)
            part = a8.astype(np.int64) @ b8.astype(np.int64)
            if f["accumulate"]:
                acc[f["acc"]] = acc[f["acc"]] + part
                rowsum[f["acc"]] = rowsum[f["acc"]] + rs
            else:
                acc[f["acc"]], rowsum[f["acc"]] = part, rs
        elif st.opcode == "LOAD_EPI":
            pkt = data(st.data).tobytes()
            h = {k: struct.unpack_from("<h", pkt, off)[0] for k, off in lay.header.items()}
            rec = np.frombuffer(pkt[lay.header_bytes:], dtype=np.uint8).reshape(f["win_cnt"], lay.column_bytes)
            bias = rec[:, lay.column["bias"]:lay.column["bias"] + 4].copy().view("<i4").reshape(-1)
            scale = rec[:, lay.column["scale"]:lay.column["scale"] + 4].copy().view("<f4").reshape(-1)
            params[f["acc"]] = (h, bias, scale)
        else:
            rows, nc = f["rows"], f["win_cnt"]
            a_ = acc[f["acc"]][:rows, :nc]
            if st.opcode == "DRAIN":
                out = a_.astype(np.uint32).astype(np.int32)
            else:
                h, bias, scale = params[f["acc"]]
                x = (a_ + bias[None, :] - h["b_zero_point"] * rowsum[f["acc"]][:rows, None])
                x = x.astype(np.uint32).astype(np.int32)
                y = np.rint(np.clip(x.astype(np.float32) * scale[None, :], np.float32(h["lo"] - h["zero_point"]),
                                    np.float32(h["hi"] - h["zero_point"]))).astype(np.int32) + h["zero_point"]
                out = y.astype(np.uint8)
            buf, off, nbytes, unpack = next(drains)
            raw[buf][off:off + nbytes] = out.view(np.uint8).reshape(-1)
            if unpack:
                dst = bufs[unpack["dst"]]
                blk = raw[buf][off:off + nbytes].view(dst.dtype).reshape(unpack["rows"], unpack["cols"])
                view = dst[unpack["row0"]:unpack["row0"] + rows, unpack["col0"]:unpack["col0"] + nc]
                view[...] = view + blk if unpack.get("add") else blk


def run_emulated(spec, sched: Schedule, a: np.ndarray, b: np.ndarray, **kw: Any) -> np.ndarray:
    """What ``Accelerator.matmul`` does around the fabric, with :func:`emulate` as the fabric."""
    m, k = a.shape
    n = b.shape[1]
    args = epi.check_args(m, n, k, a_dtype=a.dtype, b_dtype=b.dtype, **kw)
    prog = build_program(spec, sched, a_dtype=args.a_dtype, b_dtype=args.b_dtype, out_dtype=args.out_dtype)
    c = np.zeros((m, n), dtype=args.out_dtype)
    bias, _ = epi.device_bias(b, args)
    bufs = {"a": a, "b": b, "c": c}
    if args.fused:
        bufs[PARAMS_OPERAND] = np.zeros(prog.operands[PARAMS_OPERAND]["shape"], dtype=np.uint8)
        epi.fill_params(spec, prog.epilogue["windows"], bufs[PARAMS_OPERAND], bias, args)
    emulate(spec, prog, bufs)
    if not args.fused:
        corr, _ = epi.int32_correction(a, bias, args)
        c[...] = (c.astype(np.int64) + corr).astype(np.uint32).astype(np.int32)
    return c


def _schedules(spec, m: int, n: int, k: int) -> list[Schedule]:
    L = spec.lanes
    out = [default_schedule(spec, m, n, k)]
    if n > L:
        out.append(Schedule(m, n, k, tile_m=min(spec.rows, m), tile_n=L, tile_k=k, order="nm"))
    if k > L:
        out.append(Schedule(m, n, k, tile_m=min(spec.rows, m), tile_n=n, tile_k=L, stationarity="C"))
    out.append(Schedule(m, n, k, tile_m=max(1, min(spec.rows, m) // 2), tile_n=n, tile_k=k, staging=True,
                        double_buffer=False))
    return out


SHAPES = [(1, 1, 1), (1, 17, 9), (17, 1, 9), (17, 9, 1), (33, 20, 19), (40, 24, 64)]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_emulated_fabric_equals_golden(spec, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    cases = [
        dict(a="int8", b="int8", out_dtype="int8", scale=np.float32(0.01)),
        dict(a="uint8", b="int8", out_dtype="uint8", a_zero_point=131, zero_point=120, clamp=(120, 255),
             per_col=True),
        dict(a="uint8", b="uint8", out_dtype="int8", a_zero_point=3, b_zero_point=250, clamp=(-20, 100)),
        dict(a="int8", b="uint8", out_dtype="int8", b_zero_point=128, zero_point=-9),
        dict(a="uint8", b="int8", out_dtype="int32", a_zero_point=7),
        dict(a="int8", b="uint8", out_dtype="int32", b_zero_point=9, a_zero_point=-4),
    ]
    for case in cases:
        case = dict(case)
        a_dt, b_dt, per_col = case.pop("a"), case.pop("b"), case.pop("per_col", False)
        a = rng.integers(*epi._IN_RANGES[a_dt], endpoint=True, size=(m, k)).astype(a_dt)
        b = rng.integers(*epi._IN_RANGES[b_dt], endpoint=True, size=(k, n)).astype(b_dt)
        case["bias"] = rng.integers(-30000, 30000, size=n).astype(np.int32)
        if case["out_dtype"] != "int32" and "scale" not in case:
            case["scale"] = (rng.random(n) * 0.02 + 1e-3).astype(np.float32) if per_col else np.float32(0.004)
        want = epi.matmul(a, b, **case)
        for sched in _schedules(spec, m, n, k):
            got = run_emulated(spec, sched, a, b, **case)
            np.testing.assert_array_equal(got, want, err_msg=f"{case} {sched}")
