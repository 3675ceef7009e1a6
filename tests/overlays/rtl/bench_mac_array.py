"""cocotb bench: mac_array (int8 products, accumulate/clear, both banks, same-word hazards)."""

from __future__ import annotations

import random

import cocotb
import numpy as np
from bench_util import param
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

W = param("DATA_WIDTH", 64)
L = W // 8
Q = W // 32
ROWS = param("ROWS", 16)
NMAX = param("NMAX", 512)
WORDS = NMAX // L


def s8(v: int) -> int:
    return v - 256 if v >= 128 else v


class Model:
    def __init__(self):
        self.acc = np.zeros((2, ROWS, NMAX), dtype=np.int64)

    def apply(self, bank, col, clear, a, b):
        for r in range(ROWS):
            for lane in range(L):
                n = col * L + lane
                p = a[r] * b[lane]
                self.acc[bank, r, n] = p if clear else self.acc[bank, r, n] + p
        self.acc = ((self.acc + 2**31) % 2**32) - 2**31


async def drive(dut, model, chunks, gap_rng=None):
    """chunks: (bank, col, clear, a[ROWS], b[L]); a is presented one cycle after the chunk."""
    pending_a = None
    for item in [*chunks, None]:
        await FallingEdge(dut.clk)
        dut.a_data.value = sum((v & 0xFF) << (8 * r) for r, v in enumerate(pending_a)) if pending_a else 0
        pending_a = None
        if item is None:
            dut.s_valid.value = 0
            break
        if gap_rng is not None and gap_rng.random() < 0.3:
            dut.s_valid.value = 0
            await FallingEdge(dut.clk)
            dut.a_data.value = 0
        bank, col, clear, a, b = item
        dut.s_valid.value = 1
        dut.s_bank.value = bank
        dut.s_col.value = col
        dut.s_clear.value = clear
        dut.s_data.value = sum((v & 0xFF) << (8 * i) for i, v in enumerate(b))
        pending_a = a
        model.apply(bank, col, clear, a, b)
    await FallingEdge(dut.clk)
    dut.s_valid.value = 0
    # rd_block (a drain may start next cycle) falls exactly one cycle before busy: the last
    # write lands in the cycle a drain started then would spend before its first read
    while int(dut.rd_block.value):
        assert int(dut.busy.value)
        await FallingEdge(dut.clk)
    if int(dut.busy.value):
        await FallingEdge(dut.clk)
        assert not int(dut.busy.value), "busy outlasts rd_block by more than the write stage"


async def check(dut, model, banks=(0, 1)):
    """Read every group back through the registered read port, one request per cycle: the
    address (rd_next_*: bank, word, group, row) a cycle before the read, the data the cycle
    after (the drain's protocol)."""
    reqs = [(bank, r, word, grp) for bank in banks for r in range(ROWS) for word in range(WORDS) for grp in range(4)]
    for i in range(len(reqs) + 2):
        await FallingEdge(dut.clk)
        if i < len(reqs):
            bank, r, word, grp = reqs[i]
            dut.rd_next_bank.value = bank
            dut.rd_next_word.value = word
            dut.rd_next_grp.value = grp
            dut.rd_next_row.value = r
        if i >= 2:
            bank, r, word, grp = reqs[i - 2]
            got = int(dut.rd_data.value)
            for q in range(Q):
                n = word * L + grp * Q + q
                v = (got >> (32 * q)) & 0xFFFFFFFF
                v = v - 2**32 if v >= 2**31 else v
                assert v == model.acc[bank, r, n], (bank, r, n, v, model.acc[bank, r, n])


@cocotb.test()
async def test_accumulate(dut):
    """Random chunk stream: clears, accumulates, bank switches, repeated words back to back."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.s_valid.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    rng = random.Random(5)
    model = Model()

    def rnd_a():
        return [s8(rng.randrange(256)) for _ in range(ROWS)]

    def rnd_b():
        return [s8(rng.randrange(256)) for _ in range(L)]

    # initialise every word of both banks with a clear
    chunks = [(bank, col, 1, rnd_a(), rnd_b()) for bank in range(2) for col in range(WORDS)]
    await drive(dut, model, chunks)
    # same word every cycle (N <= L): 40 accumulations into word 0 of bank 1
    await drive(dut, model, [(1, 0, 0, rnd_a(), rnd_b()) for _ in range(40)])
    # extreme values: -128 * -128 accumulated
    await drive(dut, model, [(0, WORDS - 1, 0, [-128] * ROWS, [-128] * L) for _ in range(30)])
    # random mix with gaps
    mix = [(rng.randrange(2), rng.randrange(WORDS), int(rng.random() < 0.2), rnd_a(), rnd_b()) for _ in range(300)]
    await drive(dut, model, mix, gap_rng=rng)
    await check(dut, model)
