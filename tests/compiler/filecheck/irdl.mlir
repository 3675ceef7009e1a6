// The IRDL definition loads in iree-opt and rejects malformed accel ops with their location.
// RUN: iree-opt --irdl-file=%irdl %s --split-input-file --verify-diagnostics

func.func @ok(%a: memref<4x4xi8>, %b: memref<4x4xi8>, %c: memref<4x4xi32>) {
  %0 = "accel.buffer"(%a) {operand = "a"} : (memref<4x4xi8>) -> memref<4x4xi8>
  %1 = "accel.buffer"(%b) {operand = "b"} : (memref<4x4xi8>) -> memref<4x4xi8>
  %2 = "accel.buffer"(%c) {operand = "c"} : (memref<4x4xi32>) -> memref<4x4xi32>
  %3 = "accel.scratch"() {bytes = 24 : i64, name = "cmd"} : () -> memref<24xi8>
  "accel.send_literal"(%3) {bytes = 24 : i64, count = 3 : i64, offset = 0 : i64} : (memref<24xi8>) -> ()
  "accel.load_a"() {abuf = 0 : i64, row_len = 4 : i64, rows = 4 : i64, win_cnt = 4 : i64, win_lo = 0 : i64} : () -> ()
  "accel.send"(%0) {bytes = 16 : i64, offset = 0 : i64} : (memref<4x4xi8>) -> ()
  "accel.stream_b"() {abuf = 0 : i64, acc = 0 : i64, accumulate = 0 : i64, row_len = 4 : i64, win_cnt = 4 : i64, win_lo = 0 : i64} : () -> ()
  "accel.send"(%1) {bytes = 16 : i64, offset = 0 : i64} : (memref<4x4xi8>) -> ()
  "accel.drain"() {acc = 0 : i64, rows = 4 : i64, win_cnt = 4 : i64} : () -> ()
  "accel.recv"(%2) {bytes = 64 : i64, offset = 0 : i64} : (memref<4x4xi32>) -> ()
  "accel.wait"() : () -> ()
  return
}

// -----
func.func @two_operands(%a: memref<4x4xi8>) {
  // expected-error @+1 {{}}
  "accel.send"(%a, %a) {bytes = 16 : i64, offset = 0 : i64} : (memref<4x4xi8>, memref<4x4xi8>) -> ()
  return
}

// -----
func.func @missing_attr() {
  // expected-error @+1 {{}}
  "accel.drain"() {acc = 0 : i64, rows = 4 : i64} : () -> ()
  return
}

// -----
func.func @wrong_kind() {
  // expected-error @+1 {{}}
  "accel.load_a"() {abuf = 0 : i64, row_len = "x", rows = 4 : i64, win_cnt = 4 : i64, win_lo = 0 : i64} : () -> ()
  return
}

// -----
func.func @tensor_buffer(%t: tensor<4xi8>) {
  // expected-error @+1 {{}}
  "accel.send"(%t) {bytes = 4 : i64, offset = 0 : i64} : (tensor<4xi8>) -> ()
  return
}

// -----
func.func @unknown_op() {
  // expected-error @+1 {{}}
  "accel.bogus"() : () -> ()
  return
}
