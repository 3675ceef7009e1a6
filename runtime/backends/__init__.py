"""Backends: one per file, the same small interface (:class:`~accel.runtime.backends.base.Backend`).

``sim`` runs the overlay on the Verilator model through ``SimDevice``; ``board`` runs it on a
real PYNQ board. ``get_backend("auto", spec)`` picks the board when one with our overlay is
present, else the simulator. Modules are imported on demand (pynq and the simulator are heavy).
"""

from __future__ import annotations

from typing import Any

BACKENDS = ("sim", "board")


def get_backend(name: str, spec: Any, **kwargs: Any) -> Any:
    """Open backend ``name`` ("sim", "board" or "auto") for ``spec``."""
    from accel.errors import BackendError

    if name == "auto":
        from accel.runtime.backends.board import BoardBackend

        name = "board" if BoardBackend.available(spec, kwargs.get("bitfile")) else "sim"
    if name == "sim":
        from accel.runtime.backends.sim import SimBackend

        kwargs.pop("bitfile", None)
        kwargs.pop("download", None)
        return SimBackend(spec, **kwargs)
    if name == "board":
        from accel.runtime.backends.board import BoardBackend

        kwargs.pop("sim", None)
        return BoardBackend(spec, **kwargs)
    raise BackendError(f"unknown backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}")
