// RUN: not accel-run opt %s --pass-pipeline='builtin.module(accel-onnx-partition)' --split-input-file 2>&1 | filecheck %s

// An op neither side supports is refused with the ONNX node's name and op type.
// CHECK: ONNX node 'mystery' (Einsum) is supported neither by the accelerator
func.func @refused(%arg0: !torch.vtensor<[2,2],f32>) -> !torch.vtensor<[2,2],f32> {
  %r = torch.operator "onnx.Einsum"(%arg0, %arg0) {accel.node = "mystery", torch.onnx.equation = "ij,jk->ik"} : (!torch.vtensor<[2,2],f32>, !torch.vtensor<[2,2],f32>) -> !torch.vtensor<[2,2],f32>
  return %r : !torch.vtensor<[2,2],f32>
}

// -----
// A dynamic dimension left in the imported IR names the flags that specialize it.
// CHECK: ONNX node 'fc' (MatMul) has an operand or result of type !torch.vtensor<[?,4],f32> (dynamic or unknown): specialize symbolic dimensions with --shape NAME=DIMS or --batch N
func.func @dynamic(%arg0: !torch.vtensor<[?,4],f32>, %arg1: !torch.vtensor<[4,4],f32>) -> !torch.vtensor<[?,4],f32> {
  %r = torch.operator "onnx.MatMul"(%arg0, %arg1) {accel.node = "fc"} : (!torch.vtensor<[?,4],f32>, !torch.vtensor<[4,4],f32>) -> !torch.vtensor<[?,4],f32>
  return %r : !torch.vtensor<[?,4],f32>
}
