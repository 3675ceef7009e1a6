"""``SimDevice``: the Verilator model as a ``pynq.Device``, so stock PYNQ runs on it unmodified.

With ``pynq.Device.active_device = SimDevice(sim, spec)``:

- ``pynq.allocate(shape, dtype)`` returns ``pynq.buffer.PynqBuffer`` views over the model's
  DDR (``SimModel.ddr``) whose ``physical_address`` is ``spec.ddr_base + offset``: the DMA
  model reads and writes the very bytes numpy sees (zero copy, as CMA on the board);
- ``pynq.MMIO`` takes its ``REGISTER_RW`` path: ``read_registers``/``write_registers`` map to
  ``SimModel.read32``/``write32`` and are counted (every register access the runtime and the
  stock DMA driver make);
- ``pynq.Overlay(bitfile, download=False, device=dev)`` parses the ``.hwh`` beside the
  bitfile with PYNQ's own metadata parser (``get_bitfile_metadata`` below) and binds
  ``pynq.lib.dma.DMA`` and our ``AccelDriver`` by VLNV.

Why ``get_bitfile_metadata`` is overridden: the stock embedded path
(``EmbeddedDevice.get_bitfile_metadata`` -> ``BitstreamHandler.get_parser``) builds a
synthetic xclbin with XRT's ``xclbinutil`` to register memories with XRT. The simulated
device owns its memory, so it only needs the parser half of that path:
``RuntimeMetadataParser(Metadata(input=<.hwh>))``, which exists in pynq 3.1
(``pynq.metadata.runtime_metadata_parser``) and 4.0 (``pynqmetadata.views.runtime``; pynq
keeps the old module as a re-export).

``_probe_`` returns only devices activated explicitly (``SimDevice.activate``), so importing
this module never makes PYNQ pick a simulator over a real board.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

from accel.errors import AllocationError, BackendError

CMA_ALIGN = 4096  # CMA hands out whole pages; the DMA needs beat alignment at least


def _parser_class() -> Any:
    """PYNQ's runtime metadata parser (module moved between pynq 3.1 and 4.0)."""
    try:
        from pynqmetadata.views.runtime import RuntimeMetadataParser
    except ImportError:  # pynq 3.1 with an older pynqmetadata
        from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
    return RuntimeMetadataParser


