"""Board backend: stock ``pynq.Overlay`` on a real PYNQ board (Zynq-7000 / Zynq UltraScale+).

Loads ``overlays/<spec>.bit`` with its ``.hwh`` (written by the Vivado flow) or a bitfile you
pass. The stock drivers access registers through ``/dev/mem`` (``MEMORY_MAPPED``), which
cannot be counted at the device, so the DMA's and the accelerator's ``MMIO`` objects are
wrapped in a counting proxy: the same reads and writes, counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.errors import BackendError
from accel.runtime.backends.base import Backend

FPGA_MANAGER = Path("/sys/class/fpga_manager/fpga0/firmware")  # what pynq's EmbeddedDevice probes


def default_bitfile(spec: Any) -> Path:
    """``overlays/<spec>.bit`` inside the installed package (the Vivado flow writes it there)."""
    import accel.overlays

    return Path(accel.overlays.__file__).resolve().parent / f"{spec.name}.bit"


class CountingMMIO:
    """Delegates to a ``pynq.MMIO`` and counts reads and writes."""

    def __init__(self, mmio: Any) -> None:
        self._mmio = mmio
        self.reads = 0
        self.writes = 0

    def read(self, offset: int = 0, length: int = 4, word_order: str = "little") -> int:
        self.reads += 1
        return self._mmio.read(offset, length, word_order)

    def write(self, offset: int, data: Any) -> None:
        self.writes += 1
        self._mmio.write(offset, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mmio, name)


class BoardBackend(Backend):
    name = "board"
    blocking_polls = False

    @staticmethod
    def available(spec: Any, bitfile: str | Path | None = None) -> bool:
        """A real PYNQ device (FPGA manager present) and the overlay's bitfile + .hwh on disk."""
        bit = Path(bitfile) if bitfile else default_bitfile(spec)
        return FPGA_MANAGER.exists() and bit.is_file() and bit.with_suffix(".hwh").is_file()

    def __init__(self, spec: Any, *, bitfile: str | Path | None = None, download: bool = True) -> None:
        super().__init__(spec)
        bit = Path(bitfile) if bitfile else default_bitfile(spec)
        if not FPGA_MANAGER.exists():
            raise BackendError(
                "no PYNQ board here (no FPGA manager at /sys/class/fpga_manager/fpga0); use backend='sim'"
            )
        if not bit.is_file() or not bit.with_suffix(".hwh").is_file():
            raise BackendError(
                f"overlay files missing: need {bit} and {bit.with_suffix('.hwh')} (build them with the Vivado flow "
                "in overlays/vivado, or pass bitfile=...)"
            )
        import pynq

        from accel.runtime.drivers import bind_spec_driver

        bind_spec_driver(spec)
        self.device = pynq.Device.active_device
        self.overlay = pynq.Overlay(str(bit), download=download, device=self.device)
        self._bind()
        self._counters: list[CountingMMIO] = []
        for drv in (self.dma, self.accel):
            proxy = CountingMMIO(drv.mmio)
            drv.mmio = proxy
            self._counters.append(proxy)
        for chan in (self.dma.sendchannel, self.dma.recvchannel):
            chan._mmio = self._counters[0]  # the stock channels hold the DMA's MMIO object

    def mmio_ops(self) -> int:
        return sum(c.reads + c.writes for c in self._counters)
