"""mac_array: runs bench_mac_array through the cocotb runner on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("params", [
    {"DATA_WIDTH": 32, "ROWS": 3, "NMAX": 8},
    {"DATA_WIDTH": 128, "ROWS": 5, "NMAX": 64},
    pytest.param({"DATA_WIDTH": 256, "ROWS": 2, "NMAX": 64}, marks=pytest.mark.slow),
])
def test_mac_array(params, tmp_path):
    run("mac_array", "bench_mac_array", params, test_dir=tmp_path)
