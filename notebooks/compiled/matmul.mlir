// The matmul notebook 02 compiles. On a board install (no MLIR) the notebook runs the programs
// compiled from this file on the host instead:
//   accel-run compile notebooks/compiled/matmul.mlir --spec z2_default -o notebooks/compiled/matmul.z2_default.accel.json
//   accel-run compile notebooks/compiled/matmul.mlir --spec kv260 -o notebooks/compiled/matmul.kv260.accel.json
// (tests/notebooks checks that the shipped files are what the compiler emits today).
func.func @matmul(%a: tensor<64x96xi8>, %b: tensor<96x80xi8>) -> tensor<64x80xi32> {
  %zero = arith.constant 0 : i32
  %empty = tensor.empty() : tensor<64x80xi32>
  %c = linalg.fill ins(%zero : i32) outs(%empty : tensor<64x80xi32>) -> tensor<64x80xi32>
  %r = linalg.matmul ins(%a, %b : tensor<64x96xi8>, tensor<96x80xi8>)
                     outs(%c : tensor<64x80xi32>) -> tensor<64x80xi32>
  return %r : tensor<64x80xi32>
}
