"""MLIR linalg.matmul -> accel driver program compiler (import name ``accel.compiler``)."""
