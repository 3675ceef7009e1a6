"""The AXI DMA 7.1 driver: stock ``pynq.lib.dma.DMA`` in simple mode, our own channels in scatter-gather mode.

PYNQ's stock scatter-gather channel splits ONE buffer into equal blocks (one packet) and
allocates descriptors on every call, so it cannot express a driver program: a chain of many
packets from many buffers, TLAST after each. :class:`AccelDMA` binds to the AXI DMA's VLNV;
when the ``.hwh`` says ``c_include_sg=0`` it *is* the stock driver (same channels, same
behaviour), when it says ``c_include_sg=1`` its channels are :class:`SGChannel`, which start
descriptor chains built by :class:`DescriptorChain`.

A chain is a ring of 64-byte descriptors (PG021 "Scatter Gather Descriptor") in CMA: one
per packet segment, CONTROL = length | SOF on a packet's first segment | EOF on its last, the
last descriptor's NXTDESC pointing back at the first. PG021: with DMACR.RS = 1 a TAILDESC
write makes the engine fetch from where it stopped (CURDESC the first time) up to TAILDESC,
so once a ring is bound to a channel, every later run of it is one TAILDESC write (after the
STATUS words, memory not registers, are cleared: a descriptor fetched with Cmplt set is an
SGIntErr). Every offset, bit and word index comes from the spec's ``[dma]`` tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pynq import DefaultIP
from pynq.lib.dma import DMA

from accel.errors import LayoutError, TransferTooLargeError

WORD = 4  # bytes of a descriptor word


class DescriptorChain:
    """A ring of descriptors for one channel, in one CMA buffer; built once, re-run many times.

    ``segments`` are (physical address, nbytes, sof, eof) in stream order. The buffer is
    allocated with ``allocate(shape, dtype)`` (the backend's CMA allocator)."""

    def __init__(self, spec: Any, allocate: Any, segments: Sequence[tuple[int, int, bool, bool]]) -> None:
        dmap = spec.dma
        self.spec = spec
        self.count = len(segments)
        size = dmap.desc_bytes
        self._mem = allocate(((self.count + 1) * size,), np.uint8)  # one spare descriptor to align
        base = int(self._mem.physical_address)
        self._skip = (-base) % size
        self.base = base + self._skip
        self.tail = self.base + (self.count - 1) * size
        self.words = self._mem[self._skip : self._skip + self.count * size].view(np.uint32).reshape(self.count, -1)
        w = {name: dmap.desc_words[name] for name in ("NXTDESC", "NXTDESC_MSB", "BUFFER_ADDRESS",
                                                       "BUFFER_ADDRESS_MSB", "CONTROL", "STATUS")}
        self._status = w["STATUS"]
        length_max = spec.dma_max_bytes
        addr = np.array([p for p, _n, _s, _e in segments], dtype=np.uint64)
        nbytes = np.array([n for _p, n, _s, _e in segments], dtype=np.uint64)
        if self.count == 0:
            raise LayoutError("a descriptor chain needs at least one transfer")
        if int(nbytes.max()) > length_max or int(nbytes.min()) <= 0:
            raise TransferTooLargeError(
                f"a descriptor of {int(nbytes.max())} bytes does not fit the buffer length field "
                f"({spec.dma_length_width} bits, at most {length_max} bytes, and at least 1): rebuild the program "
                "with smaller tiles"
            )
        nxt = self.base + (np.arange(1, self.count + 1, dtype=np.uint64) % self.count) * size
        control = nbytes.copy()
        control |= np.array([dmap.control("SOF") if s else 0 for _p, _n, s, _e in segments], dtype=np.uint64)
        control |= np.array([dmap.control("EOF") if e else 0 for _p, _n, _s, e in segments], dtype=np.uint64)
        self.words[:] = 0
        self.words[:, w["NXTDESC"]] = (nxt & 0xFFFFFFFF).astype(np.uint32)
        self.words[:, w["NXTDESC_MSB"]] = (nxt >> np.uint64(32)).astype(np.uint32)
        self.words[:, w["BUFFER_ADDRESS"]] = (addr & 0xFFFFFFFF).astype(np.uint32)
        self.words[:, w["BUFFER_ADDRESS_MSB"]] = (addr >> np.uint64(32)).astype(np.uint32)
        self.words[:, w["CONTROL"]] = control.astype(np.uint32)
        self._mem.flush()
        self.nbytes = nbytes
        self.eof = np.array([e for _p, _n, _s, e in segments], dtype=bool)

    @property
    def cache_bytes(self) -> int:
        return int(self.count * self.spec.dma.desc_bytes)

    def rearm(self) -> int:
        """Clear every STATUS word (a fetched descriptor must not have Cmplt set) and clean the cache
        lines; returns the bytes flushed."""
        self.words[:, self._status] = 0
        self._mem.flush()
        return self.cache_bytes

    def rewrite(self, index: int, phys: int, nbytes: int) -> None:
        """Descriptor ``index`` becomes one whole packet of ``nbytes`` at ``phys`` (STATUS cleared, flushed)."""
        dmap = self.spec.dma
        if not 0 < nbytes <= self.spec.dma_max_bytes:
            raise TransferTooLargeError(
                f"a transfer of {nbytes} bytes does not fit the descriptor length field "
                f"({self.spec.dma_length_width} bits): rebuild the program with smaller tiles"
            )
        row = self.words[index]
        row[dmap.desc_words["BUFFER_ADDRESS"]] = phys & 0xFFFFFFFF
        row[dmap.desc_words["BUFFER_ADDRESS_MSB"]] = phys >> 32
        row[dmap.desc_words["CONTROL"]] = nbytes | dmap.control("SOF") | dmap.control("EOF")
        row[self._status] = 0
        self._mem.flush()

    def statuses(self) -> np.ndarray:
        """The STATUS words as the DMA wrote them back (cache invalidated first)."""
        self._mem.invalidate()
        return self.words[:, self._status].copy()

    def free(self) -> None:
        self._mem.freebuffer()


class SGChannel:
    """One scatter-gather channel ("mm2s" or "s2mm"): bind a ring, start it, read its DMASR.

    Registers go through the DMA driver's ``read``/``write`` (so the board backend's counting
    MMIO proxy sees them)."""

    def __init__(self, dma: Any, spec: Any, name: str) -> None:
        self._dma = dma
        self.spec = spec
        self.name = name
        self.transferred = 0
        self.driver_calls = 0
        self.single: Any = None  # the one-descriptor ring of per-transfer mode
        self._tail_msb: int | None = None
        self._cur_msb: int | None = None

    def _off(self, reg: str) -> int:
        return self.spec.dma.offset(self.name, reg)

    def dmasr(self) -> int:
        return int(self._dma.read(self._off("DMASR")))

    def halt(self) -> None:
        """DMACR.RS = 0: the channel stops (DMASR.Halted) and forgets where its chain was."""
        self._dma.write(self._off("DMACR"), self.spec.dma.dmacr_reset_value)

    def bind(self, chain: DescriptorChain) -> None:
        """Point a halted channel at ``chain``'s first descriptor and run it (RS=1)."""
        dmap, wide = self.spec.dma, self.spec.dma_addr_width > 32
        if wide and self._cur_msb != chain.base >> 32:  # the upper half rarely changes: keep what is there
            self._dma.write(self._off("CURDESC_MSB"), chain.base >> 32)
            self._cur_msb = chain.base >> 32
        self._dma.write(self._off("CURDESC"), chain.base & 0xFFFFFFFF)
        self._dma.write(self._off("DMACR"), dmap.dmacr_reset_value | dmap.dmacr("RS"))

    def after_reset(self) -> None:
        """After a DMA reset (DMACR.Reset): the pointer registers hold their reset value, 0 (PG021)."""
        self._cur_msb = self._tail_msb = 0

    def transfer(self, region: Any, start: int, nbytes: int) -> None:
        """One packet through the channel's one-descriptor ring (``single``, bound first): what the
        executor's per-transfer loop uses for programs that stage data between transfers."""
        self.single.rewrite(0, int(region.physical_address) + int(start), int(nbytes))
        self.kick(self.single.tail)

    def received(self) -> int:
        """Bytes the last :meth:`transfer` moved (its descriptor's STATUS)."""
        return int(self.single.statuses()[0]) & self.spec.dma_max_bytes

    def kick(self, tail: int) -> None:
        """Fetch and process descriptors up to ``tail`` (PG021: a TAILDESC write with RS=1)."""
        self.driver_calls += 1
        if self.spec.dma_addr_width > 32 and self._tail_msb != tail >> 32:
            self._dma.write(self._off("TAILDESC_MSB"), tail >> 32)
            self._tail_msb = tail >> 32
        self._dma.write(self._off("TAILDESC"), tail & 0xFFFFFFFF)


class AccelDMA(DMA):
    """``pynq.lib.dma.DMA`` for ``c_include_sg=0``; scatter-gather channels for ``c_include_sg=1``.

    In scatter-gather mode the channels need the spec's register map: the backend calls
    :meth:`use_spec` after the overlay binds the driver."""

    bindto = ["xilinx.com:ip:axi_dma:7.1"]

    def __init__(self, description: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        params = description.get("parameters") or {}
        self.sg = bool(int(str(params.get("c_include_sg", "0")), 0))
        if not self.sg:
            super().__init__(description, *args, **kwargs)
            return
        DefaultIP.__init__(self, description=description)
        self.description = description
        self.device = description.get("device")
        self.buffer_max_size = (1 << int(str(params.get("c_sg_length_width", "26")), 0)) - 1
        self.sendchannel: Any = None
        self.recvchannel: Any = None

    def use_spec(self, spec: Any) -> AccelDMA:
        """Create the scatter-gather channels (no-op in simple mode: the stock channels stay)."""
        if self.sg:
            self.sendchannel = SGChannel(self, spec, "mm2s")
            self.recvchannel = SGChannel(self, spec, "s2mm")
        return self
