"""Matmuls on the Verilator model through stock PYNQ classes, checked against numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pynq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pynq.buffer import PynqBuffer
from pynq.lib.dma import DMA, _SDMAChannel

from accel.contract.schedule import Schedule
from accel.runtime.accelerator import CopyWarning


def _operands(acc, rng, m, k, n):
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    return a, b


def _ref(a, b):
    return np.asarray(a, np.int32) @ np.asarray(b, np.int32)


SHAPES = {  # (M, K, N)
    "multiple": (32, 16, 24),
    "multiple-64": (64, 64, 64),
    "non-multiple": (33, 17, 9),
    "non-multiple-2": (50, 13, 70),
    "m1": (1, 40, 24),
    "k1": (40, 1, 24),
    "n1": (40, 24, 1),
    "1x1x1": (1, 1, 1),
    "tall": (300, 8, 4),
    "skinny": (4, 300, 8),
    "wide": (8, 8, 512),
    "n-split": (20, 24, 600),  # N > nmax: C-stationary N tiles, C staged and unpacked
    "256": (256, 256, 256),
}


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_matmul_equals_numpy(accel_sim_any, rng, shape) -> None:
    m, k, n = shape
    a, b = _operands(accel_sim_any, rng, m, k, n)
    c = accel_sim_any.matmul(a, b)
    np.testing.assert_array_equal(c, _ref(a, b))
    r = accel_sim_any.last
    assert c.dtype == np.int32 and c.shape == (m, n)
    assert r.counters["MACS"] == m * n * k
    assert r.cycles == r.counters["CYCLES"] > 0
    assert r.ddr_bytes == r.stats["dma_bytes_in"] + r.stats["dma_bytes_out"]
    assert r.counters["BYTES_IN"] == r.stats["dma_bytes_in"]
    assert r.counters["BYTES_OUT"] == r.stats["dma_bytes_out"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.integers(1, 70), k=st.integers(1, 70), n=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_random_shapes(accel_sim, m, k, n, seed) -> None:
    rng = np.random.default_rng(seed)
    a, b = _operands(accel_sim, rng, m, k, n)
    np.testing.assert_array_equal(accel_sim.matmul(a, b), _ref(a, b))


def test_stock_pynq_classes_zero_copy(accel_sim_simple, rng, monkeypatch) -> None:
    calls = []
    orig = _SDMAChannel.transfer

    def spy(self, array, start=0, nbytes=0):
        calls.append((array.physical_address + start, nbytes))
        return orig(self, array, start, nbytes)

    monkeypatch.setattr(_SDMAChannel, "transfer", spy)
    assert isinstance(accel_sim_simple.overlay, pynq.Overlay)
    dma = accel_sim_simple.dma
    assert isinstance(dma, DMA) and not dma.sg  # the stock driver (AccelDMA is DMA itself in simple mode)
    assert type(dma.sendchannel) is _SDMAChannel and type(dma.recvchannel) is _SDMAChannel
    assert pynq.Device.active_device is accel_sim_simple.device
    a = pynq.allocate((48, 40), np.int8)  # stock allocate on the active (simulated) device
    b = accel_sim_simple.allocate((40, 24), np.int8)
    a[:] = rng.integers(-128, 128, size=a.shape, dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=b.shape, dtype=np.int8)
    out = accel_sim_simple.allocate((48, 24), np.int32)
    c = accel_sim_simple.matmul(a, b, out=out)
    assert c is out and isinstance(c, PynqBuffer) and isinstance(a, PynqBuffer)
    np.testing.assert_array_equal(c, _ref(a, b))
    r = accel_sim_simple.last
    assert r.cpu_bytes_copied == 0
    assert len(calls) == r.dma_transfers

    def inside(buf):
        lo, hi = buf.physical_address, buf.physical_address + buf.nbytes
        return sum(nb for addr, nb in calls if lo <= addr and addr + nb <= hi)

    # zero copy: the DMA read A and B and wrote C in place, in the user's own buffers
    assert inside(a) == a.nbytes and inside(b) == 3 * b.nbytes and inside(out) == out.nbytes
    assert r.flush_bytes == a.nbytes + b.nbytes + out.nbytes
    assert r.invalidate_bytes == out.nbytes


def test_numpy_inputs_are_copied_once_and_counted(accel_sim, rng) -> None:
    a = rng.integers(-128, 128, size=(20, 12), dtype=np.int8)
    b = rng.integers(-128, 128, size=(12, 8), dtype=np.int8)
    out = np.zeros((20, 8), np.int32)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        c = accel_sim.matmul(a, b, out=out)
    assert c is out
    np.testing.assert_array_equal(out, _ref(a, b))
    assert accel_sim.last.cpu_bytes_copied == a.nbytes + b.nbytes + out.nbytes
    assert any(issubclass(w.category, CopyWarning) and "acc.allocate" in str(w.message) for w in rec)


def test_host_work_grows_with_panels_not_tiles(accel_sim_simple, rng) -> None:
    """Transfers and register accesses depend on panels (M / rows) only, not on K, N or tiles."""
    spec = accel_sim_simple.spec
    seen = {}
    for m, k, n in ((64, 8, 8), (64, 256, 256), (64, 40, 500)):
        a, b = _operands(accel_sim_simple, rng, m, k, n)
        accel_sim_simple.matmul(a, b)
        r = accel_sim_simple.last
        st_ = r.stats
        panels = -(-m // spec.rows)
        segments = -(-st_["instructions"] // spec.ififo_depth)
        assert st_["panels"] == panels
        assert st_["mm2s_transfers"] == segments + 2 * panels  # command segments, A panel, B stream
        assert st_["s2mm_transfers"] == panels  # one C panel drain
        assert r.dma_transfers == st_["mm2s_transfers"] + st_["s2mm_transfers"]
        # per call: clear counters (1), final STATUS (1), snapshot + 7 64-bit counters (15);
        # per transfer: the stock transfer() (2 reads + 3 writes) + the DMASR read that saw it complete;
        # S2MM also reads LENGTH; at most one more DMASR read per completion (a poll of the channel
        # that had not finished yet, returned because the other one did).
        lo = 17 + 6 * st_["mm2s_transfers"] + 7 * st_["s2mm_transfers"]
        assert lo <= r.mmio_ops <= lo + r.dma_transfers
        seen[(m, k, n)] = (lo, r.dma_transfers)
    assert len(set(seen.values())) == 1, seen  # same panels -> same host work bound, 1000x the MAC tiles


def test_cycles_deterministic(accel_sim_any, rng) -> None:
    a, b = _operands(accel_sim_any, rng, 40, 30, 20)
    runs = []
    for _ in range(2):
        accel_sim_any.matmul(a, b)
        r = accel_sim_any.last
        runs.append((r.cycles, r.sim_cycles, r.mmio_ops, r.counters))
    assert runs[0] == runs[1]


def test_custom_schedules(accel_sim_any, rng) -> None:
    m, k, n = 40, 48, 40
    a, b = _operands(accel_sim_any, rng, m, k, n)
    ref = _ref(a, b)
    for sched in (
        Schedule(m, n, k, tile_m=16, tile_n=16, tile_k=16, stationarity="C"),
        Schedule(m, n, k, tile_m=8, tile_n=16, tile_k=16, stationarity="N", order="nm", double_buffer=False),
        Schedule(m, n, k, tile_m=16, tile_n=n, tile_k=k, stationarity="A", staging=True),
    ):
        c = accel_sim_any.matmul(a, b, schedule=sched)
        np.testing.assert_array_equal(c, ref, err_msg=str(sched))
    r = accel_sim_any.last  # the staging schedule copies every tile through scratch buffers (counted)
    if r.dma_mode == "sg":  # ... unless the descriptors gather/scatter its blocks (accel.contract.scatter)
        assert r.cpu_bytes_copied == 0 and r.chains == 1  # whole-row blocks: one descriptor each
    else:
        assert r.cpu_bytes_copied > a.nbytes + b.nbytes


def test_run_result_to_dict(accel_sim, rng) -> None:
    import json

    a, b = _operands(accel_sim, rng, 8, 8, 8)
    accel_sim.matmul(a, b)
    d = json.loads(json.dumps(accel_sim.last.to_dict()))
    for key in ("cycles", "counters", "cpu_bytes_copied", "ddr_bytes", "mmio_ops", "dma_transfers", "wall_s",
                "sim_cycles"):
        assert key in d
    assert set(d["counters"]) == {"CYCLES", "BUSY", "MACS", "IN_STALL", "OUT_STALL", "BYTES_IN", "BYTES_OUT"}
