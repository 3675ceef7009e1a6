// Two int8 matmuls as a frontend emits them (tensor.empty + linalg.fill + linalg.matmul), one of
// them with AXI4MLIR's user-driven attributes (A-stationary flow, tile 16). Try:
//   accel-run compile examples/matmul.mlir -o mm.json
//   accel-run run examples/matmul.mlir --check
//   accel-run opt examples/matmul.mlir --pass-pipeline='builtin.module(accel-match,accel-schedule)'
func.func @layer(%a: tensor<200x240xi8>, %b: tensor<240x220xi8>) -> tensor<200x220xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<200x220xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<200x220xi32>) -> tensor<200x220xi32>
  %r = linalg.matmul ins(%a, %b : tensor<200x240xi8>, tensor<240x220xi8>) outs(%f : tensor<200x220xi32>) -> tensor<200x220xi32>
  return %r : tensor<200x220xi32>
}

func.func @axi4mlir_as(%a: memref<60x80xi8>, %b: memref<80x72xi8>, %c: memref<60x72xi32>) {
  linalg.matmul {accel_opcode_map_str = "opcode_map<s0=[op_send(0)], s1c=[op_send(1)], r=[op_recv(2)]>", accel_opcode_flow_str = "(s0 (s1c r))", accel_loop_permutation = [0, 2, 1], accel_accel_tile_size = 16} ins(%a, %b : memref<60x80xi8>, memref<80x72xi8>) outs(%c : memref<60x72xi32>)
  return
}
