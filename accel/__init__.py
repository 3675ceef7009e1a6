"""pynq-accel: linalg.matmul from MLIR onto a PYNQ matmul overlay (board or Verilator)."""

__version__ = "0.1.0"
