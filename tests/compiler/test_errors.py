# ruff: noqa: E501  (MLIR fixtures: one op per line)
"""One test per typed compiler error: a CompileError naming the op, its location and what is
supported, from the API and from the CLI (one line, no traceback, exit code 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accel.compiler import compile
from accel.errors import CompileError

from .mlir_gen import tensor_func

F32 = """
func.func @f(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
"""
I16 = F32.replace("f32", "i16")
DYNAMIC = """
func.func @f(%a: tensor<?x4xi8>, %b: tensor<4x4xi8>, %c: tensor<?x4xi32>) -> tensor<?x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x4xi8>, tensor<4x4xi8>) outs(%c : tensor<?x4xi32>) -> tensor<?x4xi32>
  return %r : tensor<?x4xi32>
}
"""
BATCH = """
func.func @f(%a: tensor<2x4x4xi8>, %b: tensor<2x4x4xi8>, %c: tensor<2x4x4xi32>) -> tensor<2x4x4xi32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x4xi8>, tensor<2x4x4xi8>) outs(%c : tensor<2x4x4xi32>) -> tensor<2x4x4xi32>
  return %r : tensor<2x4x4xi32>
}
"""
OTHER_OP = """
func.func @f(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  %s = arith.addi %r, %r : tensor<4x4xi32>
  return %s : tensor<4x4xi32>
}
"""
LOOP = """
func.func @f(%a: memref<4x4xi8>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  }
  return
}
"""
CALL = """
func.func private @g()
func.func @f(%a: memref<4x4xi8>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  func.call @g() : () -> ()
  linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}
"""
UNSIGNED = tensor_func("f", 4, 4, 4, "{cast = #linalg.type_fn<cast_unsigned>} ")
TRANSPOSED = """
func.func @f(%a: tensor<4x3xi8>, %b: tensor<4x5xi8>, %c: tensor<3x5xi32>) -> tensor<3x5xi32> {
  %r = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %b : tensor<4x3xi8>, tensor<4x5xi8>) outs(%c : tensor<3x5xi32>) -> tensor<3x5xi32>
  return %r : tensor<3x5xi32>
}
"""
STRIDED = """
func.func @f(%a: memref<4x4xi8, strided<[8, 1]>>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi8, strided<[8, 1]>>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}
"""
TWO = """
func.func @f(%a: memref<4x4xi8>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}
"""
HUGE = tensor_func("f", 4, 70000, 4)
RESULT_USED = """
func.func @f(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> (tensor<4x4xi32>, tensor<4x4xi32>) {
  %r = linalg.matmul ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r, %c : tensor<4x4xi32>, tensor<4x4xi32>
}
"""
MALFORMED = "func.func @f(%a: tensor<4x4xi8>) {\n  %r = linalg.matmul ins(%a : tensor<4x4xi8>)\n}\n"
BAD_FLOW = tensor_func("f", 4, 4, 4, '{accel_opcode_map_str = "opcode_map<s=[op_send(0)], r=[op_recv(2)]>", '
                       'accel_opcode_flow_str = "(s r)"} ')
BAD_TILE = tensor_func("f", 4, 4, 4, "{accel_accel_tile_size = [4, 4]} ")
ONLY_MAP = tensor_func("f", 4, 4, 4, '{accel_opcode_map_str = "opcode_map<s=[op_send(0)]>"} ')

CASES = {
    # name: (source, op named in the error, line of the op, message fragment)
    "f32": (F32, "linalg.matmul", 3, "element types f32 x f32 -> f32 are not supported"),
    "i16": (I16, "linalg.matmul", 3, "element types i16 x i16 -> i16 are not supported"),
    "dynamic": (DYNAMIC, "linalg.matmul", 3, "dynamic shape (tensor<?x4xi8>); only static shapes are supported"),
    "batch_matmul": (BATCH, "linalg.batch_matmul", 3, "only 2-D linalg.matmul is supported"),
    "other_op": (OTHER_OP, "arith.addi", 4, "'arith.addi' is not supported in an accelerated function"),
    "scf_loop": (LOOP, "scf.for", 6, "'scf.for' is not supported"),
    "call": (CALL, "func.call", 4, "calls are not supported"),
    "unsigned": (UNSIGNED, "linalg.matmul", 6, "cast_unsigned> is not supported"),
    "transposed": (TRANSPOSED, "linalg.matmul", 3, "transposed or broadcast operands"),
    "strided": (STRIDED, "linalg.matmul", 3, "is not dense row-major"),
    "two_matmuls": (TWO, "linalg.matmul", 4, "holds 2 linalg.matmul ops; one per function is supported"),
    "huge": (HUGE, "linalg.matmul", 6, "N=70000 exceeds the accelerator's 16-bit"),
    "result_used": (RESULT_USED, "func.return", 4, "must return exactly the linalg.matmul result"),
    "malformed": (MALFORMED, None, 3, "malformed MLIR"),
    "bad_flow": (BAD_FLOW, "linalg.matmul", 6, "never sends B"),
    "bad_tile": (BAD_TILE, "linalg.matmul", 6, "accel_accel_tile_size [4, 4] must be"),
    "only_map": (ONLY_MAP, "linalg.matmul", 6, "must be given together"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_typed_error(case: str) -> None:
    src, op, line, fragment = CASES[case]
    with pytest.raises(CompileError) as info:
        compile(src)
    err = info.value
    assert fragment in str(err)
    assert err.op == op
    assert err.location is not None and err.location.startswith(f"<input>:{line}:"), err.location


def test_error_location_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.mlir"
    path.write_text(F32)
    with pytest.raises(CompileError) as info:
        compile(path)
    assert info.value.location == f"{path}:3:8"
    assert str(info.value).startswith(f"{path}:3:8: element types")


def test_bs_reject_option() -> None:
    src = tensor_func("f", 4, 4, 4, '{accel_opcode_map_str = "opcode_map<s1=[op_send(1)], s0c=[op_send(0)], '
                      'r=[op_recv(2)]>", accel_opcode_flow_str = "(s1 (s0c r))"} ')
    with pytest.raises(CompileError, match="B-stationary flow"):
        compile(src, bs="reject")
    assert compile(src).functions["f"].remarks  # mapped, with a remark


def test_no_matmul_is_an_error() -> None:
    with pytest.raises(CompileError, match=r"no linalg\.matmul to compile"):
        compile("func.func @f() {\n  return\n}\n")


def test_impossible_fixed_schedule() -> None:
    with pytest.raises(CompileError, match="no valid schedule"):
        compile(tensor_func("f", 4, 600, 4), tile_n=600)


def test_unknown_spec() -> None:
    with pytest.raises(CompileError, match="no spec 'nope'"):
        compile(tensor_func("f", 4, 4, 4), spec="nope")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["compile", "{path}"], "element types f32 x f32 -> f32 are not supported"),
        (["run", "{path}"], "element types f32 x f32 -> f32 are not supported"),
        (["opt", "{path}"], "element types f32 x f32 -> f32 are not supported"),
        (["compile", "{missing}"], "no such input file"),
        (["run", "{bad_json}"], "not valid JSON"),
        (["opt", "{path}", "--pass-pipeline=builtin.module(accel-nope)"], "unknown or malformed pass"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    path = tmp_path / "bad.mlir"
    path.write_text(F32)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    subs = {"{path}": str(path), "{missing}": str(tmp_path / "missing.mlir"), "{bad_json}": str(bad_json)}
    argv = [subs.get(a, a) for a in args]
    proc = subprocess.run([str(Path(sys.executable).parent / "accel-run"), *argv], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
