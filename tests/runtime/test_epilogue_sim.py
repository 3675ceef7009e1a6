"""``Accelerator.matmul`` with the epilogue arguments on the simulator.

Tests marked ``epilogue_rtl`` need the RTL of LOAD_EPI/DRAIN_Q and the u8 input flag
(accelerator version >= ``accel.contract.epilogue.RTL_VERSION``); tests/conftest.py skips them
on an older spec. They check accelerator == golden model (``accel.contract.epilogue``) == an
independent vectorised float32 implementation of the formula, bit for bit, over random and edge
shapes, schedules that split N and K and stage, per-tensor and per-column scales, every clamp,
int8/uint8 inputs and outputs and zero points; and the ONNX node tests
(``test_qlinearmatmul_2D/3D_*``, ``test_matmulinteger``) from the onnx wheel.
The unmarked tests run today: the int32 path with bias and zero points on int8 operands (its
correction is host work), argument errors, and the refusal of an overlay without the epilogue.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from accel.contract import epilogue as epi
from accel.contract.schedule import Schedule
from accel.errors import BackendError, DtypeError, InputError, ShapeError

RANGES = {"int8": (-128, 127), "uint8": (0, 255)}


def independent(a: np.ndarray, b: np.ndarray, *, bias: Any = None, scale: Any = None, zero_point: int = 0,
                a_zero_point: int = 0, b_zero_point: int = 0, clamp: Any = None,
                out_dtype: str = "int32") -> np.ndarray:
    """The issue's formula written apart from the golden model: exact int64 sums, int64 -> float32
    conversion, the float32 product taken exactly in float64 (24 + 24 significant bits) and rounded
    once to float32, ``np.round`` (half to even), saturation with Python bounds."""
    acc = np.einsum("mk,kn->mn", a.astype(np.int64) - a_zero_point, b.astype(np.int64) - b_zero_point)
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)[None, :]
    acc = (acc + 2**31) % 2**32 - 2**31
    if out_dtype == "int32":
        return acc.astype(np.int32)
    lo, hi = clamp if clamp is not None else RANGES[out_dtype]
    s64 = np.broadcast_to(np.asarray(scale, dtype=np.float32), (b.shape[1],)).astype(np.float64)
    with np.errstate(over="ignore"):
        prod = (acc.astype(np.float32).astype(np.float64) * s64[None, :]).astype(np.float32)
    y = np.round(prod.astype(np.float64))
    y = np.where(np.isfinite(y), y, np.sign(y) * 1e6)
    return np.clip(y + zero_point, lo, hi).astype(out_dtype)


@contextlib.contextmanager
def _all_counters(acc: Any) -> Iterator[None]:
    """Read every counter (BYTES_OUT) during the block; the runtime's default reads CYCLES only."""
    old = getattr(acc, "counters", None)
    if old is not None:
        acc.counters = "all"
    try:
        yield
    finally:
        if old is not None:
            acc.counters = old


def _operand(acc: Any, rng: np.random.Generator, shape: tuple[int, int], dtype: str) -> Any:
    buf = acc.allocate(shape, np.dtype(dtype))
    buf[:] = rng.integers(*RANGES[dtype], endpoint=True, size=shape).astype(dtype)
    return buf


def _check(acc: Any, a: Any, b: Any, **kw: Any) -> np.ndarray:
    sched = kw.pop("schedule", None)
    got = np.array(acc.matmul(a, b, schedule=sched, **kw))
    ref = {k: v for k, v in kw.items() if k != "out_dtype"}
    out_dtype = np.dtype(kw.get("out_dtype", np.int32)).name
    want = epi.matmul(np.asarray(a), np.asarray(b), out_dtype=out_dtype, **ref)
    np.testing.assert_array_equal(want, independent(np.asarray(a), np.asarray(b), out_dtype=out_dtype, **ref))
    assert got.dtype == np.dtype(out_dtype)
    np.testing.assert_array_equal(got, want)
    return got


