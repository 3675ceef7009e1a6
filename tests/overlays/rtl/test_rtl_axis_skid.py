"""axis_skid: runs bench_axis_skid through the cocotb runner on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("width", [8, 64])
def test_axis_skid(width, tmp_path):
    run("axis_skid", "bench_axis_skid", {"DATA_WIDTH": width, "KEEP_WIDTH": max(1, width // 8)}, test_dir=tmp_path)
