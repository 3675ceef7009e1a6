"""cocotb bench: axil_regs (identity, CTRL pulses, STATUS/ERROR, 64-bit counters, snapshot)."""

from __future__ import annotations

import os
import random

import cocotb
from bench_util import param, pauses, start
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from accel.overlays.spec import load_spec

SPEC = load_spec(os.environ.get("ACCEL_SPEC", "z2_default"))
CTRL = SPEC.reg("CTRL")


def zero_inputs(dut):
    for name in ("st_idle", "st_error", "st_drain_busy", "st_ififo_empty", "st_error_code", "st_instr_count",
                 "ev_busy", "ev_macs", "ev_in_stall", "ev_out_stall", "ev_bytes_in", "ev_bytes_out"):
        getattr(dut, name).value = 0


async def setup(dut, p=0.0):
    zero_inputs(dut)
    await start(dut)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    if p:
        axil.write_if.aw_channel.set_pause_generator(pauses(1, p))
        axil.write_if.w_channel.set_pause_generator(pauses(2, p))
        axil.write_if.b_channel.set_pause_generator(pauses(3, p))
        axil.read_if.ar_channel.set_pause_generator(pauses(4, p))
        axil.read_if.r_channel.set_pause_generator(pauses(5, p))
    return axil


@cocotb.test()
async def test_identity_status(dut):
    """Read-only identity registers, STATUS bits, ERROR, INSTR_COUNT; writes to RO ignored."""
    axil = await setup(dut, p=0.3)
    expect = {"ID": SPEC.id_magic, "VERSION": SPEC.version_word, "SPEC_HASH": param("SPEC_HASH", 0),
              "ROWS": param("ROWS", 16), "LANES": param("DATA_WIDTH", 64) // 8, "KMAX": param("KMAX", 4096),
              "NMAX": param("NMAX", 512), "IFIFO_DEPTH": param("IFIFO_DEPTH", 256)}
    for name, v in expect.items():
        await axil.write_dword(SPEC.reg(name).offset, 0xFFFFFFFF)
        assert await axil.read_dword(SPEC.reg(name).offset) == v, name
    st = SPEC.reg("STATUS")
    for field_name in st.fields:
        getattr(dut, {"IDLE": "st_idle", "ERROR": "st_error", "DRAIN_BUSY": "st_drain_busy",
                      "IFIFO_EMPTY": "st_ififo_empty"}[field_name]).value = 1
        assert await axil.read_dword(st.offset) == st.mask(field_name)
        zero_inputs(dut)
    dut.st_error_code.value = 5
    dut.st_instr_count.value = 0xDEADBEEF
    assert await axil.read_dword(SPEC.reg("ERROR").offset) == 5
    assert await axil.read_dword(SPEC.reg("INSTR_COUNT").offset) == 0xDEADBEEF
    assert await axil.read_dword(0x3F0) == 0


@cocotb.test()
async def test_ctrl_pulses_and_irq(dut):
    """SOFT_RESET is a one-cycle pulse, IRQ_EN sticks, irq = ERROR && IRQ_EN."""
    axil = await setup(dut)
    pulses = 0

    async def count():
        nonlocal pulses
        while True:
            await RisingEdge(dut.clk)
            pulses += int(dut.soft_rst.value)

    cocotb.start_soon(count())
    await axil.write_dword(CTRL.offset, CTRL.mask("SOFT_RESET"))
    await ClockCycles(dut.clk, 5)
    assert pulses == 1
    assert await axil.read_dword(CTRL.offset) == 0
    dut.st_error.value = 1
    await ClockCycles(dut.clk, 3)
    assert int(dut.irq.value) == 0
    await axil.write_dword(CTRL.offset, CTRL.mask("IRQ_EN"))
    await ClockCycles(dut.clk, 3)
    assert int(dut.irq.value) == 1
    assert await axil.read_dword(CTRL.offset) == CTRL.mask("IRQ_EN")
    dut.st_error.value = 0
    await ClockCycles(dut.clk, 3)
    assert int(dut.irq.value) == 0
    # wstrb without the low byte: CTRL unchanged, no pulse
    await axil.write(CTRL.offset, (CTRL.mask("SOFT_RESET")).to_bytes(4, "little")[:1] + b"\0\0\0",)
    await ClockCycles(dut.clk, 3)
    assert pulses == 2


