// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule,accel-lower)' | filecheck %s
// The lowered program must also verify against the IRDL definition of the dialect:
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-match,accel-schedule,accel-lower)' | iree-opt --irdl-file=%irdl | filecheck %s --check-prefix=IRDL

// Tensor form, one panel: LOAD_A, STREAM_B, DRAIN in one command packet, each data packet
// right after its instruction, C drained straight into the result buffer.
// CHECK-LABEL: func.func @small
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.fill
// CHECK-NOT: tensor.empty
// CHECK: %[[A:.*]] = "accel.buffer"(%arg0) {operand = "a"} : (tensor<5x7xi8>) -> memref<5x7xi8>
// CHECK: %[[B:.*]] = "accel.buffer"(%arg1) {operand = "b"} : (tensor<7x3xi8>) -> memref<7x3xi8>
// CHECK: %[[C:.*]] = "accel.alloc"() {fill = 0 : i64, operand = "c"} : () -> memref<5x3xi32>
// CHECK: %[[CMD:.*]] = "accel.scratch"() {bytes = 24 : i64, name = "cmd"} : () -> memref<24xi8>
// CHECK: "accel.init_dma"() {accel_base = {{[0-9]+}} : i64, c_init = "zero", dma_base = {{[0-9]+}} : i64, name = "small"
// CHECK-SAME: schedule = {double_buffer = {{true|false}}, k = 7 : i64, m = 5 : i64, n = 3 : i64
// CHECK-SAME: spec = "z2_default"
// CHECK-NEXT: "accel.send_literal"(%[[CMD]]) {bytes = 24 : i64, count = 3 : i64, offset = 0 : i64}
// CHECK-NEXT: "accel.load_a"() {abuf = 0 : i64, row_len = 7 : i64, rows = 5 : i64, win_cnt = 7 : i64, win_lo = 0 : i64}
// CHECK-NEXT: "accel.send"(%[[A]]) {bytes = 35 : i64, offset = 0 : i64}
// CHECK-NEXT: "accel.stream_b"() {abuf = 0 : i64, acc = 0 : i64, accumulate = 0 : i64, row_len = 3 : i64, win_cnt = 3 : i64, win_lo = 0 : i64}
// CHECK-NEXT: "accel.send"(%[[B]]) {bytes = 21 : i64, offset = 0 : i64}
// CHECK-NEXT: "accel.drain"() {acc = 0 : i64, rows = 5 : i64, win_cnt = 3 : i64}
// CHECK-NEXT: "accel.recv"(%[[C]]) {bytes = 60 : i64, offset = 0 : i64}
// CHECK-NEXT: "accel.wait"()
// CHECK-NEXT: %[[R:.*]] = "accel.result"(%[[C]]) : (memref<5x3xi32>) -> tensor<5x3xi32>
// CHECK-NEXT: return %[[R]]
func.func @small(%a: tensor<5x7xi8>, %b: tensor<7x3xi8>) -> tensor<5x3xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<5x3xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<5x3xi32>) -> tensor<5x3xi32>
  %r = linalg.matmul ins(%a, %b : tensor<5x7xi8>, tensor<7x3xi8>) outs(%f : tensor<5x3xi32>) -> tensor<5x3xi32>
  return %r : tensor<5x3xi32>
}

