"""Simulator backend: stock ``pynq.Overlay`` over ``SimDevice`` over the Verilator ``SimModel``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from accel.runtime.backends.base import Backend

PLACEHOLDER_BIT = b"pynq-accel simulated overlay: not a bitstream (the SimDevice never programs it)\n"


def sim_overlay_files(spec: Any) -> Path:
    """A bitfile path with the spec's ``.hwh`` beside it, in the cache (created on demand).

    ``pynq.Overlay`` needs an existing bitfile with its ``.hwh`` beside it. The simulated device
    parses only the ``.hwh``, so the ``.bit`` is a placeholder; it lives in the cache, never in
    the repository.
    """
    from accel.overlays.hwh import generate_hwh
    from accel.overlays.tools import cache_dir

    folder = cache_dir("sim-overlays", f"{spec.name}-{spec.hash[:12]}-{spec.dma_mode}")
    bit = folder / f"{spec.name}.bit"
    for path, data in ((bit.with_suffix(".hwh"), generate_hwh(spec).encode()), (bit, PLACEHOLDER_BIT)):
        if not path.is_file() or path.read_bytes() != data:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
    return bit


class SimBackend(Backend):
    """Opens (or shares) a ``SimModel``, activates a ``SimDevice`` and loads the overlay on it."""

    name = "sim"
    blocking_polls = True

    def __init__(self, spec: Any, *, sim: Any = None, activate: bool = True) -> None:
        import pynq

        from accel.runtime.drivers import bind_spec_driver
        from accel.runtime.sim_device import SimDevice

        super().__init__(spec)
        self._owns_sim = sim is None
        self._activated = False
        if sim is None:
            from accel.overlays.sim import SimModel

            sim = SimModel(spec)
        self.sim = sim
        try:
            self.device = SimDevice.for_sim(sim)  # the model's own spec: addresses of the real windows
            self._activated = activate
            if activate:
                self.device.activate()
            self.bitfile = sim_overlay_files(spec)
            bind_spec_driver(spec)  # registers AccelDriver with pynq before the Overlay binds drivers
            self.overlay = pynq.Overlay(str(self.bitfile), download=False, device=self.device)
            self._bind()
        except BaseException:
            self.close()
            raise

    def mmio_ops(self) -> int:
        return self.device.mmio_ops

    def sim_cycles(self) -> int | None:
        return int(self.sim.cycles)

    def close(self) -> None:
        if self.device is not None and self._activated:
            self.device.deactivate()
            self._activated = False
        if self._owns_sim and self.sim is not None:
            self.sim.close()
        self.sim = None if self._owns_sim else self.sim

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["sim"] = repr(self.sim)
        out["library"] = str(getattr(self.sim, "library_path", ""))
        return out
