"""SimDevice and its simulated CMA allocator (memory only: no accelerator involved)."""

from __future__ import annotations

import numpy as np
import pynq
import pytest
from pynq.buffer import PynqBuffer

from accel.errors import AllocationError, BackendError
from accel.runtime.sim_device import CMA_ALIGN, SimDevice


class _Memory:
    """Just a DDR window (the allocator tests need bytes, not a simulator)."""

    def __init__(self, spec, size: int) -> None:
        self.spec = spec
        self._mem = bytearray(size)
        self.ddr = memoryview(self._mem)


@pytest.fixture
def small_dev(accel_spec):
    return SimDevice(_Memory(accel_spec, 16 * CMA_ALIGN), accel_spec)


def test_probe_is_empty_unless_activated(accel_spec) -> None:
    dev = SimDevice(_Memory(accel_spec, CMA_ALIGN), accel_spec)
    assert dev not in SimDevice._probe_()
    dev.activate()
    try:
        assert dev in SimDevice._probe_()
        assert pynq.Device.active_device is dev
    finally:
        dev.deactivate()
    assert dev not in SimDevice._probe_()
    assert SimDevice._probe_priority_ not in (40, 50, 100, 200)
    assert dev.has_capability("REGISTER_RW") and not dev.has_capability("MEMORY_MAPPED")


def test_allocate_returns_pynq_buffers_over_ddr(small_dev, accel_spec) -> None:
    a = pynq.allocate((3, 5), np.int8, target=small_dev)
    b = small_dev.default_memory.allocate((7,), np.int32)
    assert isinstance(a, PynqBuffer) and isinstance(b, PynqBuffer)
    assert a.physical_address == accel_spec.ddr_base
    assert b.physical_address == accel_spec.ddr_base + CMA_ALIGN
    a[:] = 7
    off = a.physical_address - accel_spec.ddr_base
    assert bytes(small_dev.sim.ddr[off : off + 15]) == b"\x07" * 15  # zero copy: the same bytes
    view = a[1:]
    assert view.physical_address == a.physical_address + 5
    view.flush()
    a.invalidate()
    assert small_dev.flush_bytes == 10 and small_dev.invalidate_bytes == 15


def test_free_and_coalesce(small_dev) -> None:
    mem = small_dev.default_memory
    bufs = [mem.allocate((CMA_ALIGN,), np.uint8) for _ in range(4)]
    assert mem.num_buffers == 4
    bufs[1].freebuffer()
    bufs[2].freebuffer()
    big = mem.allocate((2 * CMA_ALIGN,), np.uint8)  # fits only in the coalesced hole
    assert big.physical_address == bufs[1].physical_address
    del bufs
    big.freebuffer()
    assert mem.free_bytes == mem.size and mem.num_buffers == 0


def test_exhausted_cma_names_sizes_and_fix(small_dev) -> None:
    keep = small_dev.default_memory.allocate((10 * CMA_ALIGN,), np.uint8)
    with pytest.raises(AllocationError) as ei:
        small_dev.default_memory.allocate((8 * CMA_ALIGN,), np.uint8)
    msg = str(ei.value)
    assert str(8 * CMA_ALIGN) in msg and str(6 * CMA_ALIGN) in msg and "freebuffer" in msg
    assert isinstance(ei.value, MemoryError)
    del keep


def test_register_windows_are_checked(small_dev, accel_spec) -> None:
    with pytest.raises(BackendError):
        small_dev.read_registers(accel_spec.ddr_base, 4)
    with pytest.raises(BackendError):
        small_dev.read_registers(accel_spec.accel_base + 2, 4)


def test_nested_activation_restores_previous(accel_sim) -> None:
    dev = accel_sim.device
    assert pynq.Device.active_device is dev
    dev.activate()  # a second backend on the same model (shared sim) activates it again
    dev.deactivate()
    assert pynq.Device.active_device is dev and dev in SimDevice._probe_()