# --------------------------------------------------------------------------- runs today
@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 9, 5), (40, 70, 24)])
def test_int32_bias_and_zero_points_on_int8(accel_sim, rng, shape) -> None:
    """int8 operands, int32 output: the fabric's plain matmul plus the counted host correction."""
    m, k, n = shape
    a, b = _operand(accel_sim, rng, (m, k), "int8"), _operand(accel_sim, rng, (k, n), "int8")
    bias = rng.integers(-(2**31), 2**31, size=n, dtype=np.int64).astype(np.int32)
    _check(accel_sim, a, b, bias=bias, a_zero_point=-3, b_zero_point=5)
    host = accel_sim.last.stats["epilogue_host_bytes"]
    assert host == a.nbytes + b.nbytes + 2 * m * n * 4  # rowsum(A), colsum(B), one pass over C
    _check(accel_sim, a, b, bias=bias)
    assert accel_sim.last.stats["epilogue_host_bytes"] == 2 * m * n * 4
    plain = np.array(accel_sim.matmul(a, b))
    assert "epilogue_host_bytes" not in accel_sim.last.stats
    np.testing.assert_array_equal(plain, a.astype(np.int32) @ b.astype(np.int32))


@pytest.mark.parametrize("kw,exc,needle", [
    (dict(out_dtype=np.int8), InputError, "scale is required"),
    (dict(out_dtype=np.int8, scale=0.0), InputError, "scale[0]"),
    (dict(out_dtype=np.uint8, scale=1.0, clamp=(-1, 3)), InputError, "clamp"),
    (dict(out_dtype=np.int8, scale=[1.0] * 3), ShapeError, "scale"),
    (dict(bias=np.zeros(5, np.int32)), ShapeError, "bias"),
    (dict(out_dtype=np.float32), DtypeError, "out_dtype"),
    (dict(b_zero_point=np.arange(4)), InputError, "per-column"),
    (dict(a_zero_point=300), InputError, "a_zero_point"),
])
def test_bad_arguments(accel_sim, rng, kw, exc, needle) -> None:
    a, b = _operand(accel_sim, rng, (3, 6), "int8"), _operand(accel_sim, rng, (6, 4), "int8")
    with pytest.raises(exc) as info:
        accel_sim.matmul(a, b, **kw)
    assert needle in str(info.value)
    with pytest.raises(DtypeError, match="operand 'a'"):
        accel_sim.matmul(np.zeros((3, 6), np.int16), b)


def test_overlay_without_epilogue_refuses(accel_sim, rng) -> None:
    """Before the RTL lands, an 8-bit output or uint8 operand is a typed error naming the fix."""
    if epi.supported(accel_sim.spec):
        pytest.skip("this overlay has the epilogue (see the epilogue_rtl tests)")
    a, b = _operand(accel_sim, rng, (3, 6), "int8"), _operand(accel_sim, rng, (6, 4), "int8")
    with pytest.raises(BackendError, match="no fused epilogue"):
        accel_sim.matmul(a, b, out_dtype=np.int8, scale=0.5)
    with pytest.raises(BackendError, match="uint8"):
        accel_sim.matmul(_operand(accel_sim, rng, (3, 6), "uint8"), b)


