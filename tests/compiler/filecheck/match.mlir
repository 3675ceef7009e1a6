// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match)' | filecheck %s

// Tensor form as frontends emit it: tensor.empty + linalg.fill(0) -> c_init "zero".
// CHECK-LABEL: func.func @tensor_zero
// CHECK: linalg.matmul {accel.match = {c_fill = 0 : i64, c_init = "zero", form = "tensor", k = 7 : i64, m = 5 : i64, n = 3 : i64}}
func.func @tensor_zero(%a: tensor<5x7xi8>, %b: tensor<7x3xi8>) -> tensor<5x3xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<5x3xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<5x3xi32>) -> tensor<5x3xi32>
  %r = linalg.matmul ins(%a, %b : tensor<5x7xi8>, tensor<7x3xi8>) outs(%f : tensor<5x3xi32>) -> tensor<5x3xi32>
  return %r : tensor<5x3xi32>
}

// Memref form accumulates into C (linalg.matmul on buffers is C += A*B).
// CHECK-LABEL: func.func @memref_acc
// CHECK: linalg.matmul {accel.match = {c_fill = 0 : i64, c_init = "accumulate", form = "memref", k = 1 : i64, m = 1 : i64, n = 1 : i64}}
func.func @memref_acc(%a: memref<1x1xi8>, %b: memref<1x1xi8>, %c: memref<1x1xi32>) {
  linalg.matmul ins(%a, %b : memref<1x1xi8>, memref<1x1xi8>) outs(%c : memref<1x1xi32>)
  return
}

// A linalg.fill of the memref C before the matmul: C starts at zero.
// CHECK-LABEL: func.func @memref_zero
// CHECK: c_init = "zero", form = "memref"
func.func @memref_zero(%a: memref<33x20xi8>, %b: memref<20x9xi8>, %c: memref<33x9xi32>) {
  %c0 = arith.constant 0 : i32
  linalg.fill ins(%c0 : i32) outs(%c : memref<33x9xi32>)
  linalg.matmul ins(%a, %b : memref<33x20xi8>, memref<20x9xi8>) outs(%c : memref<33x9xi32>)
  return
}

// A non-zero fill: the program accumulates onto C = 7.
// CHECK-LABEL: func.func @tensor_fill7
// CHECK: c_fill = 7 : i64, c_init = "accumulate", form = "tensor"
func.func @tensor_fill7(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>) -> tensor<4x4xi32> {
  %c7 = arith.constant 7 : i32
  %e = tensor.empty() : tensor<4x4xi32>
  %f = linalg.fill ins(%c7 : i32) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  %r = linalg.matmul ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%f : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}

// Tensor C passed in: C0 + A*B. Constant weights (ONNX initializers) are accepted.
// CHECK-LABEL: func.func @tensor_acc_const
// CHECK: c_init = "accumulate", form = "tensor", k = 2 : i64, m = 2 : i64, n = 2 : i64
func.func @tensor_acc_const(%a: tensor<2x2xi8>, %c: tensor<2x2xi32>) -> tensor<2x2xi32> {
  %w = arith.constant dense<[[1, -2], [3, -128]]> : tensor<2x2xi8>
  %r = linalg.matmul ins(%a, %w : tensor<2x2xi8>, tensor<2x2xi8>) outs(%c : tensor<2x2xi32>) -> tensor<2x2xi32>
  return %r : tensor<2x2xi32>
}

// Explicit cast_signed (upstream's i8 x i8 -> i32 semantics) is the default.
// CHECK-LABEL: func.func @signed_cast
// CHECK: accel.match
func.func @signed_cast(%a: tensor<3x8xi8>, %b: tensor<8x5xi8>, %c: tensor<3x5xi32>) -> tensor<3x5xi32> {
  %r = linalg.matmul {cast = #linalg.type_fn<cast_signed>} ins(%a, %b : tensor<3x8xi8>, tensor<8x5xi8>) outs(%c : tensor<3x5xi32>) -> tensor<3x5xi32>
  return %r : tensor<3x5xi32>
}

// Functions without a matmul are left alone.
// CHECK-LABEL: func.func @nothing
// CHECK-NEXT: return
func.func @nothing() {
  return
}
