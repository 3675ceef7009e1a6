"""Small trained ONNX models and their onnxruntime-quantized variants: the test suite's models and
what ``accel-run bench-models`` measures (so it works from an install, not only a checkout; it
needs onnx and onnxruntime, the ``dev`` extras, and never runs on the board path).

Every model is built deterministically (fixed seeds, numpy + ``onnx.helper``) and trained in a
second or two with numpy on a synthetic, separable classification task, so top-1 accuracy means
something and quantization can be judged by it:

- ``mlp``: MatMul + Add + Relu, 64-128-64-10, on ``clusters`` (10 gaussian clusters in 64 dims);
- ``gemm``: Gemm(transB=1) + Relu + Gemm(transB=1), 64-32-10, on ``clusters``;
- ``batched``: MatMul with a leading batch dim, input [batch, 4, 64] -> [batch, 4, 10] (4 samples
  of ``clusters`` per row), 64-32-10;
- ``cnn``: Conv 3x3 pad 1 (1->8) + Relu + MaxPool 2x2, Conv 3x3 pad 1 (8->16) + Relu, Flatten,
  Gemm(transB=1) 256->10, on ``images`` (8x8 single-channel pictures of 10 noisy templates).
  Its conv filters are fixed random (He-scaled) features and only its classifier is trained: a
  conv layer needs no backprop here to be a realistic quantization target.

Every graph input has a symbolic batch dimension ``batch``. Variants (:data:`VARIANTS`): ``float``
and onnxruntime's quantizer in its three formats — ``quantize_static`` QDQ and QOperator
(calibrated on the training set, MinMax), ``quantize_dynamic`` — with uint8/int8 activations,
int8/uint8 weights, per-tensor/per-channel weights, symmetric/asymmetric activations.

:func:`build` caches each .onnx file in a directory under a key that hashes this module's source
and the onnx/onnxruntime/numpy versions, so a change to a builder rebuilds and nothing else does.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.overlays.tools import cache_dir

#: model name -> the dataset it is trained on.
MODELS = {"mlp": "clusters", "gemm": "clusters", "batched": "clusters", "cnn": "images"}


@dataclass(frozen=True)
class Variant:
    """How a float model is quantized (None: not at all)."""

    method: str | None  # "static" | "dynamic" | None
    fmt: str | None = None  # "QDQ" | "QOperator" (static only)
    activation: str = "QUInt8"
    weight: str = "QInt8"
    per_channel: bool = False
    activation_symmetric: bool = False
    weight_symmetric: bool | None = None  # None: the quantizer's default (symmetric for int8 weights)


VARIANTS: dict[str, Variant] = {
    "float": Variant(None),
    "qdq_u8s8": Variant("static", "QDQ"),
    "qdq_s8s8_perchannel": Variant("static", "QDQ", "QInt8", "QInt8", per_channel=True),
    "qdq_s8s8_symmetric": Variant("static", "QDQ", "QInt8", "QInt8", activation_symmetric=True),
    "qdq_u8u8_asym": Variant("static", "QDQ", "QUInt8", "QUInt8", weight_symmetric=False),
    "qop_u8s8": Variant("static", "QOperator"),
    "qop_s8s8_perchannel": Variant("static", "QOperator", "QInt8", "QInt8", per_channel=True),
    "qop_u8u8_asym": Variant("static", "QOperator", "QUInt8", "QUInt8", weight_symmetric=False),
    "dynamic_u8s8": Variant("dynamic", weight="QInt8"),
    "dynamic_u8u8_perchannel": Variant("dynamic", weight="QUInt8", per_channel=True),
}


#: (model, variant) pairs :func:`all_models` leaves out, and why.
EXCLUDED = {
    ("cnn", "dynamic_u8s8"): "quantize_dynamic writes ConvInteger with int8 weights, for which onnxruntime 1.23 "
                             "has no kernel: the model does not run in onnxruntime itself",
}


def all_models() -> list[tuple[str, str]]:
    """Every (model name, variant) pair the suite uses (all of MODELS x VARIANTS but :data:`EXCLUDED`)."""
    return [(m, v) for m in MODELS for v in VARIANTS if (m, v) not in EXCLUDED]


# ----------------------------------------------------------------------------- datasets
def _clusters(seed: int = 1234) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((10, 64)).astype(np.float32) * 0.55
    n_train, n_test = 2000, 1000
    y = rng.integers(0, 10, n_train + n_test)
    x = centers[y] + rng.standard_normal((n_train + n_test, 64)).astype(np.float32)
    x = x.astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _images(seed: int = 4321) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8].astype(np.float32)
    templates = np.zeros((10, 8, 8), np.float32)
    for c in range(10):  # two blobs per class at random places
        for _ in range(2):
            cy, cx, r = rng.uniform(1, 7), rng.uniform(1, 7), rng.uniform(1.0, 2.5)
            templates[c] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    n_train, n_test = 2000, 1000
    y = rng.integers(0, 10, n_train + n_test)
    gain = rng.uniform(0.8, 1.2, (n_train + n_test, 1, 1)).astype(np.float32)
    x = templates[y] * gain + rng.standard_normal((n_train + n_test, 8, 8)).astype(np.float32) * 0.4
    x = x[:, None].astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) shaped as model ``name`` (or dataset ``clusters`` /
    ``images``) takes them; labels are int64 class indices (for ``batched``: [n, 4])."""
    if name in ("clusters", "images"):
        return _clusters() if name == "clusters" else _images()
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    xtr, ytr, xte, yte = dataset(MODELS[name])
    if name == "batched":
        return xtr.reshape(-1, 4, 64), ytr.reshape(-1, 4), xte.reshape(-1, 4, 64), yte.reshape(-1, 4)
    return xtr, ytr, xte, yte


