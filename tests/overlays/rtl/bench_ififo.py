"""cocotb bench: ififo (order, back-pressure on both sides, full/empty, reset)."""

from __future__ import annotations

import random

import cocotb
from bench_util import bursty, param, pauses, start
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

DEPTH = param("DEPTH", 256)
STORE = 1 << max(1, (DEPTH - 1).bit_length())  # power-of-two storage


def make(dut):
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    return src, snk


@cocotb.test()
async def test_order_with_backpressure(dut):
    """Words come out in order under random gaps and stalls (each word is a one-beat frame)."""
    await start(dut)
    src, snk = make(dut)
    rng = random.Random(1)
    for i, (p_in, p_out) in enumerate([(0.0, 0.0), (0.5, 0.0), (0.0, 0.7), (0.3, 0.3), (None, None)]):
        src.set_pause_generator(pauses(i, p_in) if p_in is not None else bursty(i))
        snk.set_pause_generator(pauses(i + 9, p_out) if p_out is not None else bursty(i + 9))
        words = [rng.getrandbits(64).to_bytes(8, "little") for _ in range(3 * STORE + 5)]
        for w in words:
            await src.send(AxiStreamFrame(w))
        for w in words:
            rx = await snk.recv()
            assert bytes(rx.tdata) == w
    await ClockCycles(dut.clk, 4)
    assert int(dut.empty.value) == 1


@cocotb.test()
async def test_full_and_empty(dut):
    """Storage + output register hold STORE+1 words; tready drops when full; empty flag."""
    await start(dut)
    src, snk = make(dut)
    snk.pause = True
    assert int(dut.empty.value) == 1
    for i in range(STORE + 3):
        await src.send(AxiStreamFrame(i.to_bytes(8, "little")))
    for _ in range(STORE + 20):
        await RisingEdge(dut.clk)
    assert int(dut.s_axis_tready.value) == 0
    assert int(dut.empty.value) == 0
    snk.pause = False
    for i in range(STORE + 3):
        rx = await snk.recv()
        assert int.from_bytes(bytes(rx.tdata), "little") == i
    await ClockCycles(dut.clk, 3)
    assert int(dut.empty.value) == 1
    # reset empties it
    snk.pause = True
    await src.send(AxiStreamFrame(b"\x01" * 8))
    await ClockCycles(dut.clk, 5)
    assert int(dut.empty.value) == 0
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    assert int(dut.empty.value) == 1
