"""Whole ONNX models through compile (accel-onnx-partition + accel-model-emit) and run (one CMA
arena, accelerator + host steps) on the simulator: the onnx wheel's node tests against their
expected outputs, the zoo's trained models in every quantized format against onnxruntime, and the
errors a user meets (unsupported node, symbolic dimension, too little CMA, a damaged file)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

# tests/ is on sys.path under pytest's default (prepend) import mode: tests/models is the package
# "models", shared with tests/models' own tests
from models import node_tests

from accel.bench import zoo
from accel.compiler import compile_model
from accel.contract.epilogue import supported
from accel.contract.model import ModelProgram
from accel.errors import AllocationError, CompileError, ProgramError
from accel.runtime.model import load_model, reference

NODE_CASES = node_tests.cases()
#: node tests whose op has integer operands: with its other inputs frozen to weights, the product
#: must run on the accelerator
INTEGER_OPS = ("test_matmulinteger", "test_qlinearmatmul", "test_convinteger", "test_qlinearconv")


def _compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        if v.dtype.kind == "f":
            np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(got[k], v)


@pytest.mark.parametrize("frozen", [True, False], ids=["weights", "inputs"])
@pytest.mark.parametrize("name", NODE_CASES)
def test_onnx_node_test(accel_sim: Any, name: str, frozen: bool) -> None:
    """Every input but the first frozen into weights (the accelerator's case), or all graph inputs."""
    case = node_tests.load(name)
    first = next(iter(case.inputs))
    constants = {k: v for k, v in case.inputs.items() if k != first} if frozen else None
    mp = compile_model(case.model_path, accel_sim.spec, constants=constants)
    feed = {first: case.inputs[first]} if frozen else case.inputs
    with load_model(accel_sim, mp) as model:
        got = model(feed)
    _compare(got, node_tests.expected(case))
    _compare(reference(mp, feed), got)
    share = mp.summary["accel_share"]
    if frozen and name.startswith(INTEGER_OPS):
        assert share >= 0.5 and mp.summary["accel_steps"] >= 1, mp.report()
    elif not name.startswith(INTEGER_OPS):
        assert share == 0.0  # float Gemm/MatMul: on the CPU, and the report says so
        assert "quantize it to int8" in mp.report()


def test_node_tests_are_present() -> None:
    assert len(NODE_CASES) >= 26  # the onnx 1.19 wheel: 26 matmul/gemm/conv tests


#: minimum accelerator MAC share per (model, variant): every matmul/conv on the accelerator except
#: the weight-zero-point row sums (CPU) and, for dynamic ConvInteger with padding, the convs (the
#: padding must equal a zero point known only at run time)
def _min_share(model: str, variant: str) -> float:
    if variant == "float":
        return 0.0
    if model == "cnn" and variant.startswith("dynamic"):
        return 0.05
    return 0.9


@pytest.mark.parametrize(("model", "variant"), zoo.all_models(), ids=[f"{m}-{v}" for m, v in zoo.all_models()])
def test_zoo_model_matches_onnxruntime(accel_sim: Any, model: str, variant: str) -> None:
    path = zoo.build(model, variant)
    _, _, xte, _ = zoo.dataset(model)
    x = xte[:500]
    mp = compile_model(path, accel_sim.spec, batch=x.shape[0])
    assert mp.summary["accel_share"] >= _min_share(model, variant), mp.report()
    with load_model(accel_sim, mp) as m:
        got = m({"input": x})["logits"]
        run = m.last
    ort = zoo.run(path, {"input": x})["logits"]
    np.testing.assert_array_equal(got, reference(mp, {"input": x})["logits"])  # bit-exact vs the golden model
    grid = np.diff(np.unique(ort))
    step = float(grid.min()) if variant != "float" and not variant.startswith("dynamic") else 0.0
    np.testing.assert_allclose(got, ort, rtol=1e-5, atol=max(step, 1e-5 * float(np.abs(ort).max())))
    agree = float((got.argmax(-1) == ort.argmax(-1)).mean())
    assert agree >= 0.99
    accel_steps = [s for s in run.steps if s.kind == "accel"]
    assert len(accel_steps) == mp.summary["accel_steps"]
    assert all(s.cpu_bytes == 0 and s.cycles > 0 for s in accel_steps)  # arena views: no CPU copies
    predicted = [s["predicted_cycles"] for s in mp.steps if s["kind"] == "accel"]
    for p, s in zip(predicted, accel_steps, strict=True):  # the cost model's per-layer prediction
        assert abs(p - s.cycles) <= 0.02 * s.cycles, (s.node, p, s.cycles)


def test_model_matmuls_use_the_cost_models_schedule(accel_spec: Any) -> None:
    """Each accelerator step's schedule is the one the cost model ranks first for its shape (as
    accel-schedule picks for one matmul); schedule='default' keeps the runtime's default."""
    from accel.contract import costmodel
    from accel.contract.schedule import default_schedule

    path = zoo.build("cnn", "qop_u8s8")
    chosen = compile_model(path, accel_spec, batch=37)
    default = compile_model(path, accel_spec, batch=37, schedule="default")
    for s, d in zip(chosen.steps, default.steps, strict=True):
        if s["kind"] != "accel":
            continue
        m, n, k = (s["program"]["schedule"][x] for x in ("m", "n", "k"))
        best = costmodel.choose(accel_spec, m, n, k).schedule
        assert {x: s["program"]["schedule"][x] for x in ("tile_m", "tile_n", "tile_k", "stationarity", "order")} == \
            {x: getattr(best, x) for x in ("tile_m", "tile_n", "tile_k", "stationarity", "order")}
        ds = default_schedule(accel_spec, m, n, k)
        assert d["program"]["schedule"]["tile_k"] == ds.tile_k and d["program"]["schedule"]["tile_n"] == ds.tile_n
        assert s["predicted_cycles"] <= d["predicted_cycles"]


def test_weights_load_once_and_arena_reuse(accel_sim: Any) -> None:
    path = zoo.build("mlp", "qop_u8s8")
    mp = compile_model(path, accel_sim.spec, batch=7)
    inter = [t for t in mp.tensors if t["kind"] == "intermediate" and "view_of" not in t]
    assert sum(t["bytes"] for t in inter) > mp.cma_bytes - mp.arena["weight_bytes"]  # liveness reuses bytes
    x = zoo.dataset("mlp")[2][:7]
    with load_model(accel_sim, mp) as m:
        m.views[next(iter(map(int, mp.weights)))]  # weights are arena views
        first = m({"input": x})["logits"]
        before = accel_sim.device.default_memory.allocations
        second = m({"input": x})["logits"]
        assert accel_sim.device.default_memory.allocations == before  # no allocation per inference
    np.testing.assert_array_equal(first, second)


def test_program_round_trip_and_validation(tmp_path: Path, accel_spec: Any) -> None:
    mp = compile_model(zoo.build("mlp", "dynamic_u8s8"), accel_spec, batch=3)
    p = mp.save(tmp_path / "m.json")
    again = ModelProgram.load(p)
    assert again.to_dict() == mp.to_dict()
    doc = json.loads(p.read_text())
    bad = json.loads(json.dumps(doc))
    bad["tensors"][0]["offset"] = doc["arena"]["bytes"]
    with pytest.raises(ProgramError, match="does not fit"):
        ModelProgram.from_dict(bad)
    bad = json.loads(json.dumps(doc))
    bad["version"] = 2
    with pytest.raises(ProgramError, match="version 2 is not supported"):
        ModelProgram.from_dict(bad)
    bad = json.loads(json.dumps(doc))
    step = next(s for s in bad["steps"] if s["kind"] == "accel")
    step["bind"]["a"] = step["bind"]["c"]
    with pytest.raises(ProgramError, match="binds a"):
        ModelProgram.from_dict(bad)


def test_cma_need_checked_before_allocating(accel_sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from accel.runtime import model as runtime_model

    mp = compile_model(zoo.build("mlp", "qop_u8s8"), accel_sim.spec, batch=2)
    monkeypatch.setattr(runtime_model, "cma_free_bytes", lambda acc: 1024)
    before = accel_sim.device.default_memory.allocations
    with pytest.raises(AllocationError, match=r"needs 0.0 MiB of CMA \(\d+ bytes\), the device has 0.0 MiB free"):
        load_model(accel_sim, mp)
    assert accel_sim.device.default_memory.allocations == before


def test_unsupported_node_is_refused_by_name(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act"),
             helper.make_node("Einsum", ["r", "r"], ["y"], name="mystery", equation="ij,jk->ik")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "e.onnx"))
    with pytest.raises(CompileError) as info:
        compile_model(tmp_path / "e.onnx")
    msg = str(info.value)
    assert "ONNX node 'mystery' (Einsum) is supported neither by the accelerator" in msg
    assert "docs/host_ops.md" in msg and "\n" not in msg


def test_symbolic_dimension_names_the_flag() -> None:
    path = zoo.build("mlp", "float")
    with pytest.raises(CompileError, match=r"input 'input' has symbolic dimension 'batch' \(dim 0\): specialize it "
                                           r"at compile time with --shape input=DIMS or --batch N"):
        compile_model(path)
    mp = compile_model(path, shapes={"input": [3, 64]})
    assert mp.inputs[0]["shape"] == [3, 64] and mp.outputs[0]["shape"] == [3, 10]
    with pytest.raises(CompileError, match="the model has no input 'nope'"):
        compile_model(path, shapes={"nope": [1]})


def _accel_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "accel-run")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))


