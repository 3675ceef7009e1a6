"""accel_seq: runs bench_accel_seq through the cocotb runner on Verilator."""

from __future__ import annotations

from rtl_runner import run


def test_accel_seq(tmp_path):
    run("accel_seq", "bench_accel_seq",
        {"DATA_WIDTH": 64, "ROWS": 5, "KMAX": 64, "NMAX": 64, "IFIFO_DEPTH": 6}, test_dir=tmp_path)