// Memref form, several panels, double buffered: A banks and accumulator banks alternate;
// C accumulates on the host (c_init "accumulate": drains land in a staging buffer and are added).
// CHECK-LABEL: func.func @panels
// CHECK: %[[C2:.*]] = "accel.buffer"(%arg2) {operand = "c"} : (memref<40x64xi32>) -> memref<40x64xi32>
// CHECK: %[[ST:.*]] = "accel.scratch"() {bytes = {{[0-9]+}} : i64, name = "stage_c"}
// CHECK: "accel.init_dma"() {{.*}}c_init = "accumulate"{{.*}}schedule = {double_buffer = true, k = 24 : i64, m = 40 : i64, n = 64 : i64, order = "mn", source = "cost-model; axi4mlir(accel_loop_permutation,accel_accel_tile_size)", spec_ref = "z2_default", staging = false, stationarity = "A", tile_k = 24 : i64, tile_m = 16 : i64, tile_n = 64 : i64}
// CHECK: "accel.load_a"() {abuf = 0 : i64, row_len = 24 : i64, rows = 16 : i64
// CHECK: "accel.stream_b"() {abuf = 0 : i64, acc = 0 : i64
// CHECK: "accel.drain"() {acc = 0 : i64, rows = 16 : i64, win_cnt = 64 : i64}
// CHECK-NEXT: "accel.recv"(%[[ST]]) {bytes = 4096 : i64, offset = 0 : i64, unpack = {add = true, col0 = 0 : i64, cols = 64 : i64, dst = "c", row0 = 0 : i64, rows = 16 : i64}}
// CHECK: "accel.load_a"() {abuf = 1 : i64, row_len = 24 : i64, rows = 16 : i64
// CHECK: "accel.stream_b"() {abuf = 1 : i64, acc = 1 : i64
// CHECK: "accel.drain"() {acc = 1 : i64, rows = 16 : i64, win_cnt = 64 : i64}
// CHECK: "accel.load_a"() {abuf = 0 : i64, row_len = 24 : i64, rows = 8 : i64
// CHECK: "accel.drain"() {acc = 0 : i64, rows = 8 : i64, win_cnt = 64 : i64}
// CHECK-NEXT: "accel.recv"(%[[ST]]) {bytes = 2048 : i64, offset = 0 : i64, unpack = {add = true, {{.*}}row0 = 32 : i64, rows = 8 : i64}}
// CHECK-NEXT: "accel.wait"()
// CHECK-NEXT: return
func.func @panels(%a: memref<40x24xi8>, %b: memref<24x64xi8>, %c: memref<40x64xi32>) {
  linalg.matmul {accel_accel_tile_size = [16, 64, 24], accel_loop_permutation = [0, 2, 1], accel_dmaAddress = 0 : i64} ins(%a, %b : memref<40x24xi8>, memref<24x64xi8>) outs(%c : memref<40x64xi32>)
  return
}

// Output stationary with K split (K > tile_k): accumulate = 1 on every chunk after the first.
// CHECK-LABEL: func.func @ksplit
// CHECK: "accel.load_a"() {abuf = 0 : i64, row_len = 40 : i64, rows = 4 : i64, win_cnt = 16 : i64, win_lo = 0 : i64}
// CHECK: "accel.stream_b"() {abuf = 0 : i64, acc = 0 : i64, accumulate = 0 : i64
// CHECK: "accel.load_a"() {abuf = 1 : i64, row_len = 40 : i64, rows = 4 : i64, win_cnt = 16 : i64, win_lo = 16 : i64}
// CHECK: "accel.stream_b"() {abuf = 1 : i64, acc = 0 : i64, accumulate = 1 : i64
// CHECK: "accel.load_a"() {abuf = 0 : i64, row_len = 40 : i64, rows = 4 : i64, win_cnt = 8 : i64, win_lo = 32 : i64}
// CHECK: "accel.stream_b"() {abuf = 0 : i64, acc = 0 : i64, accumulate = 1 : i64
// CHECK: "accel.drain"() {acc = 0 : i64, rows = 4 : i64, win_cnt = 8 : i64}
func.func @ksplit(%a: tensor<4x40xi8>, %b: tensor<40x8xi8>) -> tensor<4x8xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x8xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<4x8xi32>) -> tensor<4x8xi32>
  %r = linalg.matmul {accel_accel_tile_size = [4, 8, 16], accel_opcode_map_str = "opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>", accel_opcode_flow_str = "((s) r)"} ins(%a, %b : tensor<4x40xi8>, tensor<40x8xi8>) outs(%f : tensor<4x8xi32>) -> tensor<4x8xi32>
  return %r : tensor<4x8xi32>
}

// IRDL-LABEL: func.func @small
// IRDL: "accel.init_dma"
// IRDL: "accel.recv"
// IRDL-LABEL: func.func @panels
// IRDL-LABEL: func.func @ksplit
// IRDL: "accel.wait"
