// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule)' 2>%t.remarks | filecheck %s
// RUN: filecheck %s --check-prefix=REMARK < %t.remarks
// RUN: not accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule{bs=reject})' 2>&1 | filecheck %s --check-prefix=REJECT
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule{spec=kv260 objective=board})' 2>/dev/null | filecheck %s --check-prefix=KV

// No attributes: the cost model decides. K and N fit on chip: A panels stay, one N tile.
// CHECK-LABEL: func.func @free
// CHECK: accel.cost = {array_busy = {{[0-9]+}} : i64
// CHECK-SAME: accel.schedule = {candidates = {{[0-9]+}} : i64, double_buffer = {{true|false}}, objective = "fabric", order = "mn", predicted_cycles = {{[0-9]+}} : i64, source = "cost-model", spec = "z2_default", spec_hash = "{{[0-9a-f]+}}", spec_ref = "z2_default", staging = false, stationarity = "A", tile_k = 64 : i64, tile_m = 16 : i64, tile_n = 64 : i64}
// KV-LABEL: func.func @free
// KV: objective = "board", {{.*}}spec = "kv260", {{.*}}stationarity = "A", tile_k = 64 : i64, tile_m = 32 : i64, tile_n = 64 : i64}
func.func @free(%a: tensor<64x64xi8>, %b: tensor<64x64xi8>, %c: tensor<64x64xi32>) -> tensor<64x64xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x64xi8>, tensor<64x64xi8>) outs(%c : tensor<64x64xi32>) -> tensor<64x64xi32>
  return %r : tensor<64x64xi32>
}

// K = 5000 > KMAX = 4096: K is split, the accumulators stay on chip (output stationary).
// CHECK-LABEL: func.func @deep_k
// CHECK: stationarity = "C", tile_k = {{4096|2504}} : i64, tile_m = 16 : i64, tile_n = 8 : i64}
func.func @deep_k(%a: memref<16x5000xi8>, %b: memref<5000x8xi8>, %c: memref<16x8xi32>) {
  linalg.matmul ins(%a, %b : memref<16x5000xi8>, memref<5000x8xi8>) outs(%c : memref<16x8xi32>)
  return
}

// AXI4MLIR Ns flow (s r): nothing stationary, K partials summed on the host; tile size 16.
// CHECK-LABEL: func.func @ns
// CHECK: source = "cost-model; axi4mlir(accel_opcode_map_str,accel_opcode_flow_str,accel_loop_permutation,accel_accel_tile_size;flow=Ns)"
// CHECK-SAME: stationarity = "N", tile_k = 16 : i64, tile_m = 16 : i64, tile_n = 16 : i64}
func.func @ns(%a: memref<32x32xi8>, %b: memref<32x32xi8>, %c: memref<32x32xi32>) {
  linalg.matmul {accel_opcode_map_str = "opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>", accel_opcode_flow_str = "(s r)", accel_loop_permutation = [0, 1, 2], accel_accel_tile_size = 16} ins(%a, %b : memref<32x32xi8>, memref<32x32xi8>) outs(%c : memref<32x32xi32>)
  return
}

// AXI4MLIR As flow (s0 (s1c r)), loop permutation m,k,n; the opcode literals are not needed.
// REMARK: remark: op_send_literal/op_send_dim/op_send_idx are AXI4MLIR accelerator opcodes; this accelerator's instructions come from the spec instead
// CHECK-LABEL: func.func @as
// CHECK: order = "mn", {{.*}}flow=As){{.*}}stationarity = "A", tile_k = 64 : i64, tile_m = 16 : i64, tile_n = 48 : i64}
func.func @as(%a: memref<32x64xi8>, %b: memref<64x48xi8>, %c: memref<32x48xi32>) {
  linalg.matmul {accel_opcode_map_str = "opcode_map<s0=[op_send_literal(1), op_send(0)], s1c=[op_send_literal(6), op_send(1)], r=[op_recv(2)]>", accel_opcode_flow_str = "(s0 (s1c r))", accel_loop_permutation = [0, 2, 1]} ins(%a, %b : memref<32x64xi8>, memref<64x48xi8>) outs(%c : memref<32x48xi32>)
  return
}

// AXI4MLIR Cs flow ((s) r): output stationary.
// CHECK-LABEL: func.func @cs
// CHECK: flow=Cs
// CHECK-SAME: stationarity = "C", tile_k = 32 : i64, tile_m = 16 : i64, tile_n = 32 : i64}
func.func @cs(%a: memref<32x64xi8>, %b: memref<64x64xi8>, %c: memref<32x64xi32>) {
  linalg.matmul {accel_opcode_map_str = "opcode_map<s=[op_send_literal(7), op_send(0), op_send(1)], r=[op_send_literal(8), op_recv(2)]>", accel_opcode_flow_str = "((s) r)", accel_accel_tile_size = 32} ins(%a, %b : memref<32x64xi8>, memref<64x64xi8>) outs(%c : memref<32x64xi32>)
  return
}

// AXI4MLIR Bs flow (s1 (s0c r)): mapped to the closest supported flow (N tiles outer), with a remark.
// CHECK-LABEL: func.func @bs
// CHECK: order = "nm", {{.*}}flow=Bs)
// REMARK: schedule.mlir:[[# @LINE + 3]]:3: remark: Bs (B-stationary) flow: this accelerator streams B and cannot keep it on chip; mapped to the closest supported flow
// REJECT: error: {{.*}}schedule.mlir:[[# @LINE + 2]]:3: B-stationary flow (Bs) is not supported
func.func @bs(%a: memref<48x32xi8>, %b: memref<32x1024xi8>, %c: memref<48x1024xi32>) {
  linalg.matmul {accel_opcode_map_str = "opcode_map<s1=[op_send_literal(2), op_send(1)], s0c=[op_send_literal(5), op_send(0)], r=[op_recv(2)]>", accel_opcode_flow_str = "(s1 (s0c r))", accel_loop_permutation = [1, 2, 0]} ins(%a, %b : memref<48x32xi8>, memref<32x1024xi8>) outs(%c : memref<48x1024xi32>)
  return
}

// A tile size the ISA cannot take as is: rounded to whole 8-lane beats, with a remark.
// CHECK-LABEL: func.func @odd_tile
// CHECK: tile_k = 8 : i64, tile_m = 4 : i64, tile_n = 8 : i64}
// REMARK: schedule.mlir:[[# @LINE + 2]]:8: remark: accel_accel_tile_size adjusted to the accelerator: tile_n 4 -> 8 (NMAX 512, whole 8-lane beats), tile_k 4 -> 8 (KMAX 4096, whole 8-lane beats)
func.func @odd_tile(%a: tensor<20x20xi8>, %b: tensor<20x20xi8>, %c: tensor<20x20xi32>) -> tensor<20x20xi32> {
  %r = linalg.matmul {accel_accel_tile_size = 4} ins(%a, %b : tensor<20x20xi8>, tensor<20x20xi8>) outs(%c : tensor<20x20xi32>) -> tensor<20x20xi32>
  return %r : tensor<20x20xi32>
}

