"""accel-run bench-models: a quick subset into tmp_path (the stamped file, its fields and what they
must say), a model that does not compile as a one-line row, and the pricing/rendering helpers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("iree.compiler")

from click.testing import CliRunner  # noqa: E402

from accel.bench import models as M  # noqa: E402
from accel.bench.docs import render_text  # noqa: E402
from accel.bench.docs_values import models_values  # noqa: E402
from accel.bench.provenance import STAMP_KEYS, stamp_problems  # noqa: E402
from accel.contract.hostcost import A9_NATIVE, A9_PYNQ  # noqa: E402

SAMPLES, BATCH = 40, 20


def _bad_model(path: Path) -> Path:
    """A float MatMul followed by Sin: neither the accelerator nor the CPU host ops take Sin."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((8, 4), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc"),
         helper.make_node("Sin", ["h"], ["y"], name="odd_sin")], "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: Any) -> dict[str, Any]:
    """One quick CLI run: the MLP float and QOperator u8/s8, plus a model that does not compile."""
    from accel.cli import _register, cli

    tmp = tmp_path_factory.mktemp("models")
    bad = _bad_model(tmp / "bad.onnx")
    _register()
    res = CliRunner().invoke(cli, [
        "bench-models", "--backend", "sim", "--model", "mlp", "--variant", "float,qop_u8s8", "--onnx", str(bad),
        "--samples", str(SAMPLES), "--batch", str(BATCH), "--ort-runs", "3",
        "--json", str(tmp / "models.json"), "--md", str(tmp / "models.md"), "-q"])
    return {"res": res, "doc": json.loads((tmp / "models.json").read_text()) if res.exit_code == 0 else None,
            "md": (tmp / "models.md").read_text() if res.exit_code == 0 else "", "path": tmp / "models.json"}


def _row(doc: dict[str, Any], model: str, variant: str) -> dict[str, Any]:
    return next(r for r in doc["rows"] if r["model"] == model and r["variant"] == variant)


def test_cli_writes_a_stamped_result(run: dict[str, Any]) -> None:
    res = run["res"]
    assert res.exit_code == 0, res.output + repr(res.exception)
    doc = run["doc"]
    stamp = doc["stamp"]
    assert set(STAMP_KEYS) <= set(stamp) and stamp["kind"] == "models"
    assert stamp["command"].startswith("accel-run bench-models ") and "--onnx" in stamp["command"]
    assert list(stamp["specs"]) == ["z2_default"] and stamp["git"]["commit"]
    assert stamp_problems(doc, run["path"]) == []
    assert doc["format"] == M.FORMAT and doc["version"] == M.VERSION
    assert doc["config"]["samples"] == SAMPLES and doc["config"]["batch"] == BATCH
    assert doc["host"]["backend"] == "sim" and doc["host"]["onnxruntime"]
    assert [(r["model"], r["variant"]) for r in doc["rows"]] == [("mlp", "float"), ("mlp", "qop_u8s8"),
                                                                 ("bad", "file")]
    s = doc["summary"]
    assert (s["models"], s["ok"], s["failed"], s["exact"]) == (3, 2, 1, True)


def test_quantized_row_measures_one_inference(run: dict[str, Any]) -> None:
    r = _row(run["doc"], "mlp", "qop_u8s8")
    assert r["status"] == "ok" and r["accel_share"] == 1.0
    assert r["accel_macs"] == r["macs"] == 64 * 128 + 128 * 64 + 64 * 10
    inf = r["inference"]
    assert inf["exact"] and inf["accel_steps"] == 3 and inf["host_steps"] > 0
    # per layer: one entry per matmul, in order, summing to the total; the cost model within 1%
    assert [lay["op"] for lay in inf["layers"]] == ["QLinearMatMul"] * 3
    assert sum(lay["cycles"] for lay in inf["layers"]) == inf["cycles"] > 0
    assert sum(lay["macs"] for lay in inf["layers"]) == r["macs"]
    for lay in inf["layers"]:
        assert abs(lay["cycles"] - lay["predicted_cycles"]) <= 0.01 * lay["cycles"], lay
    assert inf["mmio_ops"] == sum(lay["mmio_ops"] for lay in inf["layers"]) > 0
    assert inf["dma_transfers"] >= 4 * 3 and inf["driver_calls"] == inf["dma_transfers"]  # simple mode
    assert inf["cpu_bytes_accel_copies"] == 0  # accelerator steps work on the arena in place
    assert inf["cpu_bytes"] == inf["cpu_bytes_io"] + inf["cpu_bytes_host_steps"]
    assert inf["cpu_bytes_io"] == 64 * 4 + 10 * 4  # one float32 input row in, one logits row out
    assert inf["cache_bytes"] > 0 and r["cma_bytes"] >= r["weight_bytes"] > 0
    acc = r["accuracy"]
    assert acc["rows"] == acc["predictions"] == SAMPLES and acc["batch"] == BATCH and acc["exact"]
    assert acc["agree"] >= 0.99 and acc["accel"] > 0.8 and acc["ort"] > 0.8
    assert r["ort"]["runs"] == 3 and 0 < r["ort"]["median_s"] < 1


