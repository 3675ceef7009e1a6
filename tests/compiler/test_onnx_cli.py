"""Real frontend output (ONNX MatMulInteger -> iree-import-onnx -> torch-to-linalg) and the
accel-run commands end to end on the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from accel.compiler import CompiledModule, compile, opt

from .mlir_gen import attrs_for, memref_func, tensor_func

onnx = pytest.importorskip("onnx")


def matmul_integer_model(path: Path, m: int, k: int, n: int, weights: np.ndarray | None) -> Path:
    """An ONNX graph with one MatMulInteger: y = a @ w (w an initializer) or y = a @ b."""
    from onnx import TensorProto, helper, numpy_helper

    a = helper.make_tensor_value_info("a", TensorProto.INT8, [m, k])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
    inputs, inits = [a], []
    if weights is None:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.INT8, [k, n]))
        node = helper.make_node("MatMulInteger", ["a", "b"], ["y"], name="mm")
    else:
        inits.append(numpy_helper.from_array(weights.astype(np.int8), "w"))
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"], name="mm")
    graph = helper.make_graph([node], "g", inputs, [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_onnx_matmul_integer_with_weights(accel_sim: Any, rng: np.random.Generator, tmp_path: Path) -> None:
    from accel.contract.model import ModelProgram
    from accel.runtime.model import load_model

    w = rng.integers(-128, 128, size=(40, 24), dtype=np.int8)
    path = matmul_integer_model(tmp_path / "dense.onnx", 19, 40, 24, w)
    ir_text, _ = opt(path, "builtin.module(accel-match)")  # the linalg import still works for opt
    assert "linalg.matmul {accel.match" in ir_text and "arith.constant dense<" in ir_text
    mp = compile(path, spec=accel_sim.spec)  # an ONNX model compiles to one model program
    assert isinstance(mp, ModelProgram)
    (step,) = mp.steps
    assert step["kind"] == "accel" and step["node"] == "mm" and mp.summary["accel_share"] == 1.0
    np.testing.assert_array_equal(mp.weight(step["bind"]["b"]), w)
    a = rng.integers(-128, 128, size=(19, 40), dtype=np.int8)
    with load_model(accel_sim, mp) as model:
        c = model({"a": a})["y"]
        run = model.last
    assert np.array_equal(c, a.astype(np.int32) @ w.astype(np.int32))
    assert abs(step["predicted_cycles"] - run.cycles) / run.cycles < 0.10


def test_onnx_two_inputs(accel_sim: Any, rng: np.random.Generator, tmp_path: Path) -> None:
    """Both operands are graph inputs: the product runs on the CPU (host MatMulInteger) unless B is
    frozen into a weight at compile time (constants=)."""
    from accel.runtime.model import load_model

    path = matmul_integer_model(tmp_path / "mm.onnx", 33, 70, 520, None)
    a = rng.integers(-128, 128, size=(33, 70), dtype=np.int8)
    b = rng.integers(-128, 128, size=(70, 520), dtype=np.int8)
    want = a.astype(np.int32) @ b.astype(np.int32)
    mp = compile(path, spec=accel_sim.spec)
    assert mp.summary["accel_share"] == 0.0 and mp.steps[0]["op"] == "MatMulInteger"
    with load_model(accel_sim, mp) as model:
        assert np.array_equal(model({"a": a, "b": b})["y"], want)
    mp = compile(path, spec=accel_sim.spec, constants={"b": b})
    assert mp.summary["accel_share"] == 1.0
    with load_model(accel_sim, mp) as model:
        assert np.array_equal(model({"a": a})["y"], want)


def test_onnx_unsupported_op_is_a_compile_error(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    from accel.errors import CompileError

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
    graph = helper.make_graph([helper.make_node("Det", ["x"], ["d"], name="det"),
                               helper.make_node("Add", ["x", "d"], ["y"], name="add")], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "f32.onnx"))
    with pytest.raises(CompileError, match=r"ONNX node 'det' \(Det\) is supported neither") as info:
        compile(tmp_path / "f32.onnx")
    assert "f32.onnx" in (info.value.location or "")


def _accel_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "accel-run")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))


def test_cli_compile_run_and_program(tmp_path: Path) -> None:
    src = tmp_path / "m.mlir"
    src.write_text(tensor_func("t", 21, 40, 30) + memref_func("mr", 17, 9, 33, attrs_for("Cs", 8)))
    proc = _accel_run("compile", str(src), "-o", str(tmp_path / "m.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "@t: 21x40x30 (MxNxK)" in proc.stdout and "predicted" in proc.stdout
    mod = CompiledModule.load(tmp_path / "m.json")
    assert set(mod.functions) == {"t", "mr"}

    proc = _accel_run("run", str(tmp_path / "m.json"), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["correct"] for f in doc["functions"]] == [True, True]
    for f in doc["functions"]:
        assert f["cycles"] > 0 and abs(f["prediction_error"]) < 0.10

    proc = _accel_run("run", str(src), "--func", "mr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("@mr: 17x9x33 C ") and proc.stdout.rstrip().endswith("OK")

    proc = _accel_run("compile", str(src), "--emit", "program", "--func", "t", "-o", str(tmp_path / "t.json"),
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    prog = json.loads((tmp_path / "t.json").read_text())
    assert prog["format"] == "pynq-accel/driver-program" and prog["predicted"]["cycles"] > 0
    proc = _accel_run("run", str(tmp_path / "t.json"), cwd=tmp_path)  # a bare driver program runs too
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr

    proc = _accel_run("run", str(tmp_path / "m.json"), "--spec", "kv260", cwd=tmp_path)
    assert proc.returncode == 2 and "compiled for spec 'z2_default'" in proc.stderr


def test_cli_opt_list_passes(tmp_path: Path) -> None:
    proc = _accel_run("opt", "-", "--list-passes", cwd=tmp_path)
    assert proc.returncode == 0
    for name in ("accel-match", "accel-schedule", "accel-lower", "accel-emit"):
        assert name in proc.stdout
