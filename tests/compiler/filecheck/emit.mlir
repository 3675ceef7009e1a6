// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule,accel-lower,accel-emit{output=%t.json})' | filecheck %s
// RUN: python3 -c "import json,sys; d=json.load(open('%t.json')); f=d['functions']; print(d['format'], sorted(f), f['weights']['bindings']['b']['const']['shape'], f['acc']['bindings']['c'], f['weights']['program']['predicted']['model'])" | filecheck %s --check-prefix=JSON

// accel-emit attaches a summary of each function's driver program and writes the module.
// CHECK-LABEL: func.func @weights
// CHECK-SAME: accel.program = {instructions = 3 : i64, mm2s = 3 : i64, name = "weights", predicted_cycles = {{[1-9][0-9]*}} : i64, s2mm = 1 : i64, spec = "z2_default"}
// CHECK: "accel.buffer"(%cst) {operand = "b"}
func.func @weights(%a: tensor<3x4xi8>) -> tensor<3x2xi32> {
  %w = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, -8]]> : tensor<4x2xi8>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<3x2xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<3x2xi32>) -> tensor<3x2xi32>
  %r = linalg.matmul ins(%a, %w : tensor<3x4xi8>, tensor<4x2xi8>) outs(%f : tensor<3x2xi32>) -> tensor<3x2xi32>
  return %r : tensor<3x2xi32>
}

// CHECK-LABEL: func.func @acc
// CHECK-SAME: accel.program = {instructions = 3 : i64
func.func @acc(%a: memref<2x2xi8>, %b: memref<2x2xi8>, %c: memref<2x2xi32>) {
  linalg.matmul ins(%a, %b : memref<2x2xi8>, memref<2x2xi8>) outs(%c : memref<2x2xi32>)
  return
}

// JSON: pynq-accel/compiled-module ['acc', 'weights'] [4, 2] {'arg': 2} accel-costmodel/1
