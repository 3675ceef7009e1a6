"""cocotb bench: accel_ip (Vivado wrapper): aclk/aresetn, the same buses, irq."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from accel_program import Geometry, assemble, beat, matmul
from bench_util import param, pauses
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from accel.overlays.spec import load_spec

SPEC = load_spec(os.environ.get("ACCEL_SPEC", "z2_default"))
GEO = Geometry.from_params(SPEC, param)
L = GEO.lanes


@cocotb.test()
async def test_wrapper(dut):
    """Active-low reset, register access, a matmul, and irq on an error with IRQ_EN."""
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    dut.aresetn.value = 0
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.aclk, dut.aresetn, reset_active_level=False)
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn, reset_active_level=False)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn, reset_active_level=False)
    src.set_pause_generator(pauses(1, 0.3))
    snk.set_pause_generator(pauses(2, 0.3))
    await ClockCycles(dut.aclk, 5)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 5)
    assert await axil.read_dword(SPEC.reg("ID").offset) == SPEC.id_magic
    assert await axil.read_dword(SPEC.reg("SPEC_HASH").offset) == param("SPEC_HASH", 0)
    rng = np.random.default_rng(0)
    m, n, k = GEO.rows + 1, L + 3, L + 2
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    prog = matmul(SPEC, GEO, a, b)
    for p in prog.packets:
        await src.send(AxiStreamFrame(p))
    frames = [bytes((await with_timeout(snk.recv(), 200, "us")).tdata) for _ in prog.drains]
    assert np.array_equal(assemble(prog, frames, m, n), a.astype(np.int32) @ b.astype(np.int32))
    ctrl = SPEC.reg("CTRL")
    await axil.write_dword(ctrl.offset, ctrl.mask("IRQ_EN"))
    await src.send(AxiStreamFrame(beat(SPEC, L, "DRAIN", acc=0, rows=0, win_cnt=1)))
    await ClockCycles(dut.aclk, 30)
    assert int(dut.irq.value) == 1
    assert await axil.read_dword(SPEC.reg("ERROR").offset) == SPEC.errors["BAD_FIELD"]
    # aresetn clears everything, including IRQ_EN
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 3)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 3)
    assert int(dut.irq.value) == 0
    assert await axil.read_dword(SPEC.reg("ERROR").offset) == 0
    assert await axil.read_dword(ctrl.offset) == 0
