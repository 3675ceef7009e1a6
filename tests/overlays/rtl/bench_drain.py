"""cocotb bench: drain (row-major packing across rows, partial tkeep, tlast, back-pressure,
back-to-back packets, one beat per cycle)."""

from __future__ import annotations

import random

import cocotb
import numpy as np
from bench_util import bursty, param, pauses, start
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamSink

W = param("DATA_WIDTH", 64)
L = W // 8
Q = W // 32
ROWS = param("ROWS", 4)
NMAX = param("NMAX", 32)


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        dut.cmd_valid.value = 0
        dut.mem_wr_en.value = 0
        self.mem = np.zeros((2, ROWS, NMAX), dtype="<i4")

    async def fill(self, rng):
        dut = self.dut
        for b in range(2):
            for r in range(ROWS):
                for n in range(NMAX):
                    v = rng.randrange(-(2**31), 2**31)
                    self.mem[b, r, n] = v
                    await FallingEdge(dut.clk)
                    dut.mem_wr_en.value = 1
                    dut.mem_wr_addr.value = (b * ROWS + r) * NMAX + n
                    dut.mem_wr_data.value = v & 0xFFFFFFFF
        await FallingEdge(dut.clk)
        dut.mem_wr_en.value = 0

    async def command(self, bank, rows, cnt):
        dut = self.dut
        await FallingEdge(dut.clk)
        while int(dut.rd_busy.value):
            await FallingEdge(dut.clk)
        dut.cmd_valid.value = 1
        dut.cmd_bank.value = bank
        dut.cmd_rows.value = rows
        dut.cmd_cnt.value = cnt
        await FallingEdge(dut.clk)
        dut.cmd_valid.value = 0
        return self.mem[bank, :rows, :cnt].tobytes()


@cocotb.test()
async def test_packets(dut):
    """Random (bank, rows, cnt) packets, issued back to back, under output back-pressure."""
    await start(dut)
    tb = TB(dut)
    rng = random.Random(2)
    await tb.fill(rng)
    shapes = [(0, 1, 1), (1, ROWS, NMAX), (0, ROWS, 1), (1, 1, Q + 1), (0, 3 % ROWS + 1, 2 * Q - 1)]
    shapes += [(rng.randrange(2), rng.randint(1, ROWS), rng.randint(1, NMAX)) for _ in range(30)]
    for i in range(0, len(shapes), 5):
        mode = (i // 5) % 4
        tb.snk.set_pause_generator(bursty(i) if mode == 3 else pauses(i, [0.0, 0.5, 0.9][mode]))
        expect = []
        for shape in shapes[i : i + 5]:
            expect.append(await tb.command(*shape))
        for shape, e in zip(shapes[i : i + 5], expect, strict=True):
            rx = await tb.snk.recv()
            assert bytes(rx.tdata) == e, shape
    while int(dut.busy.value):
        await RisingEdge(dut.clk)


@cocotb.test()
async def test_one_beat_per_cycle(dut):
    """cnt a multiple of Q, output always ready: one beat per cycle after the first."""
    await start(dut)
    tb = TB(dut)
    await tb.fill(random.Random(4))
    tb.snk.set_pause_generator(pauses(0, 0.0))
    rows, cnt = ROWS, (NMAX // Q) * Q
    beats = rows * cnt // Q
    valid_cycles = 0
    first = None
    cycle = 0

    async def watch():
        nonlocal valid_cycles, first, cycle
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                first = cycle if first is None else first
                valid_cycles += 1
                if int(dut.m_axis_tlast.value):
                    return cycle

    w = cocotb.start_soon(watch())
    e = await tb.command(1, rows, cnt)
    rx = await tb.snk.recv()
    last = await w
    assert bytes(rx.tdata) == e
    assert last - first + 1 == beats, (last - first + 1, beats)
