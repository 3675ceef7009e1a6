"""accel_top end to end: runs bench_accel_top through the cocotb runner on Verilator.

Default build: the Z2 spec's own parameters (also reports the cycle counts of 16^3 and
64^3 matmuls). The small geometry (3 rows, 128-bit stream, KMAX/NMAX 32, 8-entry FIFO)
runs through the accel_ip wrapper (test_rtl_accel_ip.py) to save a build. The KV260 build
is marked slow.
"""

from __future__ import annotations

import pytest
from rtl_runner import run

from accel.overlays.spec import load_spec


def _run(spec_name: str, tmp_path):
    spec = load_spec(spec_name)
    perf = tmp_path / "perf.txt"
    run("accel_top", "bench_accel_top", spec.verilog_params(), spec=spec_name, test_dir=tmp_path,
        extra_env={"ACCEL_PERF_FILE": str(perf)})
    print(perf.read_text())


def test_accel_top_z2(tmp_path):
    _run("z2_default", tmp_path)


@pytest.mark.slow
def test_accel_top_kv260(tmp_path):
    _run("kv260", tmp_path)