def test_scatter_gather_row_is_the_same_inference_with_fewer_register_accesses(run: dict[str, Any]) -> None:
    """The SG pass runs the same program with a scatter-gather DMA and chaining: equal outputs, the
    same MACs, fewer register accesses and driver calls than the simple-DMA row, and a projection
    from its own counts."""
    r = _row(run["doc"], "mlp", "qop_u8s8")
    simple, sg = r["inference"], r["sg"]["inference"]
    assert run["doc"]["config"]["sg"] is True and run["doc"]["summary"]["sg_errors"] == 0
    assert sg["exact"] and sg["dma_mode"] == "sg" and simple["dma_mode"] == "simple"
    assert sg["accel_macs"] == simple["accel_macs"] and sg["host_steps"] == simple["host_steps"]
    assert 0 < sg["mmio_ops"] < simple["mmio_ops"] and sg["driver_calls"] < simple["driver_calls"]
    assert sg["cycles"] > 0
    p = r["sg"]["projection"]
    assert p["a9-pynq"]["total_s"] < r["projection"]["a9-pynq"]["total_s"]
    assert p["a9-pynq"]["fabric_s"] == pytest.approx(sg["cycles"] / 100e6)
    assert "SG chained" in run["md"] and "sg" not in _row(run["doc"], "mlp", "float")  # float: CPU only


def test_projection_adds_its_terms(run: dict[str, Any]) -> None:
    r = _row(run["doc"], "mlp", "qop_u8s8")
    p = r["projection"]
    assert p["board"] == "pynq-z2" and p["profiles"] == ["a9-native", "a9-pynq"]
    for name in p["profiles"]:
        t = p[name]
        assert t["fabric_s"] == pytest.approx(r["inference"]["cycles"] / 100e6)
        assert t["total_s"] == pytest.approx(t["fabric_s"] + t["accel_host_s"] + t["host_steps_s"] + t["io_s"])
        assert min(t["accel_host_s"], t["host_steps_s"], t["io_s"]) > 0
    assert p["a9-pynq"]["total_s"] > p["a9-native"]["total_s"]
    assert p["host_step_macs"] == 0  # every MAC on the accelerator
    assert p["host_steps_priced_by_size"] == 0  # every host step priced by hostops.cost()


def test_float_model_runs_on_the_cpu(run: dict[str, Any]) -> None:
    r = _row(run["doc"], "mlp", "float")
    assert r["status"] == "ok" and r["accel_share"] == 0 and r["accel_macs"] == 0
    inf = r["inference"]
    assert inf["cycles"] == inf["accel_steps"] == inf["mmio_ops"] == inf["dma_transfers"] == 0 and inf["exact"]
    assert inf["layers"] == [] and inf["host_steps"] > 0
    p = r["projection"]
    # the host steps carry the MACs, priced at the CPU-only matmul rate
    assert p["host_step_macs"] == r["macs"]
    assert p["a9-native"]["host_steps_s"] > r["macs"] * A9_NATIVE.cpu_matmul_ns_per_mac * 1e-9
    assert r["accuracy"]["agree"] >= 0.99


def test_a_model_that_does_not_compile_is_a_one_line_row(run: dict[str, Any]) -> None:
    r = _row(run["doc"], "bad", "file")
    assert r["status"] == "compile_error" and r["source"] == "bad.onnx"
    assert "\n" not in r["error"] and "odd_sin" in r["error"] and "Sin" in r["error"]
    assert r["error"].startswith("CompileError: ")
    assert "inference" not in r and "accuracy" not in r
    line = next(ln for ln in run["md"].splitlines() if ln.startswith("| bad |"))
    assert "does not compile: CompileError:" in line and "odd_sin" in line


