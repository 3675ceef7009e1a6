"""abuf: runs bench_abuf through the cocotb runner on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("params", [{"DATA_WIDTH": 32, "ROWS": 3, "KMAX": 64},
                                    {"DATA_WIDTH": 64, "ROWS": 16, "KMAX": 4096}])
def test_abuf(params, tmp_path):
    run("abuf", "bench_abuf", params, test_dir=tmp_path)
