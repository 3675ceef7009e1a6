"""accel_ip (the Vivado wrapper) on a small geometry: its own bench plus the whole accel_top
bench through the wrapper (3 rows, 128-bit stream, KMAX/NMAX 32, 8-entry FIFO: K splits,
N windows, many panels and FIFO overflow at low cost)."""

from __future__ import annotations

from rtl_runner import run

SMALL = {"DATA_WIDTH": 128, "ROWS": 3, "KMAX": 32, "NMAX": 32, "IFIFO_DEPTH": 8, "AXIL_ADDR_WIDTH": 12,
         "SPEC_HASH": 0xCAFE0001}


def test_accel_ip_small(tmp_path):
    run("accel_ip", "bench_accel_ip,bench_accel_top", SMALL, test_dir=tmp_path)
