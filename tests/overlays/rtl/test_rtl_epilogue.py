"""epilogue: runs bench_epilogue (the requantization lanes vs the golden model) on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, pytest.param(16, marks=pytest.mark.slow)])
def test_epilogue(lanes, tmp_path):
    run("epilogue", "bench_epilogue", {"LANES": lanes, "USER_WIDTH": 16}, test_dir=tmp_path)
