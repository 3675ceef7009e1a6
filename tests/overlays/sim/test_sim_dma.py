"""AXI DMA 7.1 register model (PG021 simple mode) against the real accelerator."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import (
    ADDR,
    ADDR_MSB,
    DECERR,
    DMACR,
    DMASR,
    ERR_IRQ,
    ERROR_BITS,
    HALTED,
    IDLE,
    INTERR,
    IOC_IRQ,
    IOC_IRQEN,
    LENGTH,
    MM2S,
    RS,
    S2MM,
    SGINCLD,
    Raw,
)

from accel.errors import HardwareError, InputError
from accel.overlays.sim import SimModel


def send_drain(raw: Raw, rows: int, cols: int) -> int:
    """MM2S a one-instruction command packet DRAIN(acc 0, rows, cols); returns the drain bytes."""
    off, nbytes = raw.cmd_packet([raw.spec.encode("DRAIN", acc=0, rows=rows, win_cnt=cols)])
    raw.mm2s(off, nbytes)
    raw.wait(MM2S)
    return rows * cols * 4


def test_reset_values_run_stop(sim):
    raw = Raw(sim)
    for ch in (MM2S, S2MM):
        assert raw.dma(ch + DMASR) == HALTED  # reset: halted, not idle, simple mode (no SGIncld)
        assert raw.dma(ch + DMACR) == 0x00010000
    raw.dma_w(MM2S + DMACR, RS)
    sr = raw.dma(MM2S + DMASR)
    assert not sr & HALTED and not sr & IDLE and not sr & SGINCLD  # running; idle only after a transfer
    assert raw.dma(S2MM + DMASR) == HALTED  # channels are independent
    raw.dma_w(MM2S + DMACR, 0)
    assert raw.dma(MM2S + DMASR) & HALTED


def test_transfer_completion_idle_ioc_w1c_and_length_readback(raw):
    nbytes = send_drain(raw, rows=3, cols=raw.spec.lanes)
    assert raw.dma(MM2S + DMASR) == IDLE | IOC_IRQ
    dst = raw.alloc(4096)
    raw.s2mm(dst, 4096)  # more room than the packet: completes on TLAST
    assert raw.status(S2MM) == IDLE | IOC_IRQ
    assert raw.dma(S2MM + LENGTH) == nbytes  # S2MM LENGTH reads back the bytes received
    raw.dma_w(S2MM + DMASR, IOC_IRQ)  # write 1 to clear
    assert raw.dma(S2MM + DMASR) == IDLE
    raw.dma_w(S2MM + DMASR, HALTED | IDLE)  # read-only bits ignore writes
    assert raw.dma(S2MM + DMASR) == IDLE


def test_interrupt_outputs_follow_irq_enables(sim):
    raw = Raw(sim)
    raw.dma_w(MM2S + DMACR, RS | IOC_IRQEN)
    raw.dma_w(S2MM + DMACR, RS)
    send_drain(raw, 1, raw.spec.lanes)
    raw.s2mm(raw.alloc(4096), 4096)
    raw.wait(S2MM)
    lines = sim.irq_lines()
    assert lines["mm2s_introut"] and not lines["s2mm_introut"]
    raw.dma_w(MM2S + DMASR, IOC_IRQ)
    assert not sim.irq_lines()["mm2s_introut"]


def test_s2mm_overflow_is_internal_error(raw):
    send_drain(raw, rows=2, cols=raw.spec.lanes)
    raw.s2mm(raw.alloc(64), 16)  # the packet is 2*lanes*4 bytes
    sr = raw.status(S2MM)
    assert sr & INTERR and sr & ERR_IRQ and not sr & IDLE
    assert raw.dma(S2MM + DMACR) & RS == 0  # an error clears RS at once (PG021)...
    assert raw.halts(S2MM)  # ...and the channel halts once it has shut down
    raw.dma_w(S2MM + DMACR, RS)  # and the channel stays halted until reset
    assert raw.dma(S2MM + DMASR) & HALTED
    raw.dma_w(S2MM + DMASR, ERR_IRQ)
    assert not raw.dma(S2MM + DMASR) & ERR_IRQ and raw.dma(S2MM + DMASR) & INTERR
    raw.recover()
    assert raw.dma(S2MM + DMASR) & ERROR_BITS == 0


def test_zero_length_is_internal_error(raw):
    raw.mm2s(raw.alloc(64), 0)
    assert raw.dma(MM2S + DMASR) & INTERR
    assert raw.halts(MM2S)


@pytest.mark.parametrize("ch", [MM2S, S2MM])
def test_address_outside_ddr_is_decode_error(raw, ch):
    s = raw.spec
    cases = [s.ddr_base - 64, s.ddr_base + s.ddr_size, s.ddr_base + s.ddr_size - 32]  # last: straddles the end
    for phys in cases:
        raw.start(ch, phys, 64)
        sr = raw.status(ch)
        assert sr & DECERR and sr & ERR_IRQ, f"{phys:#x}: DMASR={sr:#x}"
        assert raw.halts(ch)
        raw.dma_reset()
        raw.dma_start()


def test_length_register_width_and_halted_writes(sim):
    raw = Raw(sim)  # halted: LENGTH writes are stored, nothing starts
    raw.dma_w(MM2S + LENGTH, 0xFFFFFFFF)
    assert raw.dma(MM2S + LENGTH) == (1 << raw.spec.dma_length_width) - 1
    assert raw.dma(MM2S + DMASR) == HALTED


def test_address_msb_register(z2_spec):
    # 32-bit DMA (z2): SA_MSB does not exist (reads 0, writes ignored)
    with SimModel(z2_spec) as sim:
        raw = Raw(sim)
        raw.dma_start()
        raw.dma_w(MM2S + ADDR_MSB, 1)
        assert raw.dma(MM2S + ADDR_MSB) == 0
        send_drain(raw, 1, raw.spec.lanes)  # SA_MSB=1 was ignored: the command packet is read fine


def test_address_msb_register_64bit(kv260_spec):
    # 40-bit DMA (kv260): SA_MSB/DA_MSB extend the address; above DDR -> DECERR
    with SimModel(kv260_spec) as sim:
        raw = Raw(sim)
        raw.dma_start()
        off, nbytes = raw.cmd_packet([kv260_spec.encode("DRAIN", acc=0, rows=1, win_cnt=kv260_spec.lanes)])
        raw.dma_w(MM2S + ADDR, raw.phys(off))
        raw.dma_w(MM2S + ADDR_MSB, 1)
        assert raw.dma(MM2S + ADDR_MSB) == 1
        raw.dma_w(MM2S + LENGTH, nbytes)
        assert raw.status(MM2S) & DECERR
        raw.recover()
        raw.mm2s(off, nbytes)
        raw.wait(MM2S)


def test_every_access_costs_mmio_cycles(sim):
    s = sim.spec
    for addr in (s.dma_base + MM2S + DMACR, s.dma_base + S2MM + DMASR, s.accel_base + s.reg("ID").offset):
        c0 = sim.cycles
        sim.read32(addr)
        assert sim.cycles - c0 == s.mmio_cycles
    for addr, value in ((s.dma_base + MM2S + ADDR, 0), (s.accel_base + s.reg("CTRL").offset, 0)):
        c0 = sim.cycles
        sim.write32(addr, value)
        assert sim.cycles - c0 == s.mmio_cycles
    c0 = sim.cycles
    sim.run(1234)
    assert sim.cycles - c0 == 1234


def test_memory_timing_model(raw):
    """MM2S: first beat `latency` cycles after the LENGTH write, then read_bytes_per_cycle."""
    s = raw.spec
    rows, k = s.rows, 8 * s.lanes * 16
    a = np.ones((rows, k), dtype=np.int8)
    off_cmd, n_cmd = raw.cmd_packet([s.encode("LOAD_A", abuf=0, rows=rows, row_len=k, win_lo=0, win_cnt=k)])
    raw.mm2s(off_cmd, n_cmd)
    raw.wait(MM2S)
    off = raw.put(a)
    raw.mm2s(off, a.nbytes)
    c0 = raw.sim.cycles  # LENGTH has just been written
    raw.wait(MM2S)
    elapsed = raw.sim.cycles - c0  # the poll returns on the completing cycle
    ideal = s.latency_cycles + a.nbytes // min(s.read_bytes_per_cycle, s.beat_bytes)
    assert ideal <= elapsed <= ideal + 32, (elapsed, ideal)


def test_poll_stops_on_deadlock(raw):
    raw.s2mm(raw.alloc(256), 256)  # nothing will ever arrive
    c0 = raw.sim.cycles
    sr = raw.status(S2MM)
    assert not sr & (IDLE | HALTED | ERROR_BITS)  # still busy: the caller decides
    window = raw.sim.stats()["deadlock_window"]
    assert window <= raw.sim.cycles - c0 <= window + raw.spec.latency_cycles + 2 * raw.spec.mmio_cycles
    assert raw.sim.stats()["deadlocks"] == 1
    c1 = raw.sim.cycles
    raw.status(S2MM)  # still deadlocked: the next poll returns at once
    assert raw.sim.cycles - c1 <= raw.spec.mmio_cycles + 1
    assert raw.sim.stats()["deadlocks"] == 1
    assert raw.sim.stats()["cycles_since_progress"] >= window


def test_poll_budget(z2_spec):
    with SimModel(z2_spec, deadlock_window=10**9, poll_budget=5000) as sim:
        raw = Raw(sim)
        raw.dma_start()
        raw.s2mm(raw.alloc(256), 256)
        c0 = sim.cycles
        assert not raw.status(S2MM) & IDLE
        assert sim.cycles - c0 == z2_spec.mmio_cycles + 5000
        assert sim.stats()["budget_stops"] == 1


def test_register_addresses_outside_windows_raise(sim):
    s = sim.spec
    for addr in (0, s.dma_base - 4, s.dma_base + s.dma_range, s.ddr_base):
        with pytest.raises(HardwareError, match=f"{addr:#x}"):
            sim.read32(addr)
        with pytest.raises(HardwareError, match=f"{addr:#x}"):
            sim.write32(addr, 0)
    with pytest.raises(HardwareError, match="aligned"):
        sim.read32(s.dma_base + 2)
    with pytest.raises(InputError):
        sim.write32(s.dma_base, 1 << 32)
    assert sim.read32(s.dma_base + 0x2C) == 0  # unmapped offsets inside the window read 0


def test_unknown_fault_and_channel_rejected(sim):
    with pytest.raises(ValueError, match="unknown fault"):
        sim.inject("cosmic_ray")
    with pytest.raises(InputError):
        sim.inject("mm2s_stall", "s2mm")
    with pytest.raises(InputError):
        sim.inject("dma_slverr", "both")


class _Mmio:
    """The two methods of pynq.MMIO that the DMA driver uses, over the simulator."""

    def __init__(self, sim: SimModel) -> None:
        self.sim, self.base, self.writes = sim, sim.spec.dma_base, []

    def read(self, offset: int, length: int = 4) -> int:
        return self.sim.read32(self.base + offset)

    def write(self, offset: int, value: int) -> None:
        self.writes.append((offset, value))
        self.sim.write32(self.base + offset, value)


class _Buffer:
    """The PynqBuffer attributes the DMA driver touches."""

    def __init__(self, raw: Raw, off: int, nbytes: int) -> None:
        self.physical_address, self.nbytes = raw.phys(off), nbytes

    def flush(self) -> None:
        pass

    def invalidate(self) -> None:
        pass


def test_pynq_simple_dma_driver_sequence(sim):
    dma = pytest.importorskip("pynq.lib.dma")
    raw = Raw(sim)
    mmio = _Mmio(sim)
    max_size = (1 << sim.spec.dma_length_width) - 1
    tx = dma._SDMAChannel(mmio, max_size, sim.spec.beat_bytes, dma.DMA_TYPE_TX, False)
    rx = dma._SDMAChannel(mmio, max_size, sim.spec.beat_bytes, dma.DMA_TYPE_RX, False)
    assert (0x00, 0x1) in mmio.writes and (0x30, 0x1) in mmio.writes  # start(): DMACR.RS
    off, nbytes = raw.cmd_packet([sim.spec.encode("DRAIN", acc=0, rows=2, win_cnt=sim.spec.lanes)])
    dst = raw.alloc(1024)
    rx.transfer(_Buffer(raw, dst, 1024))
    tx.transfer(_Buffer(raw, off, nbytes))
    tx.wait()
    rx.wait()
    assert rx.transferred == 2 * sim.spec.lanes * 4
    tx.transfer(_Buffer(raw, off, nbytes))  # idle now: a second transfer is accepted
    tx.wait()
    sim.inject("dma_slverr", "mm2s")
    tx.transfer(_Buffer(raw, off, nbytes))
    with pytest.raises(RuntimeError, match="Slave Error"):
        tx.wait()
