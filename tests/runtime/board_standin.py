"""A stand-in for PYNQ's embedded device (``EmbeddedDevice``) over the Verilator model, so the
board backend (``accel.runtime.backends.board``) runs off-board exactly as it would on a board.

What the board backend and stock PYNQ use of the embedded device, and what stands in for it:

- ``MEMORY_MAPPED`` register access: ``pynq.MMIO`` calls ``device.mmap(base, length)`` and reads
  and writes the returned uint32 array (on the board a ``/dev/mem`` mapping). Here the
  accelerator's and the DMA's windows are :class:`RegisterWindow` objects whose element reads and
  writes are the model's ``read32``/``write32``; the PS clock registers pynq programs when an
  overlay loads (Zynq-7000 SLCR, UG585; Zynq UltraScale+ CRL_APB/CRF_APB and the AXI port-width
  registers, UG1085) are plain memory preset to the board preset's PLL. Any other address is
  refused (on a board it would map whatever sits there).
- ``.bit`` + ``.hwh``: ``get_bitfile_metadata`` parses the ``.hwh`` beside the bitfile with
  PYNQ's own parser (what ``SimDevice`` does; the stock path additionally builds an xclbin with
  XRT's ``xclbinutil``, which only exists on a board).
- ``Overlay.download``: stock PYNQ writes the PL clock divisors from the ``.hwh`` into the PS
  clock registers (through ``mmap`` above) and calls ``device.download``; here that does what
  ``EmbeddedDevice.download`` does except writing the FPGA manager's sysfs files (the bitfile
  name goes to :attr:`BoardStandIn.fpga_manager` instead, a file under the test's tmp dir): the
  stock ``set_axi_port_width``, "programming" (a hard reset of the model) and ``post_download``.
- ``pynq.allocate`` / ``flush`` / ``invalidate``: ``SimDevice``'s simulated CMA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pynq.pl_server.embedded_device import EmbeddedDevice

from accel.errors import BackendError
from accel.overlays.boards import get_board
from accel.runtime.sim_device import SimDevice

PAGE = 4096
ARCH = {"ps7": "armv7l", "psu": "aarch64"}  # platform.machine() of the board's CPU, what pynq's Clocks keys on


class RegisterWindow:
    """A register window as ``EmbeddedDevice.mmap`` returns it (a uint32 array), backed by the model.

    Supports what ``pynq.MMIO`` and ``pynq.registers`` do with the array: integer indexing, slices
    (a sub-window) and ``view("u4")``. Every access is counted."""

    def __init__(self, device: BoardStandIn, base: int, words: int) -> None:
        self._device = device
        self.base = base
        self.words = words

    def __len__(self) -> int:
        return self.words

    def _addr(self, index: int) -> int:
        if not -self.words <= index < self.words:
            raise IndexError(f"register index {index} outside a window of {self.words} words")
        return self.base + 4 * (index % self.words)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.words)
            if step != 1:
                raise IndexError("strided register windows are not modelled")
            return RegisterWindow(self._device, self.base + 4 * start, max(0, stop - start))
        self._device.window_reads += 1
        return np.uint32(self._device.sim.read32(self._addr(index)))

    def __setitem__(self, index: int, value: Any) -> None:
        self._device.window_writes += 1
        self._device.sim.write32(self._addr(index), int(value) & 0xFFFF_FFFF)

    def view(self, dtype: Any = None) -> RegisterWindow:
        if dtype is not None and np.dtype(dtype) != np.dtype("u4"):
            raise TypeError(f"register windows are 32-bit; a {np.dtype(dtype)} view is not modelled")
        return self


def _ps_register_blocks(ps_kind: str) -> dict[int, int]:
    """Base address -> bytes of the PS register blocks pynq touches when it loads an overlay, from
    pynq's own tables (its clock classes and the port-width registers of EmbeddedDevice)."""
    from pynq.pl_server import embedded_device as emb
    from pynq.ps import _ClocksUltrascale, _ClocksZynq

    if ps_kind == "ps7":
        return {_ClocksZynq.SLCR_BASE_ADDRESS: 0x1000}
    blocks = {_ClocksUltrascale.CRL_APB_ADDRESS: PAGE, _ClocksUltrascale.CRF_APB_ADDRESS: PAGE}
    for table in (emb.ZU_FPD_SLCR_REG, emb.ZU_AXIFM_REG):
        for regs in table.values():
            for reg in regs.values():
                blocks.setdefault(reg["addr"] & ~(PAGE - 1), PAGE)
    return blocks


