"""Scatter-gather mode end to end: descriptor chains, constant register accesses, SG faults.

``accel_sim_sg`` runs the z2 configuration with a scatter-gather DMA (``spec.with_dma_mode("sg")``);
``accel_sim_simple`` is the configuration's default simple-mode DMA, for side-by-side checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from accel.contract.schedule import Schedule
from accel.errors import DMAError
from accel.runtime.sgdma import AccelDMA, SGChannel


def _operands(acc, rng, m, k, n):
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=a.shape, dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=b.shape, dtype=np.int8)
    return a, b


def _ref(a, b):
    return np.asarray(a).astype(np.int32) @ np.asarray(b).astype(np.int32)


def test_sg_driver_is_bound_from_the_hwh(accel_sim_sg, accel_sim_simple) -> None:
    assert isinstance(accel_sim_sg.dma, AccelDMA) and accel_sim_sg.dma.sg and accel_sim_sg.executor.sg
    assert isinstance(accel_sim_sg.dma.sendchannel, SGChannel) and isinstance(accel_sim_sg.dma.recvchannel, SGChannel)
    assert not accel_sim_simple.dma.sg and not accel_sim_simple.executor.sg
    # the DMA mode is a block-design choice: same accelerator, same programs, same spec hash
    assert accel_sim_sg.spec.hash == accel_sim_simple.spec.hash
    sgincld = accel_sim_sg.spec.dma.dmasr("SGINCLD")
    assert accel_sim_sg.dma.read(accel_sim_sg.spec.dma.offset("mm2s", "DMASR")) & sgincld
    assert not accel_sim_simple.dma.read(accel_sim_sg.spec.dma.offset("mm2s", "DMASR")) & sgincld


def test_register_accesses_do_not_grow_with_the_program(accel_sim_sg, rng) -> None:
    """One chain pair per run: the same register accesses for 1x64x64, 64^3 and 256^3."""
    seen = set()
    for m, k, n in ((1, 64, 64), (64, 64, 64), (256, 256, 256)):
        a, b = _operands(accel_sim_sg, rng, m, k, n)
        out = accel_sim_sg.allocate((m, n), np.int32)
        accel_sim_sg.matmul(a, b, out=out)
        r = accel_sim_sg.last
        np.testing.assert_array_equal(out, _ref(a, b))
        assert r.dma_mode == "sg" and r.driver_calls == 2  # one TAILDESC kick per channel
        assert r.descriptors == r.dma_transfers  # one descriptor per packet
        assert r.run_mmio_ops <= 16
        seen.add((r.run_mmio_ops, r.mmio_ops))
    assert len(seen) == 1, seen


def test_sg_is_faster_than_simple_mode_and_agrees(accel_sim_sg, accel_sim_simple, rng) -> None:
    """Same results; fewer cycles (no host gaps between packets) and far fewer register accesses."""
    out = {}
    for name, acc in (("sg", accel_sim_sg), ("simple", accel_sim_simple)):
        a, b = _operands(acc, np.random.default_rng(7), 96, 128, 72)
        c = acc.matmul(a, b)
        np.testing.assert_array_equal(c, _ref(a, b))
        out[name] = acc.last
    assert out["sg"].cycles < out["simple"].cycles
    assert out["sg"].mmio_ops < out["simple"].mmio_ops
    assert out["sg"].dma_transfers == out["simple"].dma_transfers
    assert out["simple"].driver_calls == out["simple"].dma_transfers


def test_staged_program_runs_per_transfer_in_sg_mode(accel_sim_sg, rng) -> None:
    """Programs that pack/unpack between transfers run one descriptor per kick."""
    a, b = _operands(accel_sim_sg, rng, 20, 40, 24)
    sched = Schedule(20, 24, 40, tile_m=8, tile_n=8, tile_k=8, stationarity="N", staging=True)
    c = accel_sim_sg.matmul(a, b, schedule=sched)
    np.testing.assert_array_equal(c, _ref(a, b))
    r = accel_sim_sg.last
    assert r.driver_calls == r.dma_transfers and r.cpu_bytes_copied > 0


SG_FAULTS = [
    ("sg_fetch_error", "mm2s", "SGSlvErr"),
    ("sg_fetch_error", "s2mm", "SGSlvErr"),
    ("sg_bad_pointer", "mm2s", "SGDecErr"),
    ("sg_bad_pointer", "s2mm", "SGDecErr"),
    ("sg_reused", "mm2s", "SGIntErr"),
    ("sg_reused", "s2mm", "SGIntErr"),
    ("dma_slverr", "mm2s", "DMASlvErr"),
    ("dma_decerr", "s2mm", "DMADecErr"),
]


@pytest.mark.parametrize(("fault", "channel", "text"), SG_FAULTS, ids=[f"{f}-{c}" for f, c, _ in SG_FAULTS])
def test_sg_fault_is_typed_then_recovered(accel_sim_sg, rng, fault, channel, text) -> None:
    a, b = _operands(accel_sim_sg, rng, 40, 24, 24)
    accel_sim_sg.sim.inject(fault, channel)
    with pytest.raises(DMAError, match=f"{channel.upper()}.*{text}"):
        accel_sim_sg.matmul(a, b)
    np.testing.assert_array_equal(accel_sim_sg.matmul(a, b), _ref(a, b))  # recovered


def test_completed_descriptor_reused_is_sgintErr(accel_sim_sg, rng) -> None:
    """A descriptor left with Cmplt set (not re-armed) is refused by the DMA itself (SGIntErr)."""
    a, b = _operands(accel_sim_sg, rng, 16, 16, 16)
    out = accel_sim_sg.allocate((16, 16), np.int32)
    accel_sim_sg.matmul(a, b, out=out)
    ex = accel_sim_sg.executor
    (_mm2s, s2mm), = [pair for pair in ex._chains.values() if pair[1].nbytes.sum() == out.nbytes]
    orig = s2mm.rearm
    s2mm.rearm = lambda: 0  # the chain runs again with every STATUS still Cmplt
    try:
        with pytest.raises(DMAError, match="SGIntErr"):
            accel_sim_sg.matmul(a, b, out=out)
    finally:
        s2mm.rearm = orig
    accel_sim_sg.matmul(a, b, out=out)
    np.testing.assert_array_equal(out, _ref(a, b))
