"""The interface every backend implements (tinygrad-style: small, one file per backend)."""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.errors import AllocationError, OverlayMismatchError


class Backend:
    """An opened overlay: stock ``pynq.Overlay``, its AXI DMA driver (``pynq.lib.dma.DMA``; in
    scatter-gather mode our :class:`~accel.runtime.sgdma.AccelDMA` channels) and our ``AccelDriver``.

    Attributes: ``name``, ``spec``, ``device`` (a ``pynq.Device``), ``overlay``, ``dma``,
    ``accel``; ``blocking_polls`` is True when a status read blocks until something happens
    (the simulator runs its clock inside the read), False when polls return at once (board).
    """

    name = "?"
    blocking_polls = False

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.device: Any = None
        self.overlay: Any = None
        self.dma: Any = None
        self.accel: Any = None

    # ------------------------------------------------------------ overlay binding
    def _bind(self) -> None:
        """Pick the DMA and accelerator drivers out of the overlay and check the hardware."""
        from pynq.lib.dma import DMA

        from accel.runtime.drivers import AccelDriver
        from accel.runtime.sgdma import AccelDMA

        ol, spec = self.overlay, self.spec
        for attr in (spec.dma_name, spec.ip_name):
            if attr not in ol.ip_dict:
                raise OverlayMismatchError(
                    f"overlay {ol.bitfile_name} has no IP {attr!r} (it has {', '.join(sorted(ol.ip_dict))}); "
                    f"load the overlay built from spec {spec.name}"
                )
        self.dma = getattr(ol, spec.dma_name)
        accel = getattr(ol, spec.ip_name)
        if not isinstance(self.dma, DMA):
            raise OverlayMismatchError(
                f"{spec.dma_name} is bound to {type(self.dma).__name__}, not pynq.lib.dma.DMA"
            )
        if not isinstance(accel, AccelDriver):
            raise OverlayMismatchError(
                f"{spec.ip_name} has VLNV {ol.ip_dict[spec.ip_name]['type']} but spec {spec.name} expects "
                f"{spec.ip_vlnv}; load the overlay built from this spec"
            )
        if isinstance(self.dma, AccelDMA):  # scatter-gather channels need the spec's register map
            self.dma.use_spec(spec)
        if self.dma.sendchannel is None or self.dma.recvchannel is None:
            raise OverlayMismatchError(
                f"{spec.dma_name} must have both MM2S and S2MM channels (c_include_mm2s/s2mm)"
            )
        self.accel = accel.use_spec(spec)
        self.accel.check_identity(spec)

    # ------------------------------------------------------------ interface
    def allocate(self, shape: Any, dtype: Any) -> Any:
        """A ``pynq.buffer.PynqBuffer`` in memory the DMA can reach (CMA)."""
        import pynq

        try:
            return pynq.allocate(shape, dtype, target=self.device, cacheable=True)
        except AllocationError:
            raise
        except (RuntimeError, MemoryError) as exc:
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            raise AllocationError(
                f"CMA allocation of {nbytes} bytes failed ({exc}); free buffers you no longer need "
                "(buf.freebuffer()), reuse buffers across calls, or enlarge the CMA pool (kernel argument cma=)"
            ) from exc

    def mmio_ops(self) -> int:
        """Register reads + writes issued so far (including those inside the stock DMA driver)."""
        raise NotImplementedError

    def sim_cycles(self) -> int | None:
        """Harness cycles so far (simulator only)."""
        return None

    def close(self) -> None:
        pass

    def info(self) -> dict[str, Any]:
        bitfile = getattr(self.overlay, "bitfile_name", None)
        return {"backend": self.name, "device": repr(self.device), "bitfile": bitfile}