# --------------------------------------------------------------------------- needs the RTL
SHAPES = {  # (M, K, N): size 1 in every dim, non-multiples, N and K beyond the tile limits
    "1x1x1": (1, 1, 1), "m1": (1, 37, 19), "k1": (23, 1, 9), "n1": (33, 40, 1), "odd": (35, 29, 21),
    "256x256x1": (256, 1, 256), "wide": (20, 24, 600), "deep": (24, 700, 40),
}
CASES = {  # name: (A dtype, B dtype, matmul keywords besides scale)
    "int8": ("int8", "int8", dict(out_dtype=np.int8)),
    "uint8-out-relu": ("int8", "int8", dict(out_dtype=np.uint8, zero_point=7, clamp=(7, 255))),
    "u8a-dynamic": ("uint8", "int8", dict(out_dtype=np.uint8, a_zero_point=131, zero_point=128)),
    "u8a-u8b-bzp": ("uint8", "uint8", dict(out_dtype=np.int8, a_zero_point=120, b_zero_point=133,
                                            zero_point=-5, clamp=(-5, 60))),
    "int8-bzp-relu6": ("int8", "uint8", dict(out_dtype=np.int8, b_zero_point=128, a_zero_point=-2,
                                             clamp=(-128, -70))),
    "int32-u8": ("uint8", "uint8", dict(out_dtype=np.int32, a_zero_point=12, b_zero_point=200)),
}


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("per_column", [False, True], ids=["per-tensor", "per-column"])
def test_epilogue_equals_golden(accel_sim_any, rng, shape, case, per_column) -> None:
    m, k, n = shape
    a_dt, b_dt, kw = CASES[case]
    if per_column and kw["out_dtype"] == np.int32:
        pytest.skip("int32 output has no scale")
    acc = accel_sim_any
    a, b = _operand(acc, rng, (m, k), a_dt), _operand(acc, rng, (k, n), b_dt)
    kw = dict(kw, bias=rng.integers(-40000, 40000, size=n).astype(np.int32))
    if kw["out_dtype"] != np.int32:
        kw["scale"] = ((rng.random(n) * 0.01 + 2e-4).astype(np.float32) if per_column
                       else np.float32(1.0 / max(64, 4 * k)))
    with _all_counters(acc):
        got = _check(acc, a, b, **kw)
    r = acc.last
    item = np.dtype(kw["out_dtype"]).itemsize
    assert r.counters["BYTES_OUT"] == m * n * item
    if case == "int8" and m * n >= 64:
        assert len(np.unique(got)) > 8  # the scale leaves something to check (not all saturated)


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("sched", [
    dict(tile_m=16, tile_n=8, tile_k=40, stationarity="A", order="nm"),   # N windows alternate banks
    dict(tile_m=16, tile_n=24, tile_k=16, stationarity="C"),              # K split: rowsum accumulates
    dict(tile_m=8, tile_n=8, tile_k=16, stationarity="C", double_buffer=False),
    dict(tile_m=16, tile_n=24, tile_k=40, staging=True),                  # C staged and unpacked
])
def test_epilogue_schedules(accel_sim, rng, sched) -> None:
    m, k, n = 37, 40, 24
    a, b = _operand(accel_sim, rng, (m, k), "uint8"), _operand(accel_sim, rng, (k, n), "uint8")
    s = Schedule(m, n, k, **sched)
    for kw in (dict(out_dtype=np.int8, scale=np.float32(0.003), a_zero_point=100, b_zero_point=140),
               dict(out_dtype=np.uint8, scale=(rng.random(n) * 0.01 + 1e-3).astype(np.float32),
                    bias=rng.integers(-999, 999, size=n).astype(np.int32), zero_point=200, clamp=(200, 230))):
        _check(accel_sim, a, b, schedule=s, **kw)


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("acc_value,scale", [(3, 0.5), (5, 0.5), (-3, 0.5), (16777217, 2.0**-20),
                                             (2**31 - 1, 3e38), (-(2**31), 3e38), (1, 2.0**-21)])
def test_rounding_corners_on_the_fabric(accel_sim, acc_value: int, scale: float) -> None:
    """Exact ties, |acc| > 2**24 and float32 overflow through the fabric (bias sets the accumulator)."""
    a = accel_sim.allocate((2, 1), np.int8)
    b = accel_sim.allocate((1, 3), np.int8)
    a[:] = 0
    b[:] = 0
    bias = np.full(3, acc_value, dtype=np.int32)
    for out, zp in ((np.int8, 0), (np.uint8, 128)):
        _check(accel_sim, a, b, bias=bias, scale=np.float32(scale), zero_point=zp, out_dtype=out)


@pytest.mark.epilogue_rtl
def test_output_bytes_and_cycles_256(accel_sim) -> None:
    """256^3 on Z2: 8-bit output moves 65,536 bytes instead of 262,144 (the issue's measurement)."""
    rng = np.random.default_rng(256)
    a, b = _operand(accel_sim, rng, (256, 256), "int8"), _operand(accel_sim, rng, (256, 256), "int8")
    with _all_counters(accel_sim):
        accel_sim.matmul(a, b)
        r32 = accel_sim.last
        _check(accel_sim, a, b, out_dtype=np.int8, scale=np.float32(1e-4))
        r8 = accel_sim.last
    assert (r32.counters["BYTES_OUT"], r8.counters["BYTES_OUT"]) == (262144, 65536)
    assert r8.cycles <= r32.cycles * 1.01


