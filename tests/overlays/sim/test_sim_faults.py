"""Every injectable fault: the DMASR bits / non-completion it causes, then recovery by reset."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import (
    DECERR,
    ERR_IRQ,
    ERROR_BITS,
    HALTED,
    IDLE,
    MM2S,
    S2MM,
    SLVERR,
    Raw,
    random_operands,
    reference,
    run_matmul,
)


def check_works(raw: Raw, rng) -> None:
    a, b = random_operands(rng, 19, 24, 13)
    np.testing.assert_array_equal(run_matmul(raw, a, b), reference(a, b))


def drain_cmd(raw: Raw, rows: int = 2) -> tuple[int, int, int]:
    off, nbytes = raw.cmd_packet([raw.spec.encode("DRAIN", acc=0, rows=rows, win_cnt=raw.spec.lanes)])
    return off, nbytes, rows * raw.spec.lanes * 4


def accel_error(raw: Raw) -> str:
    status = raw.reg("STATUS")
    assert status & raw.spec.reg("STATUS").mask("ERROR"), f"STATUS={status:#x}"
    return raw.spec.error_name(raw.reg("ERROR"))


def stuck(sr: int) -> bool:
    return not sr & (IDLE | HALTED | ERROR_BITS)


@pytest.mark.parametrize("fault,bit", [("dma_slverr", SLVERR), ("dma_decerr", DECERR)])
def test_dma_bus_errors_mm2s(raw, rng, fault, bit):
    off, nbytes, _ = drain_cmd(raw)
    raw.sim.inject(fault, "mm2s")
    raw.mm2s(off, nbytes)
    sr = raw.status(MM2S)
    assert sr & bit and sr & ERR_IRQ and not sr & IDLE
    assert raw.halts(MM2S)
    assert raw.sim.stats()["mm2s_errors"] == 1
    raw.recover()
    check_works(raw, rng)


@pytest.mark.parametrize("fault,bit", [("dma_slverr", SLVERR), ("dma_decerr", DECERR)])
def test_dma_bus_errors_s2mm(raw, rng, fault, bit):
    off, nbytes, out = drain_cmd(raw)
    raw.sim.inject(fault, "s2mm")
    raw.mm2s(off, nbytes)
    raw.wait(MM2S)  # the other channel is unaffected
    raw.s2mm(raw.alloc(out), out)
    sr = raw.status(S2MM)
    assert sr & bit and sr & ERR_IRQ
    assert raw.halts(S2MM)
    raw.recover()
    check_works(raw, rng)


def test_dma_faults_are_one_shot(raw, rng):
    off, nbytes, out = drain_cmd(raw)
    raw.sim.inject("dma_slverr", "mm2s")
    raw.mm2s(off, nbytes)
    assert raw.status(MM2S) & SLVERR
    raw.dma_reset()
    raw.dma_start()
    raw.mm2s(off, nbytes)  # the fault fired once: this transfer is fine
    raw.wait(MM2S)
    raw.s2mm(raw.alloc(out), out)
    raw.wait(S2MM)


def test_dma_faults_cleared_by_dma_reset(raw, rng):
    for fault, ch in (("dma_slverr", "mm2s"), ("dma_decerr", "s2mm"), ("mm2s_stall", None),
                      ("s2mm_stall", None), ("drop_tlast", "mm2s"), ("drop_tlast", "s2mm")):  # fmt: skip
        raw.sim.inject(fault, ch)
    raw.dma_reset()
    raw.dma_start()
    check_works(raw, rng)


def test_mm2s_stall(raw, rng):
    off, nbytes, _ = drain_cmd(raw)
    raw.sim.inject("mm2s_stall")
    raw.mm2s(off, nbytes)
    c0 = raw.sim.cycles
    sr = raw.status(MM2S)
    assert stuck(sr), f"DMASR={sr:#x}"
    assert raw.sim.stats()["deadlocks"] == 1
    assert raw.sim.cycles - c0 < 2 * raw.sim.stats()["deadlock_window"]
    assert stuck(raw.status(MM2S))  # stays stuck
    raw.recover()
    check_works(raw, rng)


def test_s2mm_stall(raw, rng):
    off, nbytes, out = drain_cmd(raw)
    raw.sim.inject("s2mm_stall")
    raw.mm2s(off, nbytes)
    raw.wait(MM2S)
    raw.s2mm(raw.alloc(out), out)
    assert stuck(raw.status(S2MM))
    assert raw.dma(S2MM + 0x28) == out  # LENGTH still reads as programmed while busy
    assert raw.sim.stats()["beats_out"] == 0
    raw.recover()
    raw.soft_reset()  # the drain engine still holds its packet
    check_works(raw, rng)


def test_drop_tlast_mm2s_gives_missing_tlast(raw, rng):
    s = raw.spec
    rows, k = 2, 2 * s.lanes
    off, nbytes = raw.cmd_packet([s.encode("LOAD_A", abuf=0, rows=rows, row_len=k, win_lo=0, win_cnt=k)])
    raw.mm2s(off, nbytes)
    raw.wait(MM2S)
    raw.sim.inject("drop_tlast", "mm2s")
    a = raw.put(np.ones((rows, k), dtype=np.int8))
    raw.mm2s(a, rows * k)
    raw.wait(MM2S)  # the DMA itself completes: it just never raised TLAST
    raw.sim.run(100)
    assert accel_error(raw) == "MISSING_TLAST"
    raw.recover()
    assert not raw.reg("STATUS") & s.reg("STATUS").mask("ERROR")
    assert raw.reg("ERROR") == s.errors["NONE"]
    check_works(raw, rng)


def test_drop_tlast_s2mm_never_completes(raw, rng):
    off, nbytes, out = drain_cmd(raw)
    raw.sim.inject("drop_tlast", "s2mm")
    raw.mm2s(off, nbytes)
    raw.wait(MM2S)
    raw.s2mm(raw.alloc(4096), 4096)
    sr = raw.status(S2MM)
    assert stuck(sr), f"DMASR={sr:#x}"
    assert raw.sim.stats()["beats_out"] == out // raw.spec.beat_bytes  # every byte arrived, no completion
    raw.recover()
    check_works(raw, rng)


def test_accel_hang(raw, rng):
    s = raw.spec
    off, nbytes, out = drain_cmd(raw)
    raw.sim.inject("accel_hang")
    raw.s2mm(raw.alloc(out), out)
    raw.mm2s(off, nbytes)
    assert stuck(raw.status(MM2S))
    assert stuck(raw.status(S2MM))
    assert raw.reg("ID") == s.id_magic  # registers still answer
    raw.recover()  # CTRL.SOFT_RESET clears the hang
    check_works(raw, rng)


def test_accel_hang_survives_dma_reset_until_soft_reset(raw, rng):
    raw.sim.inject("accel_hang")
    raw.dma_reset()
    raw.dma_start()
    off, nbytes, _ = drain_cmd(raw)
    raw.mm2s(off, nbytes)
    assert stuck(raw.status(MM2S))
    raw.recover()
    check_works(raw, rng)


def test_hard_reset_clears_everything(sim, rng):
    for fault, ch in (("accel_hang", None), ("mm2s_stall", None), ("dma_slverr", "s2mm")):
        sim.inject(fault, ch)
    c0 = sim.cycles
    sim.reset()
    assert sim.cycles > c0  # reset cycles are counted
    raw = Raw(sim)
    assert raw.dma(MM2S + 0x04) == HALTED
    raw.dma_start()
    check_works(raw, rng)