class BoardStandIn(SimDevice):
    """``EmbeddedDevice`` at the interface the board backend uses, over a ``SimModel`` (see above)."""

    _probe_priority_ = 971  # unique; like SimDevice it is only ever activated explicitly

    def __init__(self, sim: Any, spec: Any, fpga_manager: Path) -> None:
        super().__init__(sim, spec, tag=f"board_standin_{spec.name}")
        self.name = f"pynq-accel-board-standin-{spec.name}"
        self.board = get_board(spec.board)
        self.capabilities = {"REGISTER_RW": False, "MEMORY_MAPPED": True, "CALLABLE": False}
        self.arch = ARCH[self.board.ps_kind]
        self.fpga_manager = Path(fpga_manager)
        self.window_reads = 0
        self.window_writes = 0
        self.downloads = 0
        blocks = _ps_register_blocks(self.board.ps_kind)
        self._ps = {base: np.zeros(size // 4, np.uint32) for base, size in blocks.items()}
        self._preset_plls()

    # ------------------------------------------------------------ PS registers
    def _ps_map(self, name: str, table: dict[str, Any], base: int) -> Any:
        from pynq.registers import RegisterMap

        return RegisterMap.create_subclass(name, table)(self._ps[base])

    def clock_registers(self) -> Any:
        """The PS register map holding PL clock 0's control register (SLCR on Zynq-7000, CRL_APB on ZU+)."""
        from pynq import ps

        if self.board.ps_kind == "ps7":
            return self._ps_map("StandInSlcr", ps.ZYNQ_SLCR_REGISTERS, ps._ClocksZynq.SLCR_BASE_ADDRESS)
        return self._ps_map("StandInCrl", ps.ZU_CRL_REGISTERS, ps._ClocksUltrascale.CRL_APB_ADDRESS)

    def _preset_plls(self) -> None:
        """The PLL the board preset configures (overlays/boards.toml) in the registers pynq reads it from."""
        from pynq import ps

        regs = self.clock_registers()
        if self.board.ps_kind == "ps7":
            regs.IO_PLL_CTRL.PLL_FDIV = round(self.board.pll_mhz / ps._ClocksZynq.DEFAULT_SRC_CLK_MHZ)
        else:
            regs.IOPLL_CTRL.FBDIV = round(self.board.pll_mhz / ps._ClocksUltrascale.DEFAULT_SRC_CLK_MHZ)

    def pl_clock0(self) -> tuple[int, int]:
        """PL clock 0's (DIVISOR0, DIVISOR1) as the PS registers hold them now."""
        regs = self.clock_registers()
        reg = regs.FPGA0_CLK_CTRL if self.board.ps_kind == "ps7" else regs.PL0_REF_CTRL
        return int(reg.DIVISOR0), int(reg.DIVISOR1)

    # ------------------------------------------------------------ MEMORY_MAPPED
    def mmap(self, base_addr: int, length: int) -> Any:
        """What ``/dev/mem`` would map at ``base_addr``: a model-backed window or a PS register block."""
        for base, size in self._windows:
            if base <= base_addr and base_addr + length <= base + size:
                return RegisterWindow(self, base_addr, length // 4)
        for base, words in self._ps.items():
            if base <= base_addr and base_addr + length <= base + 4 * len(words):
                return words[(base_addr - base) // 4 : (base_addr - base + length) // 4]
        raise BackendError(f"the board stand-in models nothing at {base_addr:#x} (+{length:#x})")

    def read_registers(self, address: int, length: int) -> bytes:
        raise BackendError("the embedded device has no REGISTER_RW access: MMIO must take the MEMORY_MAPPED path")

    def write_registers(self, address: int, data: bytes) -> None:
        raise BackendError("the embedded device has no REGISTER_RW access: MMIO must take the MEMORY_MAPPED path")

    # ------------------------------------------------------------ download
    def download(self, bitstream: Any, parser: Any = None) -> None:
        """``EmbeddedDevice.download`` with the FPGA manager replaced by a file: the bitfile name is
        written there, the PS AXI port widths are set by the stock code, the model is reset."""
        self.fpga_manager.write_text(str(bitstream.bitfile_name))
        EmbeddedDevice.set_axi_port_width(self, parser)
        self.downloads += 1
        self.sim.reset()
        self.post_download(bitstream, parser, self.name)

    def __repr__(self) -> str:
        return f"<BoardStandIn {self.spec.name} on {self.board.name}>"
