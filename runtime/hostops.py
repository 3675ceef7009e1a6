"""The host operations a model program's CPU steps run (numpy only, what the board's CPU runs).

The computations are implemented once, in :mod:`accel.contract.hostexec` (pure numpy, below both
the compiler and the runtime, so the compiler's constant folding computes exactly what the board
would); the op set, attributes and shape inference are :mod:`accel.contract.hostops`'s
(docs/host_ops.md). :func:`run` writes every result INTO the output arrays it is given: views
into the program's CMA arena.
"""

from __future__ import annotations

from accel.contract.hostexec import _IMPL, dynamic_qparams, im2col, int_matmul, quantize, rows_to_nchw, run

#: the one op -> implementation table (:mod:`accel.contract.hostexec`), for checks that every op has one
IMPLEMENTATIONS = _IMPL

__all__ = ["IMPLEMENTATIONS", "_IMPL", "dynamic_qparams", "im2col", "int_matmul", "quantize", "rows_to_nchw", "run"]
