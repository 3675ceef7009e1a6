"""axis_row_unpack: runs bench_axis_row_unpack through the cocotb runner on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("width", [32, 64, 128, pytest.param(256, marks=pytest.mark.slow)])
def test_axis_row_unpack(width, tmp_path):
    run("axis_row_unpack", "bench_axis_row_unpack", {"DATA_WIDTH": width}, test_dir=tmp_path)
