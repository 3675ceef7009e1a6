"""axil_regs: runs bench_axil_regs through the cocotb runner on Verilator."""

from __future__ import annotations

from rtl_runner import run

PARAMS = {"DATA_WIDTH": 128, "ROWS": 7, "KMAX": 256, "NMAX": 96, "IFIFO_DEPTH": 17, "AXIL_ADDR_WIDTH": 12,
          "SPEC_HASH": 0x89ABCDEF}


def test_axil_regs(tmp_path):
    run("axil_regs", "bench_axil_regs", PARAMS, test_dir=tmp_path)
