"""Zero-copy PYNQ runtime (import name ``accel.runtime``).

``from accel.runtime import Accelerator`` (see :mod:`accel.runtime.accelerator`). Imports are
lazy: importing this package does not import pynq or build the simulator.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Accelerator", "Model", "RunResult", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "Accelerator":
        from accel.runtime.accelerator import Accelerator

        return Accelerator
    if name in ("Model", "load_model"):
        from accel.runtime import model

        return getattr(model, name)
    if name == "RunResult":
        from accel.runtime.executor import RunResult

        return RunResult
    raise AttributeError(f"module 'accel.runtime' has no attribute {name!r}")
