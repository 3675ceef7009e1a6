"""cocotb bench: axis_skid register slice (data integrity, full throughput, back-pressure)."""

from __future__ import annotations

import random

import cocotb
from bench_util import param, pauses, start
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def make(dut):
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    return src, snk


@cocotb.test()
async def test_random_backpressure(dut):
    """Frames with random gaps on the input and random stalls on the output arrive intact."""
    await start(dut)
    src, snk = make(dut)
    width = param("DATA_WIDTH", 64)
    lanes = max(1, width // 8)
    rng = random.Random(7)
    for seed, (p_in, p_out) in enumerate([(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.5, 0.5), (0.2, 0.8)]):
        src.set_pause_generator(pauses(seed, p_in))
        snk.set_pause_generator(pauses(100 + seed, p_out))
        frames = [bytes(rng.randrange(256) for _ in range(lanes * rng.randint(1, 12))) for _ in range(12)]
        for f in frames:
            await src.send(AxiStreamFrame(f))
        for f in frames:
            rx = await snk.recv()
            assert bytes(rx.tdata) == f, (p_in, p_out)


@cocotb.test()
async def test_full_throughput(dut):
    """With no pauses the slice moves one beat per cycle."""
    await start(dut)
    src, snk = make(dut)
    lanes = max(1, param("DATA_WIDTH", 64) // 8)
    beats = 64
    await src.send(AxiStreamFrame((bytes(range(256)) * (lanes * beats // 256 + 1))[: lanes * beats]))
    while not int(dut.m_axis_tvalid.value):
        await RisingEdge(dut.clk)
    count = 0
    for _ in range(beats):
        await RisingEdge(dut.clk)
        count += int(dut.m_axis_tvalid.value) & int(dut.m_axis_tready.value)
    assert count >= beats - 1, count
    rx = await snk.recv()
    assert len(rx.tdata) == lanes * beats
    await ClockCycles(dut.clk, 2)
