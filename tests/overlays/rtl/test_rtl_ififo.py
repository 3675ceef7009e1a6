"""ififo: runs bench_ififo through the cocotb runner on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("depth", [5, 256])
def test_ififo(depth, tmp_path):
    run("ififo", "bench_ififo", {"DATA_WIDTH": 64, "DEPTH": depth}, test_dir=tmp_path)