# --------------------------------------------------------------------------- ONNX node tests
def _node_dir() -> Path:
    onnx = pytest.importorskip("onnx")
    return Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "node"


NODE_TESTS = [f"test_qlinearmatmul_{d}_{t}_{f}" for d in ("2D", "3D") for t in ("int8", "uint8")
              for f in ("float32", "float16")] + ["test_matmulinteger"]


def _node_case(name: str) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any]]:
    """(inputs, shipped output, matmul keywords) of one node test: scale = a_scale * b_scale / y_scale
    in float32 (MLAS's multiplier), zero points as integers. Skipped where onnx is not installed
    (the runtime-only pynq jobs)."""
    folder = _node_dir() / name / "test_data_set_0"
    from onnx import TensorProto, numpy_helper

    if not folder.is_dir():
        pytest.skip(f"the installed onnx wheel ships no {name}")

    def load(path: Path) -> np.ndarray:
        t = TensorProto()
        t.ParseFromString(path.read_bytes())
        return numpy_helper.to_array(t)

    ins = [load(p) for p in sorted(folder.glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))]
    want = load(folder / "output_0.pb")
    if name.startswith("test_qlinearmatmul"):
        _a, a_s, a_zp, _b, b_s, b_zp, y_s, y_zp = ins
        f32 = [np.float32(x.astype(np.float32).reshape(-1)[0]) for x in (a_s, b_s, y_s)]
        kw = dict(scale=np.float32(f32[0] * f32[1]) / f32[2], zero_point=int(y_zp.reshape(-1)[0]),
                  a_zero_point=int(a_zp.reshape(-1)[0]), b_zero_point=int(b_zp.reshape(-1)[0]),
                  out_dtype=want.dtype.name)
    else:
        _a, _b, a_zp, b_zp = ins
        kw = dict(a_zero_point=int(a_zp.reshape(-1)[0]), b_zero_point=int(b_zp.reshape(-1)[0]), out_dtype="int32")
    return ins, want, kw


def _expected(name: str, ins: list[np.ndarray], want: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    """The shipped output, except the int8 QLinearMatMul data of onnx 1.19, which wraps instead of
    saturating (onnx #6169): there onnxruntime's output, and the shipped one may differ from it only
    where onnxruntime saturates."""
    if "_int8_" not in name:
        return want
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(_node_dir() / name / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    ref = sess.run(None, dict(zip(names, ins, strict=True)))[0]
    differ = ref != want
    # the data bug: every element where the shipped data disagrees is one onnxruntime saturates
    assert differ.any() and np.isin(ref[differ], (-128, 127)).all()
    return ref


def _through(fn: Any, ins: list[np.ndarray], name: str, kw: dict[str, Any]) -> np.ndarray:
    a, b = ins[0], ins[1] if name == "test_matmulinteger" else ins[3]
    if a.ndim == 3:  # loop over the leading (batch) dimension
        return np.stack([fn(a[i], b[i] if b.ndim == 3 else b, kw) for i in range(a.shape[0])])
    return fn(a, b, kw)


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node_golden(name: str) -> None:
    """The golden model reproduces the node tests (onnxruntime where the shipped int8 data is wrong)."""
    ins, want, kw = _node_case(name)
    got = _through(lambda a, b, k: epi.matmul(a, b, **k), ins, name, kw)
    np.testing.assert_array_equal(got, _expected(name, ins, want, kw))


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node_on_accelerator(accel_sim, name: str) -> None:
    ins, want, kw = _node_case(name)
    expected = _expected(name, ins, want, kw)

    def run(a: np.ndarray, b: np.ndarray, k: dict[str, Any]) -> np.ndarray:
        ca, cb = accel_sim.allocate(a.shape, a.dtype), accel_sim.allocate(b.shape, b.dtype)
        ca[:], cb[:] = a, b
        return np.array(accel_sim.matmul(ca, cb, **{**k, "out_dtype": np.dtype(k["out_dtype"])}))

    got = _through(run, ins, name, kw)
    np.testing.assert_array_equal(got, expected)
