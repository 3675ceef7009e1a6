"""Adversarial: ONNX models as current exporters write them, and files that are not models at all.
A model whose operator sets are supported compiles whatever its IR version; one that truly cannot
be imported gets one line naming the reason and the fix — never an importer traceback."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx")
pytest.importorskip("iree.compiler")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from accel.cli import _register, cli  # noqa: E402


def _model(path, *, ir_version: int, opset: int) -> str:
    a = helper.make_tensor_value_info("a", TensorProto.INT8, [4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [4, 3])
    w = numpy_helper.from_array(np.arange(24, dtype=np.int8).reshape(8, 3), "w")
    node = helper.make_node("MatMulInteger", ["a", "w"], ["y"], name="mm0")
    model = helper.make_model(helper.make_graph([node], "g", [a], [y], [w]),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def test_newer_ir_version_with_a_supported_opset_compiles(runner, tmp_path):
    src = _model(tmp_path / "ir_new.onnx", ir_version=onnx.IR_VERSION + 2, opset=13)
    res = runner.invoke(cli, ["compile", src, "-o", str(tmp_path / "m.json")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.json").is_file()


def test_an_opset_newer_than_the_importer_is_one_line(runner, tmp_path):
    newest = onnx.defs.onnx_opset_version()
    src = _model(tmp_path / "op_new.onnx", ir_version=onnx.IR_VERSION + 2, opset=newest + 5)
    res = runner.invoke(cli, ["compile", src, "-o", str(tmp_path / "m.json")])
    assert res.exit_code == 2
    assert f"opset_version={newest}" in res.output and "Traceback" not in res.output


def test_a_file_that_is_not_a_model_is_one_line(runner, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    res = runner.invoke(cli, ["compile", str(bad), "-o", str(tmp_path / "m.json")])
    assert res.exit_code == 2
    assert "not a readable ONNX model" in res.output and "Traceback" not in res.output