def test_markdown_and_docs_values(run: dict[str, Any]) -> None:
    doc, md = run["doc"], run["md"]
    assert "| mlp | QOperator u8/s8 | 100% of 17,024 |" in md and "| mlp | float | 0% of 17,024 | 0 |" in md
    vals = models_values(doc)
    inf = _row(doc, "mlp", "qop_u8s8")["inference"]
    assert vals["models.mlp.qop_u8s8.cycles"] == f"{inf['cycles']:,}"
    assert vals["models.mlp.qop_u8s8.accel_share_pct"] == "100" and vals["models.mlp.float.accel_share_pct"] == "0"
    assert (vals["models.ok"], vals["models.rows"], vals["models.exact"]) == ("2", "3", "yes")
    assert vals["models.table"] == M.table(doc)
    assert vals["models.cnn_layers_table"] == "(cnn qop_u8s8 was not measured)"
    lines = render_text("{models.table}\n{models.mlp.qop_u8s8.board_time}", vals).splitlines()
    assert len(lines) == 2 + 3 + 1 and lines[-1].endswith("µs")  # header, rule, three rows; the time
    assert vals["models.samples"] == f"the first {SAMPLES} held-out samples"


def test_skipped_case_says_why() -> None:
    case = M.ModelCase("cnn", "dynamic_u8s8", None, skip="onnxruntime has no kernel for it")
    row = M.measure_case(None, case, M.ModelsConfig(), lambda _m: None)
    assert row == {"model": "cnn", "variant": "dynamic_u8s8", "source": None, "status": "skipped",
                   "error": "onnxruntime has no kernel for it"}


def test_zoo_cases_refuse_unknown_names() -> None:
    from accel.errors import InputError

    with pytest.raises(InputError, match=r"unknown model.*resnet.*models: mlp"):
        M.zoo_cases(["resnet"], None, 10)


def test_host_step_price() -> None:
    cost = {"bytes_read": 1000, "bytes_written": 600, "elements": 150, "macs": 0}
    assert M.host_step_ns(A9_NATIVE, cost) == pytest.approx(300 + 1600 * 6.25)
    assert M.host_step_ns(A9_PYNQ, cost) == pytest.approx(20_000 + 1600 * 6.25)
    cost["macs"] = 256**3
    assert M.host_step_ns(A9_NATIVE, cost) == pytest.approx(300 + 1600 * 6.25 + 1463e6)


@pytest.mark.parametrize("variant,label", [
    ("qdq_u8s8", "QDQ u8/s8"), ("qop_s8s8_perchannel", "QOperator s8/s8 perchannel"),
    ("dynamic_u8u8_perchannel", "dynamic u8/u8 perchannel"), ("qdq_u8u8_asym", "QDQ u8/u8 asym"), ("float", "float")])
def test_quant_label(variant: str, label: str) -> None:
    assert M.quant_label(variant) == label


def test_step_cost_prices_from_the_program() -> None:
    """A host step of a compiled program: hostops.cost() from the program's tensor shapes."""
    from accel.bench import zoo
    from accel.compiler import compile

    mp = compile(str(zoo.build("gemm", "qop_u8s8")), batch=1)
    host = [s for s in mp.steps if s["kind"] == "host"]
    for s in host:
        c = M.step_cost(mp, s)
        out_bytes = sum(math.prod(mp.tensors[t]["shape"]) * np.dtype(mp.tensors[t]["dtype"]).itemsize
                        for t in s["outputs"])
        assert c["bytes_written"] == out_bytes and c["macs"] == 0, s


def test_docs_texts_name_the_exceptions() -> None:
    """The prose values name the model whose held-out set or agreement differs from the rest."""
    from accel.bench.docs_values import _agree_text, _samples_text

    def row(model: str, variant: str, rows: int, preds: int, agree: float) -> dict[str, Any]:
        return {"model": model, "variant": variant, "accuracy": {"rows": rows, "predictions": preds, "agree": agree}}

    rows = [row("mlp", "qdq_u8s8", 500, 500, 1.0), row("gemm", "qop_u8s8", 500, 500, 0.994),
            row("batched", "qdq_u8s8", 250, 1000, 1.0), row("batched", "qop_u8s8", 250, 1000, 1.0)]
    assert _samples_text(rows) == "the first 500 held-out samples (batched: 250 rows of 4)"
    assert _samples_text(rows[:2]) == "the first 500 held-out samples"
    assert _agree_text(rows) == "lowest: 99.4%, gemm QOperator u8/s8"
    assert _agree_text([rows[0], rows[2]]) == "100% for every quantized model"
    assert _agree_text([]) == "no quantized model measured"