# ----------------------------------------------------------------------------- training (numpy)
def _train_dense(x: np.ndarray, y: np.ndarray, sizes: list[int], seed: int, epochs: int = 30,
                 lr: float = 3e-3) -> list[tuple[np.ndarray, np.ndarray]]:
    """A Relu MLP (weights [in, out]) trained with Adam on softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal((i, o)) * np.sqrt(2.0 / i), np.zeros(o)) for i, o in itertools.pairwise(sizes)]
    flat = [p for wb in params for p in wb]
    m = [np.zeros_like(p) for p in flat]
    v = [np.zeros_like(p) for p in flat]
    step = 0
    xs, ys = x.astype(np.float64), y
    for _ in range(epochs):
        order = rng.permutation(len(xs))
        for s in range(0, len(xs), 100):
            idx = order[s:s + 100]
            acts = [xs[idx]]
            for li, (w, b) in enumerate(params):
                z = acts[-1] @ w + b
                acts.append(np.maximum(z, 0) if li < len(params) - 1 else z)
            p = np.exp(acts[-1] - acts[-1].max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(idx)), ys[idx]] -= 1
            grad = p / len(idx)
            grads = []
            for li in range(len(params) - 1, -1, -1):
                w, _ = params[li]
                grads = [acts[li].T @ grad, grad.sum(0), *grads]
                grad = (grad @ w.T) * (acts[li] > 0)
            step += 1
            for i, g in enumerate(grads):
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                flat[i] -= lr * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
            params = [(flat[2 * i], flat[2 * i + 1]) for i in range(len(params))]
    return [(w.astype(np.float32), b.astype(np.float32)) for w, b in params]


# ----------------------------------------------------------------------------- graphs
def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: dict[str, np.ndarray], name: str) -> Any:
    from onnx import helper, numpy_helper

    graph = helper.make_graph(nodes, name, inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                              producer_name="pynq-accel accel.bench.zoo")
    import onnx

    onnx.checker.check_model(model)
    return model


def _io(name: str, shape: list[Any]) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _mlp_graph(params: list[tuple[np.ndarray, np.ndarray]], in_shape: list[Any], out_shape: list[Any],
               name: str) -> Any:
    from onnx import helper

    nodes, inits, cur = [], {}, "input"
    for i, (w, b) in enumerate(params):
        inits[f"W{i}"], inits[f"B{i}"] = w, b
        nodes.append(helper.make_node("MatMul", [cur, f"W{i}"], [f"mm{i}"], name=f"matmul{i}"))
        out = "logits" if i == len(params) - 1 else f"add{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"B{i}"], [out], name=f"add{i}"))
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"], name=f"relu{i}"))
            cur = f"relu{i}"
    return _model(nodes, [_io("input", in_shape)], [_io("logits", out_shape)], inits, name)


def _build_mlp() -> Any:
    xtr, ytr, _, _ = dataset("mlp")
    params = _train_dense(xtr, ytr, [64, 128, 64, 10], seed=1)
    return _mlp_graph(params, ["batch", 64], ["batch", 10], "mlp")


def _build_batched() -> Any:
    xtr, ytr, _, _ = dataset("clusters")
    params = _train_dense(xtr, ytr, [64, 32, 10], seed=2)
    return _mlp_graph(params, ["batch", 4, 64], ["batch", 4, 10], "batched")


def _build_gemm() -> Any:
    from onnx import helper

    xtr, ytr, _, _ = dataset("gemm")
    (w0, b0), (w1, b1) = _train_dense(xtr, ytr, [64, 32, 10], seed=3)
    inits = {"W0": np.ascontiguousarray(w0.T), "B0": b0, "W1": np.ascontiguousarray(w1.T), "B1": b1}
    nodes = [
        helper.make_node("Gemm", ["input", "W0", "B0"], ["g0"], name="gemm0", transB=1),
        helper.make_node("Relu", ["g0"], ["r0"], name="relu0"),
        helper.make_node("Gemm", ["r0", "W1", "B1"], ["logits"], name="gemm1", transB=1),
    ]
    return _model(nodes, [_io("input", ["batch", 64])], [_io("logits", ["batch", 10])], inits, "gemm")


def _cnn_nodes(head: tuple[np.ndarray, np.ndarray] | None) -> tuple[list[Any], dict[str, np.ndarray], str]:
    from onnx import helper

    rng = np.random.default_rng(5)
    w1 = (rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2 / 9)).astype(np.float32)
    w2 = (rng.standard_normal((16, 8, 3, 3)) * np.sqrt(2 / 72)).astype(np.float32)
    inits = {"C1": w1, "C1b": (rng.standard_normal(8) * 0.1).astype(np.float32),
             "C2": w2, "C2b": (rng.standard_normal(16) * 0.1).astype(np.float32)}
    nodes = [
        helper.make_node("Conv", ["input", "C1", "C1b"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "C2", "C2b"], ["c2"], name="conv2", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["features"], name="flatten", axis=1),
    ]
    if head is None:
        return nodes, inits, "features"
    inits["W"], inits["B"] = np.ascontiguousarray(head[0].T), head[1]
    nodes.append(helper.make_node("Gemm", ["features", "W", "B"], ["logits"], name="fc", transB=1))
    return nodes, inits, "logits"


def _build_cnn() -> Any:
    xtr, ytr, _, _ = dataset("cnn")
    nodes, inits, out = _cnn_nodes(None)
    features = _model(nodes, [_io("input", ["batch", 1, 8, 8])], [_io(out, ["batch", 256])], inits, "cnn_features")
    feats = run(features, {"input": xtr})[out]
    ((w, b),) = _train_dense(feats, ytr, [256, 10], seed=6, epochs=40)
    nodes, inits, out = _cnn_nodes((w, b))
    return _model(nodes, [_io("input", ["batch", 1, 8, 8])], [_io(out, ["batch", 10])], inits, "cnn")


_BUILDERS = {"mlp": _build_mlp, "gemm": _build_gemm, "batched": _build_batched, "cnn": _build_cnn}


# ----------------------------------------------------------------------------- quantization
class _Calibration:
    """onnxruntime CalibrationDataReader over the first 400 training samples, 100 at a time."""

    def __init__(self, name: str) -> None:
        x = dataset(name)[0]
        self._batches: Iterator[dict[str, np.ndarray]] = iter(
            [{"input": x[i:i + 100]} for i in range(0, min(len(x), 400), 100)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def _quantize(float_path: Path, out: Path, name: str, v: Variant) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    extra: dict[str, Any] = {}
    if v.activation_symmetric:
        extra["ActivationSymmetric"] = True
    if v.weight_symmetric is not None:
        extra["WeightSymmetric"] = v.weight_symmetric
    if v.method == "dynamic":
        quantize_dynamic(float_path, out, per_channel=v.per_channel, weight_type=QuantType[v.weight],
                         extra_options=extra)
        return
    reader = _Calibration(name)
    quantize_static(float_path, out, reader, quant_format=QuantFormat[v.fmt], per_channel=v.per_channel,
                    activation_type=QuantType[v.activation], weight_type=QuantType[v.weight],
                    extra_options=extra)


def cache_key() -> str:
    """Hash of this module's source and the versions that shape its output."""
    import onnx
    import onnxruntime

    h = hashlib.sha256(inspect.getsource(inspect.getmodule(cache_key)).encode())
    h.update(f"{onnx.__version__}|{onnxruntime.__version__}|{np.__version__}".encode())
    return h.hexdigest()[:16]


