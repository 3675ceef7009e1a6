"""Host operations (accel.runtime.hostops) against onnxruntime, one single-node ONNX model per case.

Integer outputs must equal onnxruntime's bit for bit; float outputs are exact where both compute
the same IEEE operations (elementwise arithmetic, Relu, Clip, MaxPool, AveragePool, data
movement, DequantizeLinear) and within the tolerances docs/host_ops.md gives elsewhere (matmul,
conv, Gemm and GlobalAveragePool sum in another order; Sigmoid/Tanh/Softmax use MLAS's
approximations in onnxruntime). Shapes include size-1 dims, broadcasting and per-axis parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from models import node_tests  # noqa: E402
from onnx import helper  # noqa: E402

from accel.bench import zoo  # noqa: E402
from accel.contract import hostops as contract  # noqa: E402
from accel.errors import DtypeError, ProgramError, ShapeError  # noqa: E402
from accel.runtime import hostops  # noqa: E402

_NP2ONNX = {np.dtype(v): k for k, v in contract.ONNX_DTYPES.items()}


def ort_node(op: str, inputs: list[np.ndarray | None], attrs: dict[str, Any], out_dtypes: list[Any],
             domain: str = "", opset: int = 21) -> list[np.ndarray]:
    """onnxruntime's outputs of one node ``op`` with graph inputs ``inputs`` (None = absent); the
    graph declares ``out_dtypes`` (ours: onnxruntime refuses a graph whose types disagree)."""
    names, vis, feeds = [], [], {}
    for i, x in enumerate(inputs):
        if x is None:
            names.append("")
            continue
        names.append(f"in{i}")
        vis.append(helper.make_tensor_value_info(f"in{i}", _NP2ONNX[x.dtype], list(x.shape)))
        feeds[f"in{i}"] = x
    while names and names[-1] == "":
        names.pop()
    outs = [f"out{i}" for i in range(len(out_dtypes))]
    node = helper.make_node(op.split(".")[-1], names, outs, domain=domain,
                            **{k: v for k, v in attrs.items() if v is not None})
    graph = helper.make_graph([node], "g", vis, [helper.make_tensor_value_info(o, _NP2ONNX[np.dtype(d)], None)
                                                 for o, d in zip(outs, out_dtypes, strict=True)])
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=imports, ir_version=10)
    res = node_tests.ort_outputs(model, feeds)
    return [res[o] for o in outs]


def ours(op: str, inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    specs = [None if x is None else (x.shape, x.dtype.name) for x in inputs]
    outs = [np.full(s, 77, dtype=d) for s, d in contract.output_specs(op, specs, attrs, values=inputs)]
    hostops.run(op, inputs, attrs, outs)
    return outs


def check_op(op: str, inputs: list[np.ndarray | None], attrs: dict[str, Any] | None = None, *,
             domain: str = "", rtol: float = 0.0, atol: float = 0.0, ort_attrs: dict[str, Any] | None = None,
             max_int_diff: int = 0) -> list[np.ndarray]:
    attrs = attrs or {}
    mine = ours(("com.microsoft." if domain else "") + op, inputs, attrs)
    ref = ort_node(op, inputs, ort_attrs if ort_attrs is not None else attrs, [m.dtype for m in mine],
                   domain=domain)
    for m, r in zip(mine, ref, strict=True):
        assert m.shape == r.shape and m.dtype == r.dtype, (op, m.shape, m.dtype, r.shape, r.dtype)
        if m.dtype.kind == "f" and (rtol or atol):
            np.testing.assert_allclose(m, r, rtol=rtol, atol=atol, err_msg=op)
        elif max_int_diff:
            assert np.abs(m.astype(np.int64) - r.astype(np.int64)).max(initial=0) <= max_int_diff, op
        else:
            np.testing.assert_array_equal(m, r, err_msg=op)
    return mine


def f32(rng: np.random.Generator, *shape: int, scale: float = 3.0) -> np.ndarray:
    return np.asarray((rng.standard_normal(shape) * scale).astype(np.float32))


def conv_ref(x: np.ndarray, w: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """Direct int64 convolution (per kernel offset, not im2col) for what onnxruntime cannot run."""
    (n, o, oh, ow), pads = contract.conv_geometry("ref", x.shape, w.shape, attrs)
    s = attrs.get("strides") or [1, 1]
    d = attrs.get("dilations") or [1, 1]
    g = attrs.get("group", 1)
    c = x.shape[1]
    xp = np.zeros((n, c, x.shape[2] + pads[0] + pads[2] + s[0] * 2, x.shape[3] + pads[1] + pads[3] + s[1] * 2),
                  np.int64)
    xp[:, :, pads[0]:pads[0] + x.shape[2], pads[1]:pads[1] + x.shape[3]] = x
    y = np.zeros((n, o, oh, ow), np.int64)
    og, cg = o // g, c // g
    for gi in range(g):
        for i in range(w.shape[2]):
            for j in range(w.shape[3]):
                win = xp[:, gi * cg:(gi + 1) * cg, i * d[0]::s[0], j * d[1]::s[1]][:, :, :oh, :ow]
                y[:, gi * og:(gi + 1) * og] += np.einsum("nchw,oc->nohw", win,
                                                         w[gi * og:(gi + 1) * og, :, i, j].astype(np.int64))
    return y.astype(np.int32)


def q(rng: np.random.Generator, dtype: str, *shape: int) -> np.ndarray:
    lo, hi = contract.QUANT_RANGES[dtype]
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def zoo_dir() -> Any:
    return zoo.default_dir()
Q8 = ["int8", "uint8"]


# ----------------------------------------------------------------------------- quantization
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [*Q8, "int16", "uint16"])
@pytest.mark.parametrize("per_axis", [None, 0, 1, -1])
def test_quantize_linear(seed: int, dtype: str, per_axis: int | None) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 4)), 1, int(rng.integers(1, 9)))
    x = f32(rng, *shape, scale=40.0)
    # exact halves: round half to even must decide them
    x.reshape(-1)[: min(4, x.size)] = np.array([0.5, 1.5, -2.5, 254.5], np.float32)[: min(4, x.size)]
    if per_axis is None:
        sc, zp, attrs = np.float32(0.37 if seed else 1.0), np.array(128 if dtype.startswith("u") else 3, dtype), {}
        sc = np.asarray(sc)
    else:
        n = shape[per_axis]
        sc = rng.uniform(0.05, 1.0, n).astype(np.float32)
        zp = q(rng, dtype, n)
        attrs = {"axis": per_axis}
    check_op("QuantizeLinear", [x, sc, zp], attrs)


def test_quantize_linear_without_zero_point_is_uint8_and_saturates() -> None:
    x = np.array([-1e9, -3.0, 0.5, 1.5, 2.5, 300.0, 1e9], np.float32)
    (y,) = check_op("QuantizeLinear", [x, np.asarray(np.float32(1.0))])
    assert y.dtype == np.uint8 and list(y) == [0, 0, 0, 2, 2, 255, 255]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [*Q8, "int16", "uint16", "int32"])
@pytest.mark.parametrize("per_axis", [None, 1])
def test_dequantize_linear(seed: int, dtype: str, per_axis: int | None) -> None:
    rng = np.random.default_rng(seed)
    shape = (2, int(rng.integers(1, 6)), 3)
    x = (rng.integers(-1000, 1000, size=shape).astype(np.int32) if dtype == "int32" else q(rng, dtype, *shape))
    if per_axis is None:
        sc = np.asarray(np.float32(0.0123))
        zp = None if dtype == "int32" else np.asarray(q(rng, dtype, 1)[0])
        attrs: dict[str, Any] = {}
    else:
        sc = rng.uniform(0.01, 0.1, shape[1]).astype(np.float32)
        zp = None if dtype == "int32" else q(rng, dtype, shape[1])
        attrs = {"axis": per_axis}
    check_op("DequantizeLinear", [x, sc, zp], attrs)


@pytest.mark.parametrize("seed", [*SEEDS, 3, 4, 5])
def test_dynamic_quantize_linear(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = [(1,), (3, 1, 5), (64,), (2, 7), (1, 1), (4, 33)][seed]
    x = f32(rng, *shape, scale=float(rng.uniform(0.1, 20)))
    if seed == 3:
        x = np.abs(x)  # all positive: min is 0 -> zero point 0
    if seed == 4:
        x = -np.abs(x)  # all negative: zero point 255
    y, s, z = check_op("DynamicQuantizeLinear", [x])
    assert y.dtype == np.uint8 and s.shape == () and z.dtype == np.uint8


def test_dynamic_quantize_linear_all_zero() -> None:
    check_op("DynamicQuantizeLinear", [np.zeros((2, 3), np.float32)])


# ----------------------------------------------------------------------------- integer matmul/conv
MM_SHAPES = [((3, 5), (5, 4)), ((1, 1), (1, 1)), ((2, 3, 7), (7, 2)), ((2, 1, 4, 3), (3, 3, 5)),
             ((17, 33), (33, 1))]


@pytest.mark.parametrize("shapes", MM_SHAPES, ids=str)
@pytest.mark.parametrize("adt,bdt", [("uint8", "int8"), ("int8", "int8"), ("uint8", "uint8"), ("int8", "uint8")])
def test_matmul_integer(shapes: tuple, adt: str, bdt: str) -> None:
    rng = np.random.default_rng(len(shapes[0]))
    a, b = q(rng, adt, *shapes[0]), q(rng, bdt, *shapes[1])
    azp, bzp = np.asarray(q(rng, adt, 1)[0]), np.asarray(q(rng, bdt, 1)[0])
    if adt == "int8" and bdt == "uint8":  # onnxruntime has no kernel for this pair: int64 numpy reference
        (y,) = ours("MatMulInteger", [a, b, azp, bzp], {})
        np.testing.assert_array_equal(y, (a.astype(np.int64) - azp) @ (b.astype(np.int64) - bzp))
    else:
        check_op("MatMulInteger", [a, b, azp, bzp])
        check_op("MatMulInteger", [a, b])
    if len(shapes[0]) == 2:  # per-row A / per-column B zero points (ONNX allows them; onnxruntime does not)
        azr, bzc = q(rng, adt, shapes[0][0]), q(rng, bdt, shapes[1][-1])
        (y,) = ours("MatMulInteger", [a, b, azr, bzc], {})
        want = (a.astype(np.int64) - azr[:, None]) @ (b.astype(np.int64) - bzc[None, :])
        np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("shapes", MM_SHAPES, ids=str)
@pytest.mark.parametrize("adt,bdt,ydt", [("uint8", "int8", "uint8"), ("int8", "int8", "int8"),
                                         ("uint8", "uint8", "uint8")])
@pytest.mark.parametrize("per_column", [False, True])
def test_qlinear_matmul(shapes: tuple, adt: str, bdt: str, ydt: str, per_column: bool) -> None:
    rng = np.random.default_rng(7)
    a, b = q(rng, adt, *shapes[0]), q(rng, bdt, *shapes[1])
    n = shapes[1][-1]
    if per_column and len(shapes[1]) == 2:
        bs = rng.uniform(0.001, 0.05, n).astype(np.float32)
        bz = np.zeros(n, bdt) if bdt == "int8" else q(rng, bdt, n)
    else:
        bs, bz = np.asarray(np.float32(0.02)), np.asarray(q(rng, bdt, 1)[0])
    k = shapes[0][-1]
    ys = np.asarray(np.float32(0.02 * 0.02 * 60 * np.sqrt(k) / 10))
    check_op("QLinearMatMul", [a, np.asarray(np.float32(0.02)), np.asarray(q(rng, adt, 1)[0]), b, bs, bz, ys,
                               np.asarray(q(rng, ydt, 1)[0])])


CONV_CASES = {
    "3x3-pad1": ((1, 2, 5, 6), (3, 2, 3, 3), {"pads": [1, 1, 1, 1]}),
    "stride2-uneven-pads": ((2, 3, 7, 8), (4, 3, 3, 2), {"pads": [0, 1, 2, 0], "strides": [2, 2]}),
    "1x1": ((1, 4, 3, 3), (5, 4, 1, 1), {}),
    "dilated": ((1, 1, 9, 9), (2, 1, 3, 3), {"dilations": [2, 2]}),
    "group2": ((1, 4, 6, 6), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    "depthwise": ((1, 3, 5, 5), (3, 1, 3, 3), {"group": 3, "strides": [2, 1]}),
    "same-upper": ((1, 2, 5, 4), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "same-lower": ((1, 2, 5, 4), (3, 2, 2, 2), {"auto_pad": "SAME_LOWER"}),
    "valid-1pixel": ((1, 1, 3, 3), (1, 1, 3, 3), {"auto_pad": "VALID"}),
}


@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("xdt,wdt", [("uint8", "int8"), ("uint8", "uint8"), ("int8", "int8")])
def test_conv_integer(case: str, xdt: str, wdt: str) -> None:
    xs, ws, attrs = CONV_CASES[case]
    rng = np.random.default_rng(3)
    x, w = q(rng, xdt, *xs), q(rng, wdt, *ws)
    xz, wz = np.asarray(q(rng, xdt, 1)[0]), np.asarray(q(rng, wdt, 1)[0])
    if (xdt, wdt) == ("uint8", "uint8"):
        check_op("ConvInteger", [x, w, xz, wz], attrs)
        check_op("ConvInteger", [x, w], attrs)
    # onnxruntime 1.23 runs ConvInteger for uint8 x and w only: the others against a direct conv
    (y,) = ours("ConvInteger", [x, w, xz, wz], attrs)
    np.testing.assert_array_equal(y, conv_ref(x.astype(np.int64) - int(xz), w.astype(np.int64) - int(wz), attrs))
    wzc = q(rng, wdt, ws[0])  # per-output-channel w zero point
    (y,) = ours("ConvInteger", [x, w, xz, wzc], attrs)
    np.testing.assert_array_equal(y, conv_ref(x.astype(np.int64) - int(xz),
                                              w.astype(np.int64) - wzc[:, None, None, None], attrs))


@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("xdt,wdt", [("uint8", "int8"), ("int8", "int8"), ("uint8", "uint8")])
@pytest.mark.parametrize("per_channel", [False, True])
def test_qlinear_conv(case: str, xdt: str, wdt: str, per_channel: bool) -> None:
    xs, ws, attrs = CONV_CASES[case]
    rng = np.random.default_rng(5)
    x, w = q(rng, xdt, *xs), q(rng, wdt, *ws)
    o = ws[0]
    if per_channel:
        wsc = rng.uniform(0.002, 0.02, o).astype(np.float32)
        wz = np.zeros(o, wdt) if wdt == "int8" else np.full(o, 128, wdt)
    else:
        wsc, wz = np.asarray(np.float32(0.01)), np.asarray(128 if wdt == "uint8" else 0).astype(wdt)
    bias = rng.integers(-3000, 3000, o).astype(np.int32)
    ys = np.asarray(np.float32(0.05 * 0.01 * 40 * np.sqrt(ws[1] * ws[2] * ws[3]) / 4))
    yz = np.asarray(q(rng, xdt, 1)[0])
    ins = [x, np.asarray(np.float32(0.05)), np.asarray(q(rng, xdt, 1)[0]), w, wsc, wz, ys, yz]
    check_op("QLinearConv", [*ins, bias], attrs)
    check_op("QLinearConv", ins, attrs)


# ----------------------------------------------------------------------------- float compute
@pytest.mark.parametrize("shapes", [*MM_SHAPES, ((4,), (4, 3)), ((2, 4), (4,))], ids=str)
def test_matmul_float(shapes: tuple) -> None:
    rng = np.random.default_rng(1)
    check_op("MatMul", [f32(rng, *shapes[0]), f32(rng, *shapes[1])], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ta", [0, 1])
@pytest.mark.parametrize("tb", [0, 1])
@pytest.mark.parametrize("c_shape", [None, (), (1,), (5,), (3, 1), (3, 5)], ids=str)
def test_gemm(ta: int, tb: int, c_shape: tuple | None) -> None:
    rng = np.random.default_rng(2)
    a = f32(rng, *((4, 3) if ta else (3, 4)))
    b = f32(rng, *((5, 4) if tb else (4, 5)))
    c = None if c_shape is None else f32(rng, *c_shape)
    check_op("Gemm", [a, b, c], {"transA": ta, "transB": tb, "alpha": 0.5, "beta": 2.0}, rtol=1e-5, atol=1e-5)
    check_op("Gemm", [a, b, c], {"transA": ta, "transB": tb}, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("bias", [False, True])
def test_conv_float(case: str, bias: bool) -> None:
    xs, ws, attrs = CONV_CASES[case]
    rng = np.random.default_rng(4)
    ins = [f32(rng, *xs), f32(rng, *ws)] + ([f32(rng, ws[0])] if bias else [])
    check_op("Conv", ins, attrs, rtol=1e-5, atol=1e-4)


BCAST = [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((1,), (5, 2)), ((), (2, 3)), ((4, 1, 1), (1, 2, 1))]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", BCAST, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_binary(op: str, shapes: tuple, dtype: str) -> None:
    rng = np.random.default_rng(6)
    if dtype == "float32":
        a, b = f32(rng, *shapes[0]), f32(rng, *shapes[1])
    else:
        a = rng.integers(-50, 50, size=shapes[0]).astype(dtype)
        b = rng.integers(1, 9, size=shapes[1]).astype(dtype) * rng.choice([-1, 1], size=shapes[1]).astype(dtype)
    check_op(op, [np.asarray(a), np.asarray(b)])


@pytest.mark.parametrize("op", ["Add", "Mul", "Sub"])
def test_binary_int8_wraps(op: str) -> None:
    rng = np.random.default_rng(0)
    check_op(op, [q(rng, "int8", 4, 5), q(rng, "int8", 5)])


@pytest.mark.parametrize("dtype", ["float32", "int8", "int32"])
def test_relu(dtype: str) -> None:
    rng = np.random.default_rng(0)
    x = f32(rng, 3, 1, 4) if dtype == "float32" else q(rng, "int8", 3, 1, 4).astype(dtype)
    check_op("Relu", [x])


@pytest.mark.parametrize("bounds", [(None, None), (-1.0, None), (None, 2.0), (-0.5, 0.5)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int8", "uint8"])
def test_clip(bounds: tuple, dtype: str) -> None:
    rng = np.random.default_rng(0)
    x = f32(rng, 2, 7) if dtype == "float32" else q(rng, dtype, 2, 7)
    mult = 1.0 if dtype == "float32" else 50.0
    lo = None if bounds[0] is None else np.asarray(bounds[0] * mult + (60 if dtype == "uint8" else 0)).astype(dtype)
    hi = None if bounds[1] is None else np.asarray(bounds[1] * mult + (60 if dtype == "uint8" else 0)).astype(dtype)
    check_op("Clip", [x, lo, hi])


@pytest.mark.parametrize("op", ["Sigmoid", "Tanh"])
def test_transcendental(op: str) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([f32(rng, 100), np.array([0, -30, 30, 1e-7, -100, 100], np.float32)])
    check_op(op, [x], rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax(axis: int) -> None:
    rng = np.random.default_rng(0)
    check_op("Softmax", [f32(rng, 3, 10)], {"axis": axis}, rtol=2e-6, atol=1e-8)


# ----------------------------------------------------------------------------- data movement
def test_reshape_flatten_squeeze_unsqueeze_identity_transpose() -> None:
    rng = np.random.default_rng(0)
    x = q(rng, "int8", 2, 1, 3, 4)
    for shape in ([0, -1], [4, 0, 3, 2], [-1], [24, 1]):
        check_op("Reshape", [x, np.array(shape, np.int64)])
    for axis in (0, 1, 2, 4, -1):
        check_op("Flatten", [x], {"axis": axis})
    check_op("Squeeze", [x, np.array([1], np.int64)])
    check_op("Squeeze", [x])
    check_op("Unsqueeze", [x, np.array([0, -1], np.int64)])
    check_op("Identity", [x])
    check_op("Transpose", [x], {"perm": [3, 0, 2, 1]})
    check_op("Transpose", [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis: int) -> None:
    rng = np.random.default_rng(0)
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for i, s in enumerate(shapes):
        s[axis] = i + 1
    check_op("Concat", [f32(rng, *s) for s in shapes], {"axis": axis})


@pytest.mark.parametrize("src,dst", [("int32", "float32"), ("float32", "int32"), ("uint8", "float32"),
                                     ("int8", "int32"), ("float32", "int64"), ("int64", "float32"),
                                     ("float32", "bool"), ("bool", "float32")])
def test_cast(src: str, dst: str) -> None:
    rng = np.random.default_rng(0)
    x = f32(rng, 3, 4, scale=50).astype(src) if src != "bool" else rng.integers(0, 2, (3, 4)).astype(bool)
    check_op("Cast", [x], {"to": _NP2ONNX[np.dtype(dst)]})


POOLS = {
    "2x2s2": {"kernel_shape": [2, 2], "strides": [2, 2]},
    "3x3s1p1": {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
    "3x3s2-ceil": {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    "3x2s2p-ceil": {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1], "ceil_mode": 1},
    "same-upper": {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    "dilated": {"kernel_shape": [2, 2], "dilations": [2, 2]},
    "dilated-pad": {"kernel_shape": [3, 2], "dilations": [2, 1], "pads": [1, 1, 1, 1], "strides": [2, 1]},
    "1x1": {"kernel_shape": [1, 1]},
}


@pytest.mark.parametrize("case", list(POOLS))
@pytest.mark.parametrize("dtype", ["float32", "int8", "uint8"])
def test_maxpool(case: str, dtype: str) -> None:
    rng = np.random.default_rng(0)
    x = f32(rng, 2, 3, 7, 6) if dtype == "float32" else q(rng, dtype, 2, 3, 7, 6)
    if dtype != "float32" and "dilations" in POOLS[case]:
        # onnxruntime's int8/uint8 MaxPool kernel takes no dilations: its float kernel decides
        (y,) = ours("MaxPool", [x], POOLS[case])
        (ref,) = ort_node("MaxPool", [x.astype(np.float32)], POOLS[case], [np.float32])
        np.testing.assert_array_equal(y.astype(np.float32), ref)
        return
    check_op("MaxPool", [x], POOLS[case])


# With count_include_pad=1, onnxruntime 1.23 bounds a window's bottom end by H + pads[1] (the left
# pad) instead of H + pads[2] (the bottom pad), so its divisor differs from the ONNX definition
# where those pads differ: those cases are checked against the definition (pool_ref) only.
ORT_AVGPOOL_DIFFERS = {"3x2s2p-ceil", "same-upper"}


def pool_ref(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """ONNX AveragePool by definition, one window at a time (count_include_pad counts the pads,
    never the ceil_mode overhang beyond them)."""
    (oh, ow), p = contract.window_geometry("ref", x.shape[2:], attrs)
    k, s = attrs["kernel_shape"], attrs.get("strides") or [1, 1]
    h, w = x.shape[2:]
    y = np.zeros((*x.shape[:2], oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = h0 + k[0], w0 + k[1]
            win = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            if attrs.get("count_include_pad"):
                cnt = (min(h1, h + p[2]) - h0) * (min(w1, w + p[3]) - w0)
            else:
                cnt = win.shape[2] * win.shape[3]
            y[:, :, i, j] = win.astype(np.float64).sum(axis=(2, 3)) / cnt
    return y


@pytest.mark.parametrize("case", list(POOLS))
@pytest.mark.parametrize("include_pad", [0, 1])
def test_average_pool(case: str, include_pad: int) -> None:
    rng = np.random.default_rng(0)
    x, attrs = f32(rng, 2, 3, 7, 6), {**POOLS[case], "count_include_pad": include_pad}
    if include_pad and case in ORT_AVGPOOL_DIFFERS:
        (y,) = ours("AveragePool", [x], attrs)
    else:
        (y,) = check_op("AveragePool", [x], attrs)
    if "dilations" not in attrs:
        np.testing.assert_allclose(y, pool_ref(x, attrs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 1), (1, 8, 3)], ids=str)
def test_global_average_pool(shape: tuple) -> None:
    rng = np.random.default_rng(0)
    check_op("GlobalAveragePool", [f32(rng, *shape)], rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- contrib ops
@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
@pytest.mark.parametrize("dtype", Q8)
@pytest.mark.parametrize("shapes", [((3, 8), (3, 8)), ((2, 1, 5), (4, 1)), ((1,), (6, 17)), ((70,), (70,))],
                         ids=str)
def test_qlinear_binary(op: str, dtype: str, shapes: tuple) -> None:
    rng = np.random.default_rng(9)
    a, b = q(rng, dtype, *shapes[0]), q(rng, dtype, *shapes[1])
    zp = lambda: np.asarray(q(rng, dtype, 1)[0])  # noqa: E731
    sc = lambda: np.asarray(np.float32(rng.uniform(0.01, 0.1)))  # noqa: E731
    check_op(op, [a, sc(), zp(), b, sc(), zp(), sc(), zp()], domain="com.microsoft")


@pytest.mark.parametrize("adt,bdt", [("uint8", "int8"), ("int8", "int8"), ("uint8", "uint8")])
@pytest.mark.parametrize("trans", [(0, 0), (0, 1), (1, 0)])
@pytest.mark.parametrize("quantized_out", [False, True])
@pytest.mark.parametrize("per_column", [False, True])
def test_qgemm(adt: str, bdt: str, trans: tuple, quantized_out: bool, per_column: bool) -> None:
    rng = np.random.default_rng(11)
    m, k, n = 5, 37, 6
    a = q(rng, adt, *((k, m) if trans[0] else (m, k)))
    b = q(rng, bdt, *((n, k) if trans[1] else (k, n)))
    bs = rng.uniform(0.001, 0.01, n).astype(np.float32) if per_column else np.asarray(np.float32(0.004))
    bz = (np.zeros(n, bdt) if bdt == "int8" else q(rng, bdt, n)) if per_column else np.asarray(q(rng, bdt, 1)[0])
    c = rng.integers(-5000, 5000, n).astype(np.int32)
    ins = [a, np.asarray(np.float32(0.03)), np.asarray(q(rng, adt, 1)[0]), b, bs, bz, c]
    if quantized_out:
        ins += [np.asarray(np.float32(0.2)), np.asarray(q(rng, adt, 1)[0])]
    attrs = {"transA": trans[0], "transB": trans[1], "alpha": 0.75}
    check_op("QGemm", ins, attrs, domain="com.microsoft")
    check_op("QGemm", ins[:6], attrs, domain="com.microsoft")


@pytest.mark.parametrize("dtype", Q8)
@pytest.mark.parametrize("channels_last", [0, 1])
def test_qlinear_global_average_pool(dtype: str, channels_last: int) -> None:
    rng = np.random.default_rng(0)
    x = q(rng, dtype, 2, 5, 3, 4)
    ins = [x, np.asarray(np.float32(0.05)), np.asarray(q(rng, dtype, 1)[0]), np.asarray(np.float32(0.03)),
           np.asarray(q(rng, dtype, 1)[0])]
    check_op("QLinearGlobalAveragePool", ins, {"channels_last": channels_last}, domain="com.microsoft")


# ----------------------------------------------------------------------------- misc
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("last", [0, 1])
def test_argmax(axis: int, keepdims: int, last: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(3, 4, 5)).astype(np.float32)  # ties: first vs last index
    check_op("ArgMax", [x], {"axis": axis, "keepdims": keepdims, "select_last_index": last})


def test_shape_and_gather() -> None:
    rng = np.random.default_rng(0)
    x = f32(rng, 2, 3, 4)
    check_op("Shape", [x])
    check_op("Shape", [x], {"start": 1, "end": -1})
    check_op("Gather", [x, np.array([[0, -1], [1, 1]], np.int64)], {"axis": 1})
    check_op("Gather", [x, np.asarray(np.int64(1))], {"axis": 0})


# ----------------------------------------------------------------------------- accel helpers
@pytest.mark.parametrize("dtype", Q8)
@pytest.mark.parametrize("per_column", [False, True])
def test_requantize_is_the_epilogue(dtype: str, per_column: bool) -> None:
    from accel.contract import epilogue

    rng = np.random.default_rng(1)
    acc = rng.integers(-(2**20), 2**20, size=(5, 7)).astype(np.int32)
    bias = rng.integers(-1000, 1000, size=7).astype(np.int32)
    scale = rng.uniform(1e-5, 1e-3, 7).astype(np.float32) if per_column else np.float32(3e-4)
    zp = -5 if dtype == "int8" else 120
    attrs = {"scale": scale.tolist() if per_column else float(scale), "zero_point": zp, "lo": zp, "hi": None,
             "out_dtype": dtype}
    (y,) = ours("accel.Requantize", [acc, bias], attrs)
    hi = contract.QUANT_RANGES[dtype][1]
    want = epilogue.requantize((acc.astype(np.int64) + bias).astype(np.int32), scale, zp, dtype, (zp, hi))
    np.testing.assert_array_equal(y, want)
    assert y.min() >= zp  # the Relu clamp


@pytest.mark.parametrize("case", [c for c, (_, _, a) in CONV_CASES.items() if a.get("group", 1) == 1])
def test_im2col_matmul_rows_to_nchw_is_conv_integer(case: str) -> None:
    """The compiler's conv lowering (Im2Col -> matmul on [C*KH*KW, O] -> RowsToNCHW) equals ConvInteger."""
    xs, ws, attrs = CONV_CASES[case]
    rng = np.random.default_rng(8)
    x, w = q(rng, "uint8", *xs), q(rng, "int8", *ws)
    xz = np.uint8(17)
    (cols,) = ours("accel.Im2Col", [x], {**attrs, "kernel_shape": list(ws[2:]), "pad_value": int(xz)})
    wmat = w.reshape(ws[0], -1).T
    rows = (cols.astype(np.int32) - int(xz)) @ wmat.astype(np.int32)
    n, oh, ow = xs[0], *contract.output_specs("ConvInteger", [(xs, "uint8"), (ws, "int8")], attrs)[0][0][2:]
    (y,) = ours("accel.RowsToNCHW", [rows.astype(np.int32)], {"n": n, "oh": oh, "ow": ow})
    np.testing.assert_array_equal(y, conv_ref(x.astype(np.int64) - int(xz), w.astype(np.int64), attrs))


