"""The shared test material itself: zoo models build, run in onnxruntime, are what their variant
names say, and keep their accuracy when quantized; the node-test loader finds and reads the
ONNX wheel's tests, and its known-bad list is exactly where the shipped data disagrees with
onnxruntime."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import numpy_helper  # noqa: E402

from accel.bench import zoo  # noqa: E402

from . import node_tests  # noqa: E402


@pytest.fixture(scope="module")
def zoo_dir() -> Any:
    return zoo.default_dir()


@pytest.fixture(scope="module")
def float_predictions(zoo_dir: Any) -> dict[str, np.ndarray]:
    return {m: zoo.predict(zoo.build(m, "float", zoo_dir), zoo.dataset(m)[2]) for m in zoo.MODELS}


def _ops(model: Any) -> Counter:
    return Counter((f"{n.domain}." if n.domain else "") + n.op_type for n in model.graph.node)


def test_datasets_are_deterministic_and_shaped() -> None:
    for name in zoo.MODELS:
        a, b = zoo.dataset(name), zoo.dataset(name)
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
        xtr, ytr, xte, yte = a
        assert xtr.dtype == np.float32 and len(xtr) == len(ytr) and len(xte) == len(yte) > 0
        assert set(np.unique(ytr)) == set(range(10))
    assert zoo.dataset("cnn")[0].shape[1:] == (1, 8, 8)
    assert zoo.dataset("batched")[0].shape[1:] == (4, 64)
    with pytest.raises(KeyError, match="unknown model"):
        zoo.dataset("resnet")


def test_build_caches_by_content_key(tmp_path: Any) -> None:
    p1 = zoo.build("gemm", "float", tmp_path)
    mtime = p1.stat().st_mtime_ns
    p2 = zoo.build("gemm", "float", tmp_path)
    assert p1 == p2 and p2.stat().st_mtime_ns == mtime and zoo.cache_key() in p1.name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left
    with pytest.raises(KeyError, match="unknown variant"):
        zoo.build("gemm", "int4", tmp_path)


def test_quantizer_reads_a_private_copy(tmp_path: Any, monkeypatch: Any) -> None:
    """onnxruntime's quantizers write and then delete ``<input>-inferred.onnx`` beside their
    input; two xdist workers quantizing variants of one cached float model deleted each other's
    file (a CI failure). Each build must hand the quantizer a copy in a directory of its own."""
    seen: list[Any] = []
    real = zoo._quantize

    def spy(source: Any, out: Any, name: str, v: Any) -> None:
        seen.append((source, source.read_bytes()))
        real(source, out, name, v)

    monkeypatch.setattr(zoo, "_quantize", spy)
    shared = zoo.build("gemm", "float", tmp_path)
    zoo.build("gemm", "qdq_u8s8", tmp_path)
    (source, data), = seen
    assert source.parent != shared.parent and data == shared.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or "inferred" in p.name]


@pytest.mark.parametrize("name,variant", zoo.all_models(), ids=str)
def test_model_runs_and_keeps_accuracy(name: str, variant: str, zoo_dir: Any,
                                       float_predictions: dict[str, np.ndarray]) -> None:
    path = zoo.build(name, variant, zoo_dir)
    _, _, xte, yte = zoo.dataset(name)
    logits = zoo.run(path, {"input": xte})["logits"]
    assert logits.dtype == np.float32 and logits.shape == (*yte.shape, 10)
    pred = logits.argmax(-1)
    acc, acc_float = (pred == yte).mean(), (float_predictions[name] == yte).mean()
    assert acc_float >= 0.9, f"{name}: the float model should have learned its task ({acc_float:.3f})"
    # quantizing keeps the answer: top-1 agrees with the float model on >= 99 % of the held-out set
    assert (pred == float_predictions[name]).mean() >= 0.99
    assert abs(acc - acc_float) <= 0.01


@pytest.mark.parametrize("name,variant", zoo.all_models(), ids=str)
def test_variant_is_what_its_name_says(name: str, variant: str, zoo_dir: Any) -> None:
    model = onnx.load(str(zoo.build(name, variant, zoo_dir)))
    ops = _ops(model)
    v = zoo.VARIANTS[variant]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    if v.method is None:
        assert not any("Quant" in o or "Integer" in o or "QLinear" in o for o in ops)
        return
    if v.method == "dynamic":
        assert ops["DynamicQuantizeLinear"] >= 1 and ops["MatMulInteger"] + ops["ConvInteger"] >= 1
        weights = [inits[n.input[1]] for n in model.graph.node if n.op_type in ("MatMulInteger", "ConvInteger")]
        assert {w.dtype.name for w in weights} == {v.weight.lower().replace("q", "")}
        return
    if v.fmt == "QDQ":
        assert ops["QuantizeLinear"] >= 1 and ops["DequantizeLinear"] >= 1
        assert not any(o.startswith(("QLinear", "com.microsoft")) for o in ops)
        qs = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
        act_zps = [inits[n.input[2]] for n in qs]
    else:
        assert ops["QLinearMatMul"] + ops["QLinearConv"] + ops["com.microsoft.QGemm"] >= 1
        qs = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
        act_zps = [inits[n.input[2]] for n in qs]
    want_act = v.activation.lower().replace("q", "")
    assert {z.dtype.name for z in act_zps} == {want_act}
    if v.activation_symmetric:
        assert all(int(z) == 0 for z in act_zps)
    # weight scales: one per output channel with per_channel, else one
    dq_w = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
            and inits[n.input[0]].ndim >= 2]
    qlin = [n for n in model.graph.node if n.op_type in ("QLinearMatMul", "QLinearConv", "QGemm")]
    w_scales = [inits[n.input[1]] for n in dq_w] + [inits[n.input[4]] for n in qlin]
    assert w_scales and all((s.size > 1) == v.per_channel for s in w_scales)


def test_node_test_cases_load() -> None:
    names = node_tests.cases()
    if not names:
        pytest.skip("this onnx wheel ships no node tests (onnx >= 1.20)")
    assert len(names) == 26
    assert {"test_matmulinteger", "test_qlinearconv", "test_convinteger_with_padding", "test_gemm_transposeB",
            "test_matmul_4d", "test_qlinearmatmul_3D_int8_float32"} <= set(names)
    case = node_tests.load("test_matmulinteger")
    model = onnx.load(str(case.model_path))
    assert list(case.inputs) == [i.name for i in model.graph.input]
    assert list(case.outputs) == [o.name for o in model.graph.output]
    assert case.outputs["Y"].dtype == np.int32


@pytest.mark.parametrize("name", node_tests.cases())
def test_known_bad_data_is_exactly_where_onnxruntime_disagrees(name: str) -> None:
    case = node_tests.load(name)
    ort = node_tests.ort_outputs(case.model_path, case.inputs)
    same = all(np.array_equal(ort[k], v) if v.dtype.kind != "f" else np.allclose(ort[k], v, rtol=1e-3, atol=1e-3)
               for k, v in case.outputs.items())
    assert same == (name not in node_tests.KNOWN_BAD_DATA)
    if name in node_tests.KNOWN_BAD_DATA:
        for k, v in node_tests.expected(case).items():
            np.testing.assert_array_equal(v, ort[k])
