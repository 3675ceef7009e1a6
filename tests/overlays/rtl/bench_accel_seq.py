"""cocotb bench: accel_seq alone, with behavioural stand-ins for the unpacker and drain engine.

Checks what the sequencer hands to the unpacker (rows, row_len, window, routing), the A-bank
bookkeeping (STREAM_B packet rows = the bank's K), the DRAIN hand-off and its waits, the
error codes and sinking, INSTR_COUNT and IDLE.
"""

from __future__ import annotations

import os
import random

import cocotb
from bench_util import param, pauses, start
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from accel.overlays.spec import load_spec

SPEC = load_spec(os.environ.get("ACCEL_SPEC", "z2_default"))
L = param("DATA_WIDTH", 64) // 8
ROWS = param("ROWS", 16)
DEPTH = param("IFIFO_DEPTH", 256)


def ins(op, **f) -> bytes:
    return SPEC.encode(op, **f).to_bytes(8, "little")


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.starts: list[dict] = []
        self.drains: list[tuple[int, int, int]] = []
        self.hold_drain = 0
        self.rng = random.Random(3)
        for name in ("up_busy", "up_tready", "mac_busy", "mac_rd_block", "drain_rd_busy", "drain_rd_bank",
                     "drain_busy", "drain_q_mode", "drain_epi_busy"):
            getattr(dut, name).value = 0
        cocotb.start_soon(self.unpacker())
        cocotb.start_soon(self.drain())

    async def unpacker(self):
        dut = self.dut
        left = 0
        while True:
            await RisingEdge(dut.clk)
            if int(dut.up_start.value):
                rows, row_len = int(dut.up_rows.value), int(dut.up_row_len.value)
                self.starts.append({
                    "rows": rows, "row_len": row_len, "win_lo": int(dut.up_win_lo.value),
                    "win_cnt": int(dut.up_win_cnt.value),
                })
                left = -(-rows * row_len // L)
                await FallingEdge(dut.clk)
                dut.up_busy.value = 1
                # routing outputs are registered at the start edge
                self.starts[-1].update(load=int(dut.mode_load.value), stream=int(dut.mode_stream.value),
                                       abuf=int(dut.cur_abuf.value), acc=int(dut.cur_acc.value),
                                       accumulate=int(dut.cur_accumulate.value), bank_rows=int(dut.cur_rows.value))
                continue
            if int(dut.up_tvalid.value) and int(dut.up_tready.value):
                left -= 1
            await FallingEdge(dut.clk)
            dut.up_tready.value = int(self.rng.random() < 0.7) if int(dut.up_busy.value) else 0
            if int(dut.up_busy.value) and left <= 0:
                await ClockCycles(dut.clk, 2)
                await FallingEdge(dut.clk)
                dut.up_busy.value = 0
                dut.up_tready.value = 0

    async def drain(self):
        dut = self.dut
        rd_left = tail_left = 0
        while True:
            await RisingEdge(dut.clk)
            if int(dut.drain_valid.value):
                assert not int(dut.drain_rd_busy.value), "DRAIN issued while the engine was reading"
                assert not int(dut.mac_rd_block.value), "DRAIN issued while a MAC write was still to land"
                bank = int(dut.drain_bank.value)
                self.drains.append((bank, int(dut.drain_rows.value), int(dut.drain_cnt.value)))
                rd_left, tail_left = self.hold_drain or 3, 3
                await FallingEdge(dut.clk)
                dut.drain_rd_bank.value = bank
            else:
                await FallingEdge(dut.clk)
                if rd_left:
                    rd_left -= 1
                elif tail_left:
                    tail_left -= 1
            dut.drain_rd_busy.value = int(rd_left > 0)
            dut.drain_busy.value = int(rd_left + tail_left > 0)

    async def idle(self):
        for i in range(5000):
            await RisingEdge(self.dut.clk)
            if int(self.dut.idle.value) or int(self.dut.error.value):
                self.dut._log.info("idle after %d cycles: state %s drains %s", i, self.dut.state_reg.value, self.drains)
                return
        raise AssertionError("sequencer never idle")


@cocotb.test()
async def test_program(dut):
    """LOAD_A/STREAM_B/DRAIN decode and routing; bank K/rows bookkeeping; DRAIN waits."""
    await start(dut)
    tb = TB(dut)
    tb.src.set_pause_generator(pauses(1, 0.3))
    prog = [
        ins("LOAD_A", abuf=1, rows=3, row_len=2 * L + 3, win_lo=L, win_cnt=L + 3),
        ins("LOAD_A", abuf=0, rows=ROWS, row_len=5, win_lo=0, win_cnt=5),
        ins("STREAM_B", abuf=1, acc=0, accumulate=0, row_len=3 * L, win_lo=L, win_cnt=2 * L),
        ins("STREAM_B", abuf=0, acc=1, accumulate=1, row_len=7, win_lo=0, win_cnt=7),
        ins("DRAIN", acc=0, rows=3, win_cnt=2 * L),
        ins("DRAIN", acc=1, rows=ROWS, win_cnt=7),
    ]
    data = [bytes(3 * (2 * L + 3)), bytes(ROWS * 5), bytes((L + 3) * 3 * L), bytes(5 * 7)]
    tb.hold_drain = 40
    await tb.src.send(AxiStreamFrame(b"".join(prog)))
    for d in data:
        await tb.src.send(AxiStreamFrame(d))
    await with_timeout(tb.src.wait(), 100, "us")
    await tb.idle()
    assert not int(dut.error.value), int(dut.error_code.value)
    s = tb.starts
    assert [(x["rows"], x["row_len"], x["win_lo"], x["win_cnt"]) for x in s] == [
        (3, 2 * L + 3, L, L + 3), (ROWS, 5, 0, 5), (L + 3, 3 * L, L, 2 * L), (5, 7, 0, 7)]
    assert [(x["load"], x["stream"], x["abuf"]) for x in s] == [(1, 0, 1), (1, 0, 0), (0, 1, 1), (0, 1, 0)]
    assert (s[2]["acc"], s[2]["accumulate"], s[2]["bank_rows"]) == (0, 0, 3)
    assert (s[3]["acc"], s[3]["accumulate"], s[3]["bank_rows"]) == (1, 1, ROWS)
    assert tb.drains == [(0, 3, 2 * L), (1, ROWS, 7)]
    assert int(dut.instr_count.value) == len(prog)
    assert int(dut.ififo_empty.value) == 1


@cocotb.test()
async def test_stream_waits_for_drain_bank(dut):
    """STREAM_B into the bank the drain engine is reading waits; into the other bank it does not."""
    await start(dut)
    tb = TB(dut)
    tb.hold_drain = 60
    prog = [
        ins("LOAD_A", abuf=0, rows=1, row_len=L, win_lo=0, win_cnt=L),
        ins("DRAIN", acc=1, rows=1, win_cnt=1),
        ins("STREAM_B", abuf=0, acc=0, row_len=L, win_lo=0, win_cnt=L),   # other bank: goes ahead
        ins("STREAM_B", abuf=0, acc=1, row_len=L, win_lo=0, win_cnt=L),   # waits for the drain
    ]
    await tb.src.send(AxiStreamFrame(b"".join(prog)))
    for _ in range(3):
        await tb.src.send(AxiStreamFrame(bytes(L * L if _ else L)))
    t_drain_end = None
    t_second = None
    cycle = 0
    while t_second is None:
        await RisingEdge(dut.clk)
        cycle += 1
        if tb.drains and t_drain_end is None and not int(dut.drain_rd_busy.value) and cycle > 5:
            t_drain_end = cycle
        if int(dut.up_start.value) and len(tb.starts) == 2:
            t_second = cycle
        assert cycle < 5000
    assert len(tb.starts) == 2  # the acc=0 STREAM_B started while the drain was reading bank 1
    await tb.idle()
    assert t_drain_end is not None and t_second > t_drain_end - 1, (t_second, t_drain_end)


async def error_case(dut, tb, packets, code):
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    for p in packets:
        await tb.src.send(AxiStreamFrame(p))
    await with_timeout(tb.src.wait(), 100, "us")
    await tb.idle()
    assert int(dut.error.value) == 1
    assert int(dut.error_code.value) == SPEC.errors[code], (code, int(dut.error_code.value))
    assert int(dut.s_axis_tready.value) == 1   # sinking
    assert not int(dut.idle.value)


@cocotb.test()
async def test_errors(dut):
    """Every error code from the sequencer; the input is sunk afterwards."""
    await start(dut)
    tb = TB(dut)
    tb.src.set_pause_generator(pauses(2, 0.2))
    load = ins("LOAD_A", abuf=0, rows=2, row_len=L, win_lo=0, win_cnt=L)
    cases = [
        ([bytes(8)], "BAD_OPCODE"),
        ([ins("LOAD_A", rows=ROWS + 1, row_len=L, win_lo=0, win_cnt=L), bytes(64)], "BAD_FIELD"),
        ([ins("STREAM_B", abuf=0, acc=0, row_len=L, win_lo=0, win_cnt=L), bytes(64)], "BAD_FIELD"),
        ([ins("LOAD_A", rows=1, row_len=3 * L, win_lo=L - 1, win_cnt=1)], "UNALIGNED"),
        ([load, bytes(L)], "EARLY_TLAST"),
        ([load, bytes(3 * L)], "MISSING_TLAST"),
        ([ins("DRAIN", acc=0, rows=1, win_cnt=1) * (DEPTH + 1), bytes(16)], "IFIFO_OVERFLOW"),
    ]
    for packets, code in cases:
        await error_case(dut, tb, packets, code)