@cocotb.test()
async def test_counters(dut):
    """Each counter sums its event input exactly; SNAPSHOT freezes a consistent 64-bit copy;
    CLEAR zeroes counters and snapshots."""
    axil = await setup(dut)
    rng = random.Random(6)
    await axil.write_dword(CTRL.offset, CTRL.mask("CLEAR_COUNTERS"))
    sums = dict.fromkeys(SPEC.counters, 0)
    running = True

    async def drive():
        while running:
            await FallingEdge(dut.clk)
            ev = {"BUSY": rng.randrange(2), "MACS": rng.randrange(1 << 16), "IN_STALL": rng.randrange(2),
                  "OUT_STALL": rng.randrange(2), "BYTES_IN": rng.randrange(256), "BYTES_OUT": rng.randrange(256)}
            for k, v in ev.items():
                getattr(dut, f"ev_{k.lower()}").value = v
            await RisingEdge(dut.clk)
            for k, v in ev.items():
                sums[k] += v

    # start counting on a known edge: clear is applied at the edge after the write's pulse
    cocotb.start_soon(drive())
    await ClockCycles(dut.clk, 300)
    running = False
    await FallingEdge(dut.clk)
    zero_inputs(dut)
    await ClockCycles(dut.clk, 2)
    await axil.write_dword(CTRL.offset, CTRL.mask("SNAPSHOT"))
    for name, off in SPEC.counters.items():
        lo = await axil.read_dword(off)
        hi = await axil.read_dword(off + 4)
        value = (hi << 32) | lo
        if name != "CYCLES":
            # events driven before the clear took effect are not counted: allow a couple of cycles
            assert 0 <= sums[name] - value <= 2 * (1 << 16), (name, value, sums[name])
    # exact check: a burst of known events on a quiet counter set
    await axil.write_dword(CTRL.offset, CTRL.mask("CLEAR_COUNTERS"))
    await ClockCycles(dut.clk, 3)
    for _ in range(1000):
        await FallingEdge(dut.clk)
        dut.ev_macs.value = 0xFFFF
        dut.ev_bytes_in.value = 16
    await FallingEdge(dut.clk)
    zero_inputs(dut)
    await axil.write_dword(CTRL.offset, CTRL.mask("SNAPSHOT"))
    macs = await axil.read_dword(SPEC.counter("MACS")) | (await axil.read_dword(SPEC.counter("MACS") + 4)) << 32
    assert macs == 1000 * 0xFFFF
    assert await axil.read_dword(SPEC.counter("BYTES_IN")) == 16000
    cyc1 = await axil.read_dword(SPEC.counter("CYCLES"))
    await ClockCycles(dut.clk, 20)
    assert await axil.read_dword(SPEC.counter("CYCLES")) == cyc1      # frozen snapshot
    await axil.write_dword(CTRL.offset, CTRL.mask("SNAPSHOT"))
    assert await axil.read_dword(SPEC.counter("CYCLES")) > cyc1 + 20
    await axil.write_dword(CTRL.offset, CTRL.mask("CLEAR_COUNTERS"))
    for off in SPEC.counters.values():
        assert await axil.read_dword(off) == 0 and await axil.read_dword(off + 4) == 0
    # carry into the high word: deposit a live CYCLES value just below 2**32
    await FallingEdge(dut.clk)
    dut.cnt_reg.value = (int(dut.cnt_reg.value) & ~0xFFFFFFFFFFFFFFFF) | 0xFFFFFFF0
    await ClockCycles(dut.clk, 40)
    await axil.write_dword(CTRL.offset, CTRL.mask("SNAPSHOT"))
    lo = await axil.read_dword(SPEC.counter("CYCLES"))
    hi = await axil.read_dword(SPEC.counter("CYCLES") + 4)
    assert hi == 1 and 0x10 <= lo < 0x100, (hi, lo)
