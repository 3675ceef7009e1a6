// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition{epilogue=cpu})' | filecheck %s
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition{epilogue=cpu},accel-model-emit{output=%t.json})' > /dev/null
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition{epilogue=cpu})' | iree-opt --irdl-file=%irdl --allow-unregistered-dialect > /dev/null
// RUN: python3 -c "import json; d=json.load(open('%t.json')); print(d['format'], [(s['kind'], s['op']) for s in d['steps']], d['summary']['accel_share'], [p['where'] for p in d['placement']])" | filecheck %s --check-prefix=JSON
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition{epilogue=fabric})' | filecheck %s --check-prefix=FABRIC
// RUN: accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition{epilogue=fabric},accel-model-emit{output=%t.fab.json})' > /dev/null
// RUN: python3 -c "import json; d=json.load(open('%t.fab.json')); print([(s['kind'], s['op'], s['program']['version'], sorted(s['bind'])) for s in d['steps']])" | filecheck %s --check-prefix=FABJSON

// What iree-import-onnx emits (one torch.operator per ONNX node, names in accel.node).
// A QLinearMatMul with an int8 weight becomes accel.matmul (int8 x int8 -> int32) and the
// requantization a CPU host step (accel.Requantize) with epilogue=cpu; the Relu on its int8
// output is the requantization's clamp (lo = 0); Flatten folds into a view; constants become
// accel.weight. With epilogue=fabric the product, requantization and clamp are ONE accel.matmul
// with an epilogue (a version-2 driver program with its LOAD_EPI packets bound as `epi`).
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: accel.fused = {act = "Relu"}
// CHECK-NOT: torch.operator
// CHECK: %[[W:.*]] = "accel.weight"() {data = "AQIDBAUGBwj/Af4C", dtype = "int8", shape = [4, 3]}
// CHECK: %[[F:.*]] = "accel.view"(%arg0) {node = "flat", op = "Flatten"}
// CHECK: %[[C:.*]] = "accel.matmul"(%[[F]], %{{.*}}) {k = 4 : i64, m = 2 : i64, n = 3 : i64, node = "fc", op = "QLinearMatMul"} : (!torch.vtensor<[2,4],si8>, !torch.vtensor<[4,3],si8>) -> !torch.vtensor<[2,3],si32>
// CHECK: "accel.host"(%[[C]]) {attrs = {hi = 127 : i64, lo = 0 : i64, out_dtype = "int8", scale = [1.250000e-01], zero_point = 3 : i64}, macs = 0 : i64, node = "fc", onnx_op = "QLinearMatMul", op = "accel.Requantize"}
// CHECK-NOT: Relu
// JSON: pynq-accel/model-program [('accel', 'QLinearMatMul'), ('host', 'accel.Requantize')] 1.0 ['folded', 'accelerator', 'folded']
// FABRIC-LABEL: func.func @mlp
// FABRIC: "accel.matmul"(%{{.*}}, %{{.*}}) {epilogue = {a_dtype = "int8", b_zero_point = 0 : i64, bias = [0, 0, 0], hi = 127 : i64, lo = 0 : i64, out_dtype = "int8", scale = [1.250000e-01, 1.250000e-01, 1.250000e-01], zero_point = 3 : i64}, k = 4 : i64, m = 2 : i64, n = 3 : i64, node = "fc", op = "QLinearMatMul"} : (!torch.vtensor<[2,4],si8>, !torch.vtensor<[4,3],si8>) -> !torch.vtensor<[2,3],si8>
// FABRIC-NOT: accel.host
// FABJSON: [('accel', 'QLinearMatMul', 2, ['a', 'b', 'c', 'epi'])]
func.func @mlp(%arg0: !torch.vtensor<[2,1,4],si8>) -> !torch.vtensor<[2,3],si8> {
  %w = torch.operator "onnx.Constant"() {torch.onnx.value = dense<[[1, 2, 3], [4, 5, 6], [7, 8, -1], [1, -2, 2]]> : tensor<4x3xsi8>} : () -> !torch.vtensor<[4,3],si8>
  %s = torch.operator "onnx.Constant"() {torch.onnx.value = dense<0.5> : tensor<f32>} : () -> !torch.vtensor<[],f32>
  %z = torch.operator "onnx.Constant"() {torch.onnx.value = dense<0> : tensor<si8>} : () -> !torch.vtensor<[],si8>
  %ys = torch.operator "onnx.Constant"() {torch.onnx.value = dense<2.0> : tensor<f32>} : () -> !torch.vtensor<[],f32>
  %yz = torch.operator "onnx.Constant"() {torch.onnx.value = dense<3> : tensor<si8>} : () -> !torch.vtensor<[],si8>
  %f = torch.operator "onnx.Flatten"(%arg0) {accel.node = "flat", torch.onnx.axis = 1 : si64} : (!torch.vtensor<[2,1,4],si8>) -> !torch.vtensor<[2,4],si8>
  %y = torch.operator "onnx.QLinearMatMul"(%f, %s, %z, %w, %s, %z, %ys, %yz) {accel.node = "fc"} : (!torch.vtensor<[2,4],si8>, !torch.vtensor<[],f32>, !torch.vtensor<[],si8>, !torch.vtensor<[4,3],si8>, !torch.vtensor<[],f32>, !torch.vtensor<[],si8>, !torch.vtensor<[],f32>, !torch.vtensor<[],si8>) -> !torch.vtensor<[2,3],si8>
  %r = torch.operator "onnx.Relu"(%y) {accel.node = "act"} : (!torch.vtensor<[2,3],si8>) -> !torch.vtensor<[2,3],si8>
  return %r : !torch.vtensor<[2,3],si8>
}
