"""accel_ip: runs bench_accel_ip through the cocotb runner on Verilator (small geometry)."""

from __future__ import annotations

from rtl_runner import run

PARAMS = {"DATA_WIDTH": 64, "ROWS": 2, "KMAX": 32, "NMAX": 16, "IFIFO_DEPTH": 4, "AXIL_ADDR_WIDTH": 12,
          "SPEC_HASH": 0xCAFE0001}


def test_accel_ip(tmp_path):
    run("accel_ip", "bench_accel_ip", PARAMS, test_dir=tmp_path)
