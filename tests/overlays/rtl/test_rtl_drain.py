"""drain: runs bench_drain (through the tb_drain memory wrapper) on Verilator."""

from __future__ import annotations

import pytest
from rtl_runner import run


@pytest.mark.parametrize("width", [32, 64, 128, pytest.param(256, marks=pytest.mark.slow)])
def test_drain(width, tmp_path):
    run("tb_drain", "bench_drain", {"DATA_WIDTH": width, "ROWS": 4, "NMAX": 32},
        extra_sources=["tb_drain.v"], test_dir=tmp_path)
