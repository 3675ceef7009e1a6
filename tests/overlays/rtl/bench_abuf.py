"""cocotb bench: abuf (per-row block RAM banks, column read with one cycle of latency)."""

from __future__ import annotations

import random

import cocotb
import numpy as np
from bench_util import param
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

W = param("DATA_WIDTH", 64)
L = W // 8
ROWS = param("ROWS", 16)
KMAX = param("KMAX", 4096)


@cocotb.test()
async def test_write_then_read_columns(dut):
    """Random words into both banks; every column read returns A[r][k] for all rows."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(3)
    mem = np.zeros((2, ROWS, KMAX), dtype=np.uint8)
    dut.wr_en.value = 0
    dut.rd_en.value = 0
    await RisingEdge(dut.clk)
    words = KMAX // L
    writes = [(b, r, w) for b in range(2) for r in range(ROWS) for w in range(words)]
    rng.shuffle(writes)
    for b, r, w in writes[: min(len(writes), 600)] + [(b, r, 0) for b in range(2) for r in range(ROWS)]:
        data = bytes(rng.randrange(256) for _ in range(L))
        await FallingEdge(dut.clk)
        dut.wr_en.value = 1
        dut.wr_bank.value = b
        dut.wr_row.value = r
        dut.wr_word.value = w
        dut.wr_data.value = int.from_bytes(data, "little")
        mem[b, r, w * L : w * L + L] = list(data)
    await FallingEdge(dut.clk)
    dut.wr_en.value = 0
    # back-to-back reads, checked one cycle later; then reads with idle cycles between them,
    # where rd_en low must hold the output (every row's byte select keeps its lane) while
    # rd_k moves to another lane
    reads = [(rng.randrange(2), rng.randrange(min(KMAX, 4 * L))) for _ in range(200)]
    reads += [(rng.randrange(2), rng.randrange(KMAX)) for _ in range(200)]
    reads += [None if rng.random() < 0.4 else (rng.randrange(2), rng.randrange(KMAX)) for _ in range(300)]
    prev = None
    for item in [*reads, "end"]:
        await FallingEdge(dut.clk)
        if prev is not None:
            got = int(dut.rd_data.value)
            col = [(got >> (8 * r)) & 0xFF for r in range(ROWS)]
            assert col == list(mem[prev[0], :, prev[1]]), prev
        if item == "end":
            break
        if item is None:
            dut.rd_en.value = 0
            dut.rd_bank.value = rng.randrange(2)
            dut.rd_k.value = rng.randrange(KMAX)
            continue
        bank, k = item
        dut.rd_en.value = 1
        dut.rd_bank.value = bank
        dut.rd_k.value = k
        prev = (bank, k)
    dut.rd_en.value = 0
    await ClockCycles(dut.clk, 3)
    got = int(dut.rd_data.value)
    assert [(got >> (8 * r)) & 0xFF for r in range(ROWS)] == list(mem[prev[0], :, prev[1]])