# ----------------------------------------------------------------------------- node tests
@pytest.mark.parametrize("name", node_tests.cases())
def test_onnx_node_tests_through_host_ops(name: str) -> None:
    """Every issue-14 node test of the onnx wheel, run as a host op (the CPU fallback)."""
    case = node_tests.load(name)
    model = onnx.load(str(case.model_path))
    (node,) = model.graph.node
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    ins = [None if n == "" else (case.inputs[n] if n in case.inputs else inits[n]) for n in node.input]
    (y,) = ours(node.op_type, ins, attrs)
    (want,) = node_tests.expected(case).values()
    if want.dtype.kind == "f":
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(y, want)


# ----------------------------------------------------------------------------- whole models
def run_graph_on_host_ops(model: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node of ``model`` as a host op, in graph order, into buffers sized by output_specs."""
    env = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        op = contract.qualified_name(node.domain, node.op_type)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        ins = [None if n == "" else env[n] for n in node.input]
        specs = [None if x is None else (x.shape, x.dtype.name) for x in ins]
        outs = [np.empty(s, d) for s, d in contract.output_specs(op, specs, attrs, values=ins)]
        hostops.run(op, ins, attrs, outs)
        env.update(zip(node.output, outs, strict=True))
    return {o.name: env[o.name] for o in model.graph.output}


@pytest.mark.parametrize("name,variant", zoo.all_models(), ids=lambda v: str(v))
def test_zoo_model_runs_on_host_ops(name: str, variant: str, zoo_dir: Any) -> None:
    """A whole zoo model computed node by node with the host ops equals onnxruntime's node-by-node
    execution: bit for bit where every node is integer or elementwise (QOperator, dynamic), to
    float32 rounding where float matmuls/convs sum in another order (float, QDQ)."""
    path = zoo.build(name, variant, zoo_dir)
    x = zoo.dataset(name)[2][:300]
    mine = run_graph_on_host_ops(onnx.load(str(path)), {"input": x})["logits"]
    ref = node_tests.ort_outputs(path, {"input": x})["logits"]
    if variant.startswith(("qop", "dynamic")):
        np.testing.assert_array_equal(mine, ref)
    else:
        # a requantization of a float sum may land one step apart; top-1 must still agree
        np.testing.assert_allclose(mine, ref, rtol=0.05, atol=0.05 * np.abs(ref).max())
        assert (mine.argmax(-1) == ref.argmax(-1)).mean() >= 0.99


# ----------------------------------------------------------------------------- errors and contract
def test_check_names_op_and_attribute() -> None:
    with pytest.raises(ProgramError, match=r"'Frobnicate' is not supported.*QuantizeLinear"):
        contract.check("Frobnicate", 1, {})
    with pytest.raises(ProgramError, match="Relu: takes 1 inputs"):
        contract.check("Relu", 2, {})
    with pytest.raises(ProgramError, match=r"MaxPool: attribute.*bogus"):
        contract.check("MaxPool", 1, {"kernel_shape": [2, 2], "bogus": 1})
    with pytest.raises(ProgramError, match=r"MaxPool: required attribute.*kernel_shape"):
        contract.check("MaxPool", 1, {})
    with pytest.raises(ProgramError, match="auto_pad"):
        contract.check("Conv", 2, {"auto_pad": "SAME"})
    with pytest.raises(ProgramError, match="storage_order"):
        contract.check("MaxPool", 1, {"kernel_shape": [2, 2], "storage_order": 1})
    with pytest.raises(ProgramError, match="output_dtype"):
        contract.check("DequantizeLinear", 2, {"output_dtype": 3})
    with pytest.raises(ProgramError, match="block_size"):
        contract.check("QuantizeLinear", 3, {"block_size": 32})
    with pytest.raises(ProgramError, match="out_dtype"):
        contract.check("accel.Requantize", 1, {"scale": 0.1, "out_dtype": "int16"})
    with pytest.raises(ProgramError, match="clamp"):
        contract.check("accel.Requantize", 1, {"scale": 0.1, "lo": 10, "hi": 5})
    with pytest.raises(ProgramError, match="scale"):
        contract.check("accel.Requantize", 1, {"scale": -1.0})
    with pytest.raises(ProgramError, match="Cast: attribute to"):
        contract.check("Cast", 1, {"to": 99})
    with pytest.raises(ProgramError, match="MaxPool: produces 1 output"):
        contract.check("MaxPool", 1, {"kernel_shape": [2, 2]}, n_outputs=2)


def test_run_refuses_wrong_outputs_and_inputs() -> None:
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ShapeError, match="output 0 has shape"):
        hostops.run("Relu", [x], {}, [np.zeros((3, 2), np.float32)])
    with pytest.raises(DtypeError, match="output 0 has dtype"):
        hostops.run("Relu", [x], {}, [np.zeros((2, 3), np.float64)])
    with pytest.raises(ShapeError, match="do not broadcast"):
        hostops.run("Add", [x, np.zeros((4,), np.float32)], {}, [np.zeros((2, 3), np.float32)])
    with pytest.raises(DtypeError, match="int8 and float32"):
        contract.output_specs("Add", [((2,), "int8"), ((2,), "float32")], {})
    with pytest.raises(ShapeError, match="must be known at compile time"):
        contract.output_specs("Reshape", [((2, 3), "int8"), ((2,), "int64")], {})
    with pytest.raises(ShapeError, match="cannot reshape"):
        contract.output_specs("Reshape", [((2, 3), "int8"), ((1,), "int64")], {}, values=[None, np.array([5])])
    with pytest.raises(ShapeError, match="A's last dim"):
        contract.output_specs("MatMulInteger", [((2, 3), "int8"), ((4, 5), "int8")], {})
    with pytest.raises(ShapeError, match="only 2-D convolutions"):
        contract.output_specs("Conv", [((1, 2, 5), "float32"), ((1, 2, 3), "float32")], {})
    with pytest.raises(ShapeError, match="group=2"):
        contract.output_specs("Conv", [((1, 3, 5, 5), "float32"), ((4, 1, 3, 3), "float32")], {"group": 2})
    with pytest.raises(DtypeError, match="y_scale has dtype float64"):
        contract.output_specs("QuantizeLinear", [((3,), "float32"), ((), "float64")], {})
    with pytest.raises(ShapeError, match="1-D of length 3"):
        contract.output_specs("QuantizeLinear", [((2, 3), "float32"), ((2,), "float32")], {"axis": 1})
    with pytest.raises(ShapeError, match="larger than the padded input"):
        contract.output_specs("MaxPool", [((1, 1, 2, 2), "float32")], {"kernel_shape": [3, 3]})
    with pytest.raises(DtypeError, match="input 0 is a list"):
        hostops.run("Relu", [[1.0, 2.0]], {}, [np.zeros(2, np.float32)])
    with pytest.raises(ProgramError, match="produces 3 output"):
        hostops.run("DynamicQuantizeLinear", [x], {}, [np.zeros((2, 3), np.uint8)])
    with pytest.raises(ShapeError, match="indices must lie"):
        hostops.run("Gather", [x, np.array([5])], {"axis": 1}, [np.zeros((2, 1), np.float32)])


def test_outputs_are_written_in_place() -> None:
    """run() fills the caller's (arena) arrays: a view into a larger buffer receives the result."""
    arena = np.zeros(64, np.uint8)
    out = arena[8:8 + 12].view(np.int8).reshape(3, 4)
    x = (np.arange(12, dtype=np.float32).reshape(3, 4) - 6) * 10
    hostops.run("QuantizeLinear", [x, np.asarray(np.float32(2.0)), np.asarray(np.int8(1))], {}, [out])
    assert arena[8:20].view(np.int8).tolist() == list(np.clip(np.rint(x.ravel() / 2) + 1, -128, 127))
    assert not arena[:8].any() and not arena[20:].any()


def test_supported_set_and_cost() -> None:
    ops = contract.supported()
    assert len(ops) == len(set(ops)) == len(contract.HOST_OPS)
    for must in ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul",
                 "ConvInteger", "QLinearConv", "com.microsoft.QLinearAdd", "accel.Requantize", "accel.Im2Col",
                 "accel.RowsToNCHW"):
        assert must in ops
    # every op of the table has exactly one implementation
    assert set(hostops._IMPL) == set(ops)
    c = contract.cost("MatMulInteger", [((4, 8), "uint8"), ((8, 3), "int8")], {})
    assert c == {"bytes_read": 32 + 24, "bytes_written": 4 * 3 * 4, "elements": 12, "macs": 4 * 8 * 3}
    c = contract.cost("QLinearConv", [((1, 2, 5, 5), "uint8"), ((), "float32"), ((), "uint8"), ((3, 2, 3, 3), "int8"),
                                      ((), "float32"), ((), "int8"), ((), "float32"), ((), "uint8")],
                      {"pads": [1, 1, 1, 1]})
    assert c["macs"] == 3 * 25 * 18 and c["bytes_written"] == 75
    c = contract.cost("Reshape", [((2, 3), "float32"), ((1,), "int64")], {}, values=[None, np.array([-1])])
    assert c == {"bytes_read": 24 + 8, "bytes_written": 24, "elements": 6, "macs": 0}
