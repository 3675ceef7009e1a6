// Upstream passes run in the same pipeline as the accel passes; --print-ir-after-all shows each.
// RUN: accel-run opt %s --pass-pipeline='builtin.module(canonicalize,accel-match,func.func(cse),accel-schedule{spec=kv260},accel-lower,canonicalize,accel-emit)' --print-ir-after-all 2>&1 | filecheck %s
// RUN: accel-run opt %s --pass-pipeline='accel-match,accel-schedule{tile-k=16 stationarity=C double-buffer=false}' | filecheck %s --check-prefix=OPTS
// RUN: not accel-run opt %s --pass-pipeline='builtin.module(accel-match,no-such-pass)' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not accel-run opt %s --pass-pipeline='builtin.module(func.func(accel-match))' 2>&1 | filecheck %s --check-prefix=NESTED
// RUN: not accel-run opt %s --pass-pipeline='builtin.module(accel-schedule{tile_q=3})' 2>&1 | filecheck %s --check-prefix=OPT
// RUN: not accel-run opt %s --pass-pipeline='builtin.module(accel-lower)' 2>&1 | filecheck %s --check-prefix=ORDER

// CHECK: IR Dump After Canonicalizer
// CHECK: IR Dump After accel-match
// CHECK: accel.match
// CHECK: IR Dump After CSE
// CHECK: IR Dump After accel-schedule
// CHECK: accel.schedule = {candidates = {{[0-9]+}} : i64, double_buffer = {{true|false}}, objective = "fabric", order = "mn", predicted_cycles = {{[0-9]+}} : i64, source = "cost-model", spec = "kv260"
// CHECK: IR Dump After accel-lower
// CHECK: "accel.init_dma"
// CHECK: IR Dump After Canonicalizer
// CHECK: "accel.init_dma"
// CHECK: IR Dump After accel-emit
// CHECK: accel.program = {instructions = 3 : i64, mm2s = 3 : i64, name = "f", predicted_cycles = {{[0-9]+}} : i64, s2mm = 1 : i64, spec = "kv260"}

// OPTS: accel.schedule = {{{.*}}double_buffer = false, {{.*}}source = "cost-model; option tile_k; option stationarity; option double_buffer", {{.*}}stationarity = "C", tile_k = 16 : i64

// BAD: error: unknown or malformed pass 'no-such-pass'
// NESTED: error: accel-match runs on builtin.module: put it at the top level of the pipeline, not inside func.func(...)
// OPT: error: pass accel-schedule has no option 'tile_q'
// ORDER: error: {{.*}}pipeline.mlir:[[# @LINE + 6]]:8: linalg.matmul has no schedule: run accel-match and accel-schedule first

func.func @f(%a: tensor<24x40xi8>, %b: tensor<40x20xi8>) -> tensor<24x20xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<24x20xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<24x20xi32>) -> tensor<24x20xi32>
  %r = linalg.matmul ins(%a, %b : tensor<24x40xi8>, tensor<40x20xi8>) outs(%f : tensor<24x20xi32>) -> tensor<24x20xi32>
  return %r : tensor<24x20xi32>
}