def test_cli_compile_and_run_model(tmp_path: Path) -> None:
    src = zoo.build("mlp", "qdq_u8s8")
    proc = _accel_run("compile", str(src), "--batch", "4", "-o", str(tmp_path / "m.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "accelerator: " in proc.stdout and "(100.0%)" in proc.stdout and "CMA: " in proc.stdout
    proc = _accel_run("compile", str(src), "--batch", "4", "--json", "-o", str(tmp_path / "m.json"), cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["summary"]["accel_share"] == 1.0 and {p["where"] for p in doc["placement"]} >= {"accelerator", "cpu"}
    x = zoo.dataset("mlp")[2][:4]
    np.savez(tmp_path / "in.npz", input=x)
    proc = _accel_run("run", str(tmp_path / "m.json"), "--inputs", str(tmp_path / "in.npz"), "--outputs",
                      str(tmp_path / "out.npz"), "--backend", "sim", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["correct"] is True and res["run"]["summary"]["cycles"] > 0
    with np.load(tmp_path / "out.npz") as z:
        np.testing.assert_array_equal(z["logits"], zoo.run(src, {"input": x})["logits"])
    proc = _accel_run("run", str(tmp_path / "m.json"), "--backend", "sim", cwd=tmp_path)  # random inputs
    assert proc.returncode == 0 and "equal to the CPU reference" in proc.stdout, proc.stderr
    proc = _accel_run("compile", str(src), "-o", str(tmp_path / "x.json"), cwd=tmp_path)
    assert proc.returncode == 2 and "--batch N" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("variant", ["qdq_u8u8_asym", "qop_u8s8", "dynamic_u8u8_perchannel"])
def test_arena_plan_never_overlaps_live_tensors(accel_spec: Any, variant: str) -> None:
    """At every step, the tensors that are still to be read (and the step's outputs) occupy
    disjoint arena bytes; weights sit below everything else."""
    mp = compile_model(zoo.build("cnn", variant), accel_spec, batch=3)
    root = {t["id"]: t.get("view_of", t["id"]) for t in mp.tensors}
    reads: list[list[int]] = []
    writes: list[list[int]] = []
    for s in mp.steps:
        r = s["inputs"] if s["kind"] == "host" else [s["bind"]["a"], s["bind"]["b"]]
        w = s["outputs"] if s["kind"] == "host" else [s["bind"]["c"]]
        reads.append([root[i] for i in r if i is not None])
        writes.append([root[i] for i in w])
    outs = {root[o["tensor"]] for o in mp.outputs}
    last = {i: max([k for k, r in enumerate(reads) if i in r], default=-1) for i in root.values()}
    first = {i: min([k for k, w in enumerate(writes) if i in w], default=-1) for i in root.values()}
    for k in range(len(mp.steps)):
        live = [i for i in set(root.values()) if mp.tensors[i]["kind"] != "weight"
                and first[i] <= k and (last[i] >= k or i in outs)]
        spans = sorted((mp.tensors[i]["offset"], mp.tensors[i]["offset"] + mp.tensors[i]["bytes"], i) for i in live)
        for (a0, a1, ia), (b0, b1, ib) in itertools.pairwise(spans):
            assert a1 <= b0, f"step {k}: tensors {ia} and {ib} overlap ({a0}..{a1}, {b0}..{b1})"
        assert all(s0 >= mp.arena["weight_bytes"] for s0, _, _ in spans)


# ----------------------------------------------------------------------------- fusions and folding
def _qlinear_act_model(tmp_path: Path, act: str, *, same_params: bool = True, clip: tuple[float, float] = (0.0, 6.0),
                       dtype: str = "uint8") -> Path:
    """x (uint8|int8) -> QLinearMatMul (constant int8 W) -> DequantizeLinear -> Relu|Clip -> QuantizeLinear."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    qt = TensorProto.UINT8 if dtype == "uint8" else TensorProto.INT8
    zp_y = 100 if dtype == "uint8" else -9
    zp_x = 128 if dtype == "uint8" else 3
    inits = [numpy_helper.from_array(rng.integers(-127, 128, (16, 24)).astype(np.int8), "W"),
             numpy_helper.from_array(np.array(0.05, np.float32), "xs"),
             numpy_helper.from_array(np.array(zp_x, dtype), "xz"),
             numpy_helper.from_array(np.array(0.01, np.float32), "ws"),
             numpy_helper.from_array(np.array(0, np.int8), "wz"),
             numpy_helper.from_array(np.array(0.37, np.float32), "ys"),
             numpy_helper.from_array(np.array(zp_y, dtype), "yz"),
             numpy_helper.from_array(np.array(0.37 if same_params else 0.23, np.float32), "rs"),
             numpy_helper.from_array(np.array(zp_y if same_params else zp_y // 2, dtype), "rz"),
             numpy_helper.from_array(np.array(clip[0], np.float32), "lo"),
             numpy_helper.from_array(np.array(clip[1], np.float32), "hi")]
    nodes = [helper.make_node("QLinearMatMul", ["x", "xs", "xz", "W", "ws", "wz", "ys", "yz"], ["q"], name="mm"),
             helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["f"], name="dq"),
             helper.make_node(act, ["f", "lo", "hi"] if act == "Clip" else ["f"], ["r"], name="act"),
             helper.make_node("QuantizeLinear", ["r", "rs", "rz"], ["y"], name="q_out")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", qt, [5, 16])],
                          [helper.make_tensor_value_info("y", qt, [5, 24])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{act}_{same_params}_{dtype}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(("act", "clip", "dtype"), [("Relu", (0.0, 6.0), "uint8"), ("Clip", (0.0, 6.0), "uint8"),
                                                    ("Clip", (-1.3, 2.46), "int8"), ("Relu", (0.0, 6.0), "int8"),
                                                    ("Clip", (-100.0, 100.0), "int8")])
def test_activation_fuses_into_the_requantization_clamp(accel_sim: Any, tmp_path: Path, act: str,
                                                        clip: tuple[float, float], dtype: str) -> None:
    """DequantizeLinear -> Relu|Clip -> QuantizeLinear (same parameters) after a QLinearMatMul is the
    clamp of its requantization: no host step left for the three nodes, integers equal to
    onnxruntime's (bounds quantized as its QuantizeLinear does: 2.46 / 0.37 = 6.65 -> 7)."""
    path = _qlinear_act_model(tmp_path, act, clip=clip, dtype=dtype)
    x = np.random.default_rng(1).integers(*((0, 256) if dtype == "uint8" else (-128, 128)), (5, 16)).astype(dtype)
    want = node_tests.ort_outputs(path, {"x": x})
    for mode in ("cpu", "fabric"):
        mp = compile_model(path, accel_sim.spec, epilogue=mode)
        ops = [s["op"] for s in mp.steps if s["kind"] == "host"]
        assert not {"Relu", "Clip", "DequantizeLinear", "QuantizeLinear"} & set(ops), (mode, ops)
        where = {p["node"]: p["where"] for p in mp.placement}
        assert where["act"] == where["dq"] == where["q_out"] == "folded" and where["mm"] == "accelerator"
        np.testing.assert_array_equal(reference(mp, {"x": x})["y"], want["y"])
        if mode == "cpu":
            with load_model(accel_sim, mp) as m:
                np.testing.assert_array_equal(m({"x": x})["y"], want["y"])
        else:
            step = next(s for s in mp.steps if s["kind"] == "accel")
            assert step["program"]["version"] == 2 and "epi" in step["bind"] and not ops
            qlo, qhi = (0, 255) if dtype == "uint8" else (-128, 127)
            zp = 100 if dtype == "uint8" else -9

            def q(v: float, zp: int = zp, qlo: int = qlo, qhi: int = qhi) -> int:
                return int(np.clip(np.rint(np.float32(v) / np.float32(0.37)) + zp, qlo, qhi))

            want_clamp = (q(0.0), qhi) if act == "Relu" else (q(clip[0]), q(clip[1]))
            assert (step["epilogue"]["lo"], step["epilogue"]["hi"]) == want_clamp
            if supported(accel_sim.spec):  # the fabric computes the clamp itself
                with load_model(accel_sim, mp) as m:
                    np.testing.assert_array_equal(m({"x": x})["y"], want["y"])


def test_activation_with_other_parameters_stays_correct(accel_sim: Any, tmp_path: Path) -> None:
    """Different scales around the Relu: not one clamp (two roundings); the CPU keeps the nodes and
    the result still equals onnxruntime's."""
    path = _qlinear_act_model(tmp_path, "Relu", same_params=False)
    x = np.random.default_rng(2).integers(0, 256, (5, 16)).astype(np.uint8)
    mp = compile_model(path, accel_sim.spec, epilogue="cpu")
    assert "Relu" in [s["op"] for s in mp.steps if s["kind"] == "host"]
    with load_model(accel_sim, mp) as m:
        np.testing.assert_array_equal(m({"x": x})["y"], node_tests.ort_outputs(path, {"x": x})["y"])


def test_constant_subgraphs_fold_at_compile_time(accel_sim: Any, tmp_path: Path) -> None:
    """Transpose of a weight, Cast/Mul of constants and a weight's DequantizeLinear feeding a float
    Add run once, when compiling (the board's own implementation): no host step, 'folded' in the
    report, outputs equal onnxruntime's."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(size=(6, 4)).astype(np.float32), "Wt"),
             numpy_helper.from_array(rng.integers(-50, 50, (6,)).astype(np.int32), "bq"),
             numpy_helper.from_array(np.array(0.125, np.float32), "bs"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("Transpose", ["Wt"], ["W"], name="wT", perm=[1, 0]),
             helper.make_node("Mul", ["W", "two"], ["W2"], name="w2"),
             helper.make_node("DequantizeLinear", ["bq", "bs"], ["b"], name="bias_dq"),
             helper.make_node("MatMul", ["x", "W2"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 6])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "c.onnx"))
    mp = compile_model(tmp_path / "c.onnx", accel_sim.spec)
    assert [s["op"] for s in mp.steps] == ["MatMul", "Add"]
    where = {p["node"]: p["where"] for p in mp.placement}
    assert where["wT"] == where["w2"] == where["bias_dq"] == "folded"
    x = rng.normal(size=(3, 4)).astype(np.float32)
    with load_model(accel_sim, mp) as m:
        np.testing.assert_allclose(m({"x": x})["y"], node_tests.ort_outputs(tmp_path / "c.onnx", {"x": x})["y"],
                                   rtol=1e-6, atol=1e-6)


#: zoo variants whose every matmul requantizes (static quantization): the fabric epilogue absorbs
#: bias, zero points, requantization and clamp
STATIC = [(m, v) for m, v in zoo.all_models() if v.startswith(("qdq", "qop"))]


@pytest.mark.parametrize(("model", "variant"), STATIC, ids=[f"{m}-{v}" for m, v in STATIC])
def test_fabric_epilogue_programs_equal_the_cpu_path(accel_spec: Any, model: str, variant: str) -> None:
    """epilogue=fabric: every accelerator step is a version-2 program (LOAD_EPI/DRAIN_Q, its epi
    params a weight), the requantization host steps are gone, and the program's golden model
    equals the CPU-epilogue program's output bit for bit."""
    path = zoo.build(model, variant)
    x = zoo.dataset(model)[2][:32]
    cpu = compile_model(path, accel_spec, batch=32, epilogue="cpu")
    fab = compile_model(path, accel_spec, batch=32, epilogue="fabric")
    accel = [s for s in fab.steps if s["kind"] == "accel"]
    assert accel and all(s["program"]["version"] == 2 and "epi" in s["bind"] for s in accel)
    assert all(fab.tensors[s["bind"]["epi"]]["kind"] == "weight" for s in accel)
    host_ops = [s["op"] for s in fab.steps if s["kind"] == "host"]
    assert "accel.Requantize" not in host_ops and "MatMulInteger" not in host_ops
    assert fab.summary["host_steps"] < cpu.summary["host_steps"]
    assert fab.summary["accel_share"] >= cpu.summary["accel_share"] and fab.summary["accel_share"] == 1.0
    np.testing.assert_array_equal(reference(fab, {"input": x})["logits"], reference(cpu, {"input": x})["logits"])
    again = ModelProgram.from_json(fab.to_json())  # the epi binding and epilogue entries validate
    assert again.to_dict() == fab.to_dict()


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("variant", ["qop_u8s8", "qdq_u8s8", "qdq_s8s8_symmetric", "qop_u8u8_asym"])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_fabric_epilogue_runs_on_the_simulator(accel_sim: Any, model: str, variant: str) -> None:
    path = zoo.build(model, variant)
    x = zoo.dataset(model)[2][:64]
    fab = compile_model(path, accel_sim.spec, batch=64, epilogue="fabric")
    cpu = compile_model(path, accel_sim.spec, batch=64, epilogue="cpu")
    with load_model(accel_sim, fab) as m:
        got = m({"input": x})["logits"]
    with load_model(accel_sim, cpu) as m:
        np.testing.assert_array_equal(got, m({"input": x})["logits"])
    np.testing.assert_array_equal(got, reference(fab, {"input": x})["logits"])


def _two_branch_model(tmp_path: Path) -> Path:
    """int8 x -> MatMulInteger(W1) and MatMulInteger(W2): two accelerator steps back to back."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(rng.integers(-128, 128, (40, 24)).astype(np.int8), "W1"),
             numpy_helper.from_array(rng.integers(-128, 128, (40, 9)).astype(np.int8), "W2")]
    nodes = [helper.make_node("MatMulInteger", ["x", "W1"], ["y1"], name="mm1"),
             helper.make_node("MatMulInteger", ["x", "W2"], ["y2"], name="mm2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.INT8, [19, 40])],
                          [helper.make_tensor_value_info("y1", TensorProto.INT32, [19, 24]),
                           helper.make_tensor_value_info("y2", TensorProto.INT32, [19, 9])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "two.onnx"))
    return tmp_path / "two.onnx"


def test_consecutive_accelerator_steps_run_as_one_kick(accel_sim_sg: Any, tmp_path: Path) -> None:
    """chain=True: the two products run as one acc.run_many call (one descriptor-chain kick with the
    scatter-gather DMA): same outputs, fewer register accesses than two runs."""
    path = _two_branch_model(tmp_path)
    mp = compile_model(path, accel_sim_sg.spec)
    assert [s["kind"] for s in mp.steps] == ["accel", "accel"]
    x = np.random.default_rng(6).integers(-128, 128, (19, 40)).astype(np.int8)
    want = node_tests.ort_outputs(path, {"x": x})
    with load_model(accel_sim_sg, mp) as m:
        single = m({"x": x})
        separate = m.last
    with load_model(accel_sim_sg, mp, chain=True) as m:
        chained = m({"x": x})
        one = m.last
        assert accel_sim_sg.last.chains == 1
    for k, v in want.items():
        np.testing.assert_array_equal(single[k], v)
        np.testing.assert_array_equal(chained[k], v)
    assert [s.kind for s in one.steps] == ["accel"] and one.steps[0].node == "mm1+mm2"
    assert one.summary()["mmio_ops"] < separate.summary()["mmio_ops"]
    assert one.summary()["accel_macs"] == separate.summary()["accel_macs"] == 19 * 40 * 33


def test_cli_runs_a_model_chained_with_a_scatter_gather_dma(tmp_path: Path) -> None:
    """`accel-run run --chain --dma-mode sg`: one accelerator entry for the two products, equal to
    the CPU reference; --dma-mode is refused without --backend sim (a board's bitstream decides), --chain on MLIR."""
    path = _two_branch_model(tmp_path)
    runs = {}
    for flags in ([], ["--chain", "--dma-mode", "sg"]):
        proc = _accel_run("run", str(path), "--backend", "sim", "--json", *flags, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        runs[bool(flags)] = json.loads(proc.stdout)
    assert all(r["correct"] is True for r in runs.values())
    accel = {k: [st for st in r["run"]["steps"] if st["kind"] == "accel"] for k, r in runs.items()}
    assert [st["node"] for st in accel[False]] == ["mm1", "mm2"] and [st["node"] for st in accel[True]] == ["mm1+mm2"]
    assert runs[True]["run"]["summary"]["mmio_ops"] < runs[False]["run"]["summary"]["mmio_ops"]
    for backend in ("board", "auto"):  # auto would silently not apply wherever a board is found
        proc = _accel_run("run", str(path), "--backend", backend, "--dma-mode", "sg", cwd=tmp_path)
        assert proc.returncode == 2 and "needs --backend sim" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    (tmp_path / "k.mlir").write_text("")
    proc = _accel_run("run", str(tmp_path / "k.mlir"), "--chain", cwd=tmp_path)
    assert proc.returncode == 2 and "--chain is for models" in proc.stderr


@pytest.mark.parametrize(("alpha", "beta", "trans_a"), [(0.5, 2.0, 1), (1.75, 1.0, 0), (1.0, 0.25, 1)])
def test_qdq_gemm_alpha_beta_trans_a_on_the_accelerator(accel_sim: Any, tmp_path: Path, alpha: float, beta: float,
                                                        trans_a: int) -> None:
    """A QDQ Gemm with alpha != 1, beta != 1 or transA: the product still runs on the accelerator
    (alpha in the dequantization multiplier, beta * C folded, A transposed by one CPU step);
    the quantized output is within one step of onnxruntime's float Gemm."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    m, k, n = 6, 20, 12
    inits = [numpy_helper.from_array(rng.integers(-127, 128, (k, n)).astype(np.int8), "Wq"),
             numpy_helper.from_array(np.array(0.02, np.float32), "ws"),
             numpy_helper.from_array(np.array(0, np.int8), "wz"),
             numpy_helper.from_array(np.array(0.04, np.float32), "xs"),
             numpy_helper.from_array(np.array(120, np.uint8), "xz"),
             numpy_helper.from_array(rng.normal(size=(n,)).astype(np.float32), "C"),
             numpy_helper.from_array(np.array(0.3, np.float32), "ys"),
             numpy_helper.from_array(np.array(128, np.uint8), "yz")]
    a_shape = [k, m] if trans_a else [m, k]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"], name="dqx"),
             helper.make_node("DequantizeLinear", ["Wq", "ws", "wz"], ["W"], name="dqw"),
             helper.make_node("Gemm", ["xf", "W", "C"], ["g"], name="gemm", alpha=alpha, beta=beta, transA=trans_a),
             helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["y"], name="qy")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, a_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.UINT8, [m, n])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "g.onnx"))
    mp = compile_model(tmp_path / "g.onnx", accel_sim.spec, epilogue="cpu")
    assert mp.summary["accel_share"] == 1.0
    x = rng.integers(0, 256, a_shape).astype(np.uint8)
    with load_model(accel_sim, mp) as mdl:
        got = mdl({"x": x})["y"]
    want = node_tests.ort_outputs(tmp_path / "g.onnx", {"x": x})["y"]
    assert np.abs(got.astype(np.int32) - want.astype(np.int32)).max() <= 1
    assert np.mean(got == want) >= 0.9


def test_fabric_program_on_an_overlay_without_the_epilogue_is_refused_at_load(accel_sim: Any,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A model compiled with epilogue=fabric on an accelerator older than the fused epilogue: one
    typed error at load time naming the layer and the fix, before any allocation."""
    from accel.contract import epilogue as epi
    from accel.errors import BackendError
    from accel.runtime import model as runtime_model

    mp = compile_model(zoo.build("gemm", "qop_u8s8"), accel_sim.spec, batch=2, epilogue="fabric")
    monkeypatch.setattr(runtime_model, "epilogue_supported", lambda spec: False)
    before = accel_sim.device.default_memory.allocations
    with pytest.raises(BackendError, match=r"fused epilogue.*recompile the model with --epilogue cpu"):
        load_model(accel_sim, mp)
    assert accel_sim.device.default_memory.allocations == before
    assert epi.RTL_VERSION == (1, 1)