class SimMemory:
    """First-fit allocator over the simulated DDR window (the simulated CMA pool).

    Buffers are ``PynqBuffer`` views of ``SimModel.ddr``; ``freebuffer`` (or garbage
    collection of the buffer) returns the block through PYNQ's own ``return_to`` hook.
    """

    def __init__(self, device: SimDevice, ddr: memoryview, base: int, align: int = CMA_ALIGN) -> None:
        self.device = device
        self._ddr = ddr
        self.base = base
        self.size = len(ddr)
        self.align = align
        self._lock = threading.Lock()
        self._free: list[tuple[int, int]] = [(0, self.size)]  # (offset, bytes), sorted by offset
        self._used: dict[int, int] = {}  # offset -> bytes
        # freebuffer() token -> (offset, the buffer): tokens are never reused, so a freed buffer's
        # token can never free (or vouch for) a later buffer that got the same memory.
        self._tokens: dict[int, tuple[int, weakref.ref[PynqBuffer]]] = {}
        self._next_token = 1
        self.allocations = 0

    # ------------------------------------------------------------ accounting
    @property
    def free_bytes(self) -> int:
        return sum(n for _, n in self._free)

    @property
    def largest_free(self) -> int:
        return max((n for _, n in self._free), default=0)

    @property
    def used_bytes(self) -> int:
        return sum(self._used.values())

    @property
    def num_buffers(self) -> int:
        return len(self._used)

    # ------------------------------------------------------------ allocate/free
    def allocate(self, shape: int | Sequence[int], dtype: Any = "u4", **kwargs: Any) -> PynqBuffer:
        """Same signature as PYNQ's ``XrtMemory.allocate`` (``cacheable`` etc. accepted)."""
        dt = np.dtype(dtype)
        shape_t = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        nbytes = int(np.prod(shape_t, dtype=np.int64)) * dt.itemsize
        size = max(self.align, -(-nbytes // self.align) * self.align)
        with self._lock:
            for i, (off, n) in enumerate(self._free):
                if n >= size:
                    if n == size:
                        del self._free[i]
                    else:
                        self._free[i] = (off + size, n - size)
                    self._used[off] = size
                    self.allocations += 1
                    break
            else:
                raise AllocationError(
                    f"simulated CMA exhausted: requested {nbytes} bytes ({size} with page alignment) but only "
                    f"{self.free_bytes} bytes are free (largest contiguous block {self.largest_free}) of "
                    f"{self.size}; free buffers you no longer need (buf.freebuffer() or `with acc.allocate(...)`), "
                    f"reuse buffers across calls, or use a spec with a larger addresses.ddr_size"
                )
        view = self._ddr[off : off + size]
        np.frombuffer(view, np.uint8)[:] = 0  # the kernel hands out zeroed CMA pages
        buf = PynqBuffer(shape_t, dt, buffer=self._ddr, offset=off, device=self.device,
                         device_address=self.base + off, coherent=False)
        # PYNQ's freebuffer() protocol: memory + pointer + return_to.return_pointer(pointer). The
        # buffer stays `freed = False` until then, as on the board, so `freed` tells a live buffer
        # from a freed one; return_pointer sets it, which also keeps PYNQ's munmap fallback (taken
        # by a second freebuffer() once pointer is 0) from ever unmapping part of the DDR model.
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._tokens[token] = (off, weakref.ref(buf))
        buf.memory = self
        buf.pointer = token
        buf.return_to = self
        return buf

    def return_pointer(self, pointer: int) -> None:
        """Called by ``PynqBuffer.freebuffer``: give the block back and coalesce neighbours."""
        with self._lock:
            entry = self._tokens.pop(pointer, None)
            if entry is None:
                return
            off, ref = entry
            buf = ref()
            if buf is not None:
                buf.freed = True
            size = self._used.pop(off, None)
            if size is None:
                return
            i = bisect.bisect(self._free, (off, 0))
            self._free.insert(i, (off, size))
            merged: list[tuple[int, int]] = []
            for o, n in self._free:
                if merged and merged[-1][0] + merged[-1][1] == o:
                    merged[-1] = (merged[-1][0], merged[-1][1] + n)
                else:
                    merged.append((o, n))
            self._free = merged


class SimDevice(Device):
    """A ``pynq.Device`` backed by ``accel.overlays.sim.SimModel`` (see the module docstring)."""

    _probe_priority_ = 970  # unique: Versal 40, Embedded 50, Remote 100, XRT 200
    _activated: list[SimDevice] = []
    _base: Any = None
    _by_sim: weakref.WeakKeyDictionary[Any, SimDevice] = weakref.WeakKeyDictionary()

    @classmethod
    def for_sim(cls, sim: Any) -> SimDevice:
        """The one device of a model: two allocators over one DDR would hand out the same bytes."""
        dev = cls._by_sim.get(sim)
        if dev is None:
            dev = cls(sim, sim.spec)
            cls._by_sim[sim] = dev
        return dev

    @classmethod
    def _probe_(cls) -> list[SimDevice]:
        return list(cls._activated)

    def __init__(self, sim: Any, spec: Any, tag: str | None = None) -> None:
        super().__init__(tag or f"sim_{spec.name}")
        self.sim = sim
        self.spec = spec
        self.name = f"pynq-accel-sim-{spec.name}"
        self.capabilities = {"REGISTER_RW": True, "MEMORY_MAPPED": False, "CALLABLE": False}
        self.timestamp = ""
        self.bitfile_name = ""
        self._previous: list[Any] = []
        self.reg_reads = 0
        self.reg_writes = 0
        self.flush_bytes = 0
        self.invalidate_bytes = 0
        self.flush_calls = 0
        self.invalidate_calls = 0
        self._memory = SimMemory(self, sim.ddr, spec.ddr_base)
        self._windows = ((spec.accel_base, spec.accel_range), (spec.dma_base, spec.dma_range))

    def activate(self) -> SimDevice:
        """Make this the active PYNQ device (what ``pynq.allocate`` etc. use by default)."""
        current = getattr(Device, "_active_device", None)
        if not SimDevice._activated and not isinstance(current, SimDevice):
            SimDevice._base = current  # what was active before any simulator (a board device, or none)
        self._previous.append(current)  # a stack: activations nest
        if self not in SimDevice._activated:
            SimDevice._activated.append(self)
        Device.active_device = self
        return self

    def deactivate(self) -> None:
        """Undo :meth:`activate`.

        Devices may be closed in any order (two Accelerators closed in the order they were
        opened): the device that becomes active is the most recently activated one still open,
        else what was active before any simulator — never a device already deactivated."""
        if not self._previous:
            return
        self._previous.pop()
        if self._previous:
            return
        if self in SimDevice._activated:
            SimDevice._activated.remove(self)
        if getattr(Device, "_active_device", None) is not self:
            return
        if SimDevice._activated:
            Device.active_device = SimDevice._activated[-1]
        elif SimDevice._base is not None:
            Device.active_device = SimDevice._base
        else:
            del Device._active_device

    # ------------------------------------------------------------ memory
    @property
    def default_memory(self) -> SimMemory:
        return self._memory

    def flush(self, bo: Any, offset: int, ptr: int, size: int) -> None:
        """Cache clean before the DMA reads: nothing to do in the simulator, counted."""
        self.flush_calls += 1
        self.flush_bytes += int(size)

    def invalidate(self, bo: Any, offset: int, ptr: int, size: int) -> None:
        """Cache invalidate after the DMA wrote: nothing to do in the simulator, counted."""
        self.invalidate_calls += 1
        self.invalidate_bytes += int(size)

    # ------------------------------------------------------------ registers
    def _check(self, address: int, length: int) -> None:
        if address % 4 or length % 4:
            raise BackendError(f"register access at {address:#x} ({length} bytes) is not 32-bit aligned")
        for base, size in self._windows:
            if base <= address and address + length <= base + size:
                return
        raise BackendError(
            f"register access at {address:#x} is outside the accelerator ({self.spec.accel_base:#x}) and DMA "
            f"({self.spec.dma_base:#x}) windows of spec {self.spec.name}"
        )

    def read_registers(self, address: int, length: int) -> bytes:
        self._check(address, length)
        out = bytearray()
        for a in range(address, address + length, 4):
            self.reg_reads += 1
            out += int(self.sim.read32(a)).to_bytes(4, "little")
        return bytes(out)

    def write_registers(self, address: int, data: bytes) -> None:
        self._check(address, len(data))
        for i in range(0, len(data), 4):
            self.reg_writes += 1
            self.sim.write32(address + i, int.from_bytes(data[i : i + 4], "little"))

    @property
    def mmio_ops(self) -> int:
        return self.reg_reads + self.reg_writes

    # ------------------------------------------------------------ overlays
    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False) -> Any:
        """Parse the ``.hwh`` beside the bitfile with PYNQ's own parser (no xclbinutil)."""
        from pynqmetadata.frontends import Metadata

        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.is_file():
            raise BackendError(f"no {hwh.name} beside {bitfile_name}: the simulated device needs the overlay's .hwh")
        parser = _parser_class()(Metadata(input=str(hwh)))
        parser.refresh_hierarchy_dict()
        parser.bin_data = None
        parser.xclbin_data = None
        parser.dtbo_data = None
        return parser

    def download(self, bitstream: Any, parser: Any = None) -> None:
        """"Programming" the simulator: a hard reset of the model, then PYNQ's bookkeeping."""
        self.sim.reset()
        self.post_download(bitstream, parser, self.name)

    def gen_cache(self, bitstream: Any, parser: Any = None) -> None:
        """No metadata cache for the simulator (the stock one pickles into pynq's package dir)."""

    def close(self) -> None:
        """``Overlay.free()`` calls this on pynq 3.1; the model belongs to the backend, not the overlay."""

    def __repr__(self) -> str:
        return f"<SimDevice {self.spec.name} ddr={self.spec.ddr_base:#x}+{self.spec.ddr_size:#x}>"
