"""accel_top end to end: runs bench_accel_top through the cocotb runner on Verilator.

Builds: the Z2 spec's own parameters, and a small geometry (3 rows, 128-bit stream,
KMAX/NMAX 32, 8-entry FIFO) that forces K splits, N windows and FIFO overflow cheaply.
The KV260 build is marked slow.
"""

from __future__ import annotations

import pytest
from accel.overlays.spec import load_spec
from rtl_runner import run

SMALL = {"DATA_WIDTH": 128, "ROWS": 3, "KMAX": 32, "NMAX": 32, "IFIFO_DEPTH": 8,
         "AXIL_ADDR_WIDTH": 12, "SPEC_HASH": 0x1234ABCD}


def test_accel_top_z2(tmp_path):
    spec = load_spec("z2_default")
    run("accel_top", "bench_accel_top", spec.verilog_params(), spec="z2_default", test_dir=tmp_path,
        extra_env={"ACCEL_PERF_FILE": str(tmp_path / "perf.txt")})
    print((tmp_path / "perf.txt").read_text())


def test_accel_top_small(tmp_path):
    run("accel_top", "bench_accel_top", SMALL, spec="z2_default", test_dir=tmp_path,
        testcase="test_identity,test_matmul_shapes,test_split_command_packets,test_counters_exact,"
                 "test_errors_and_soft_reset,test_drain_overlap_hazards")


@pytest.mark.slow
def test_accel_top_kv260(tmp_path):
    spec = load_spec("kv260")
    run("accel_top", "bench_accel_top", spec.verilog_params(), spec="kv260", test_dir=tmp_path,
        extra_env={"ACCEL_PERF_FILE": str(tmp_path / "perf.txt")})
    print((tmp_path / "perf.txt").read_text())
