# ruff: noqa: E501  (MLIR fixtures: one op per line)
"""MLIR text generators for the compiler tests (shapes x forms x AXI4MLIR attributes)."""

from __future__ import annotations

FLOWS = {
    "Ns": ('opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>', "(s r)", [0, 1, 2]),
    "As": ('opcode_map<s0=[op_send(0)], s1c=[op_send(1)], r=[op_recv(2)]>', "(s0 (s1c r))", [0, 2, 1]),
    "Cs": ('opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>', "((s) r)", [0, 1, 2]),
    "Bs": ('opcode_map<s1=[op_send(1)], s0c=[op_send(0)], r=[op_recv(2)]>', "(s1 (s0c r))", [1, 2, 0]),
}


def attrs_for(flow: str | None = None, tile: int | list[int] | None = None) -> str:
    parts = []
    if flow:
        opmap, opflow, perm = FLOWS[flow]
        parts += [f'accel_opcode_map_str = "{opmap}"', f'accel_opcode_flow_str = "{opflow}"',
                  f"accel_loop_permutation = [{', '.join(map(str, perm))}]"]
    if tile is not None:
        parts.append(f"accel_accel_tile_size = {tile if isinstance(tile, int) else list(tile)}")
    return ("{" + ", ".join(parts) + "} ") if parts else ""


def tensor_func(name: str, m: int, n: int, k: int, attrs: str = "", fill: int = 0) -> str:
    return f"""
func.func @{name}(%a: tensor<{m}x{k}xi8>, %b: tensor<{k}x{n}xi8>) -> tensor<{m}x{n}xi32> {{
  %c0 = arith.constant {fill} : i32
  %e = tensor.empty() : tensor<{m}x{n}xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>
  %r = linalg.matmul {attrs}ins(%a, %b : tensor<{m}x{k}xi8>, tensor<{k}x{n}xi8>) outs(%f : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>
  return %r : tensor<{m}x{n}xi32>
}}
"""


def tensor_acc_func(name: str, m: int, n: int, k: int, attrs: str = "") -> str:
    return f"""
func.func @{name}(%a: tensor<{m}x{k}xi8>, %b: tensor<{k}x{n}xi8>, %c: tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32> {{
  %r = linalg.matmul {attrs}ins(%a, %b : tensor<{m}x{k}xi8>, tensor<{k}x{n}xi8>) outs(%c : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>
  return %r : tensor<{m}x{n}xi32>
}}
"""


def memref_func(name: str, m: int, n: int, k: int, attrs: str = "", zero: bool = False) -> str:
    fill = (f"  %c0 = arith.constant 0 : i32\n  linalg.fill ins(%c0 : i32) outs(%c : memref<{m}x{n}xi32>)\n"
            if zero else "")
    return f"""
func.func @{name}(%a: memref<{m}x{k}xi8>, %b: memref<{k}x{n}xi8>, %c: memref<{m}x{n}xi32>) {{
{fill}  linalg.matmul {attrs}ins(%a, %b : memref<{m}x{k}xi8>, memref<{k}x{n}xi8>) outs(%c : memref<{m}x{n}xi32>)
  return
}}
"""


def const_weight_func(name: str, m: int, n: int, k: int, weights: list[list[int]]) -> str:
    dense = "[" + ", ".join("[" + ", ".join(map(str, row)) + "]" for row in weights) + "]"
    return f"""
func.func @{name}(%a: tensor<{m}x{k}xi8>) -> tensor<{m}x{n}xi32> {{
  %w = arith.constant dense<{dense}> : tensor<{k}x{n}xi8>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<{m}x{n}xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>
  %r = linalg.matmul ins(%a, %w : tensor<{m}x{k}xi8>, tensor<{k}x{n}xi8>) outs(%f : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>
  return %r : tensor<{m}x{n}xi32>
}}
"""