def default_dir() -> Path:
    """Where :func:`build` caches by default: ``$ACCEL_MODEL_CACHE``, else the project's cache
    (``$ACCEL_CACHE_DIR`` or ``~/.cache/pynq-accel``) under ``models``."""
    env = os.environ.get("ACCEL_MODEL_CACHE")
    return Path(env) if env else cache_dir("models")


def build(name: str, variant: str = "float", dir: Path | str | None = None) -> Path:
    """The .onnx file of model ``name`` in ``variant``, built (and the float model trained) on
    first use and cached in ``dir`` (default :func:`default_dir`). Safe under concurrent builds
    (each file is written to a temporary name and renamed)."""
    if name not in _BUILDERS:
        raise KeyError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    if variant not in VARIANTS:
        raise KeyError(f"unknown variant {variant!r}; variants: {', '.join(VARIANTS)}")
    root = Path(dir) if dir is not None else default_dir()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}-{variant}-{cache_key()}.onnx"
    if path.exists():
        return path
    if variant == "float":
        data = _BUILDERS[name]().SerializeToString()
        _atomic_write(path, lambda tmp: tmp.write_bytes(data))
        return path
    float_path = build(name, "float", root)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{name}-{variant}.") as private:
        # onnxruntime's quantizers write `<input>-inferred.onnx` next to their input and delete
        # it afterwards, so two workers quantizing variants of one float model would delete each
        # other's file: each quantizes its own copy.
        source = Path(private) / float_path.name
        shutil.copyfile(float_path, source)
        _atomic_write(path, lambda tmp: _quantize(source, tmp, name, VARIANTS[variant]))
    return path


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".onnx")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ----------------------------------------------------------------------------- evaluation
def ort_session(model: Any, *, optimized: bool = False) -> Any:
    """An onnxruntime CPU session on one thread for ``model`` (a path, bytes or ModelProto).

    By default every node runs as written (graph optimizations off: one kernel per node, the
    reference for a node-by-node comparison). ``optimized=True`` is what a user's default
    session does: onnxruntime then fuses QDQ groups (DequantizeLinear -> MatMul/Conv ->
    QuantizeLinear) into its integer kernels (QLinearMatMul, QLinearConv), whose outputs can
    differ from the unfused float graph by a quantization step."""
    import onnxruntime as ort

    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif isinstance(model, Path):
        model = str(model)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized
                                     else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def ort_outputs(model: Any, inputs: dict[str, np.ndarray], *, optimized: bool = False) -> dict[str, np.ndarray]:
    """onnxruntime's CPU outputs (by graph output name) of ``model`` (see :func:`ort_session`)."""
    sess = ort_session(model, optimized=optimized)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, inputs), strict=True))


def run(model: Any, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime's CPU outputs, one kernel per node (see :func:`ort_outputs`)."""
    return ort_outputs(model, inputs)


def predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Top-1 class of every sample of ``x`` under the model at ``path`` (onnxruntime)."""
    return run(path, {"input": x})["logits"].argmax(-1)


def accuracy(path: Path, name: str) -> float:
    """Top-1 accuracy on the held-out set of ``name``."""
    _, _, xte, yte = dataset(name)
    return float((predict(path, xte) == yte).mean())
