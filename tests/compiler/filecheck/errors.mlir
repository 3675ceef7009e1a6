// RUN: not accel-run opt %s --split-input-file --pass-pipeline='builtin.module(accel-match,accel-schedule)' 2>&1 | filecheck %s
// One typed CompileError per unsupported input: the op, its location and what is supported.

// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: element types f32 x f32 -> f32 are not supported: the accelerator computes int8 x int8 -> int32
func.func @f32(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: operand A has a dynamic shape (tensor<?x4xi8>); only static shapes are supported
func.func @dynamic(%a: tensor<?x4xi8>, %b: tensor<4x4xi8>, %c: tensor<?x4xi32>) -> tensor<?x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x4xi8>, tensor<4x4xi8>) outs(%c : tensor<?x4xi32>) -> tensor<?x4xi32>
  return %r : tensor<?x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: 'linalg.batch_matmul' is not supported in an accelerated function: only 2-D linalg.matmul is supported
func.func @batch(%a: tensor<2x4x4xi8>, %b: tensor<2x4x4xi8>, %c: tensor<2x4x4xi32>) -> tensor<2x4x4xi32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x4xi8>, tensor<2x4x4xi8>) outs(%c : tensor<2x4x4xi32>) -> tensor<2x4x4xi32>
  return %r : tensor<2x4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 3]]:8: 'arith.addi' is not supported in an accelerated function ({{.*}}supported: func.func bodies holding one linalg.matmul
func.func @other_op(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  %s = arith.addi %r, %r : tensor<4x4xi32>
  return %s : tensor<4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:3: element types i32 x i32 -> i32 are not supported
func.func @axi4mlir_i32(%a: memref<4x4xi32>, %b: memref<4x4xi32>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi32>, memref<4x4xi32>) outs(%c : memref<4x4xi32>)
  return
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: linalg.matmul with #linalg.type_fn<cast_unsigned> is not supported
func.func @unsigned(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul {cast = #linalg.type_fn<cast_unsigned>} ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:3: operand A (memref<4x4xi8, strided<[8, 1]>>): layout strided<[8, 1]> is not dense row-major
func.func @strided(%a: memref<4x4xi8, strided<[8, 1]>>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi8, strided<[8, 1]>>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 3]]:3: function @two holds 2 linalg.matmul ops; one per function is supported
func.func @two(%a: memref<4x4xi8>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  linalg.matmul ins(%a, %b : memref<4x4xi8>, memref<4x4xi8>) outs(%c : memref<4x4xi32>)
  return
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: M=70000 exceeds the accelerator's 16-bit row_len/window fields
func.func @huge(%a: tensor<70000x4xi8>, %b: tensor<4x4xi8>, %c: tensor<70000x4xi32>) -> tensor<70000x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<70000x4xi8>, tensor<4x4xi8>) outs(%c : tensor<70000x4xi32>) -> tensor<70000x4xi32>
  return %r : tensor<70000x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: malformed AXI4MLIR attribute: the opcode flow never receives C (op_recv(2))
func.func @bad_flow(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul {accel_opcode_map_str = "opcode_map<s=[op_send(0), op_send(1)]>", accel_opcode_flow_str = "(s)"} ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: malformed AXI4MLIR attribute: opcode map: unknown action 'op_sendx'
func.func @bad_map(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul {accel_opcode_map_str = "opcode_map<s=[op_sendx(0)], r=[op_recv(2)]>", accel_opcode_flow_str = "(s r)"} ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: malformed AXI4MLIR attribute: accel_loop_permutation [0, 0, 1] must be a permutation of [0, 1, 2]
func.func @bad_perm(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>, %c: tensor<4x4xi32>) -> tensor<4x4xi32> {
  %r = linalg.matmul {accel_loop_permutation = [0, 0, 1]} ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%c : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 1]]:{{[0-9]+}}: malformed MLIR: {{.*}}
func.func @malformed(%a: tensor<4x4xi8>) { %r = linalg.matmul ins(%a : tensor<4x4xi8>) }

// -----
// CHECK: error: {{.*}}errors.mlir:[[# @LINE + 2]]:8: C is initialised by 'tensor.empty'
func.func @uninit(%a: tensor<4x4xi8>, %b: tensor<4x4xi8>) -> tensor<4x4xi32> {
  %e = tensor.empty() : tensor<4x4xi32>
  %r = linalg.matmul ins(%a, %b : tensor<4x4xi8>, tensor<4x4xi8>) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %r : tensor<4x4xi32>
}
