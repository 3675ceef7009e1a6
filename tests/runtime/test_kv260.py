"""The second spec end to end: KV260 (zynq_ultra_ps_e .hwh, 128-bit stream, 40-bit DMA addresses)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module", params=["simple", "sg"])
def kv_acc(request):
    from accel.overlays.spec import load_spec
    from accel.runtime import Accelerator

    acc = Accelerator(backend="sim", spec=load_spec("kv260").with_dma_mode(request.param), counters="all")
    yield acc
    acc.close()


@pytest.mark.parametrize("shape", [(70, 33, 45), (1, 1, 1), (64, 128, 128)])
def test_kv260_matmul(kv_acc, shape) -> None:
    from pynq.lib.dma import DMA

    m, k, n = shape
    rng = np.random.default_rng(m * 1000 + k)
    a = kv_acc.allocate((m, k), np.int8)
    b = kv_acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    c = kv_acc.matmul(a, b)
    np.testing.assert_array_equal(c, a.astype(np.int32) @ b.astype(np.int32))
    assert isinstance(kv_acc.dma, DMA) and kv_acc.overlay.ip_dict["zynq_ultra_ps_e_0"]
    r = kv_acc.last
    assert r.cpu_bytes_copied == 0 and r.counters["MACS"] == m * n * k
    assert r.dma_mode == kv_acc.spec.dma_mode
    if r.dma_mode == "sg":  # one descriptor chain pair: register accesses independent of the program
        assert r.driver_calls == 2 and r.run_mmio_ops <= 16 and r.descriptors == r.dma_transfers
    else:
        lo = 17 + 6 * r.stats["mm2s_transfers"] + 7 * r.stats["s2mm_transfers"]
        assert lo <= r.mmio_ops <= lo + r.dma_transfers
