"""``SimModel``: the Verilator simulation of the overlay (accelerator + AXI DMA + DDR), in-process.

The clock runs in C++ (``overlays/sim/harness.cpp``, built and cached by :mod:`sim_build`); Python
issues register reads and writes. The DDR model is a shared-memory file under ``/dev/shm`` that
both Python and C++ map, so a buffer written through :attr:`SimModel.ddr` is the very memory the
DMA model reads (zero-copy, as with CMA buffers on the board)::

    sim = SimModel(spec)            # builds (cached) and loads
    sim.ddr[0:4] = b"\\x01\\x02\\x03\\x04"   # physical address spec.ddr_base + 0
    d = spec.dma
    sim.write32(spec.dma_base + d.offset("mm2s", "DMACR"), d.dmacr("RS"))  # MM2S run
    sim.read32(spec.dma_base + d.offset("mm2s", "DMASR"))  # runs the clock while the channel is busy

Every register access costs ``spec.mmio_cycles`` cycles. Reading a busy channel's DMASR runs the
clock until the channel is idle, halted or errored, until nothing anywhere has moved for
``deadlock_window`` cycles, or until ``poll_budget`` cycles have passed; then it returns the
register as it stands (so a hung transfer reads back busy, as on the board, and the caller decides).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import secrets
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from accel.errors import BackendError, HardwareError, InputError
from accel.overlays import sim_abi
from accel.overlays.spec import DEFAULT_SPEC, Spec, load_spec

# The C ABI codes (sim_inject's faults and channels, return codes, sim_irq's bits) are defined once
# in accel.overlays.sim_abi, which the harness's generated header is written from.
FAULTS = {f.name: f.code for f in sim_abi.FAULTS}
CHANNELS = dict(sim_abi.CHANNELS)
# Faults that need a channel; None selects the first entry.
_CHANNEL_FAULTS = {f.name: f.channels for f in sim_abi.FAULTS}
DEFAULT_DEADLOCK_WINDOW = 20_000
DEFAULT_POLL_BUDGET = 200_000_000

_ABI_VERSION = str(sim_abi.ABI_VERSION)
_SHM_PREFIX = "pynq-accel-sim-"

_libs: dict[str, ctypes.CDLL] = {}
_libs_lock = threading.Lock()


def _load_library(path: Path) -> ctypes.CDLL:
    key = str(path)
    with _libs_lock:
        lib = _libs.get(key)
        if lib is not None:
            return lib
        try:
            lib = ctypes.CDLL(key)
        except OSError as exc:
            raise BackendError(f"cannot load the simulation library {path}: {exc}") from exc
        vp, u64, u32, i32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int
        signatures = {
            "sim_abi": ([], ctypes.c_char_p),
            "sim_stat_names": ([], ctypes.c_char_p),
            "sim_create": ([ctypes.c_char_p, ctypes.c_char_p, i32], vp),
            "sim_destroy": ([vp], None),
            "sim_read32": ([vp, u64, ctypes.POINTER(u32)], i32),
            "sim_write32": ([vp, u64, u32], i32),
            "sim_run": ([vp, u64], None),
            "sim_cycles": ([vp], u64),
            "sim_inject": ([vp, i32, i32], i32),
            "sim_reset": ([vp], None),
            "sim_configure": ([vp, u64, u64], None),
            "sim_stats": ([vp, ctypes.POINTER(u64), i32], i32),
            "sim_irq": ([vp], u32),
        }
        for name, (args, res) in signatures.items():
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = res
        _libs[key] = lib
        return lib


def _shm_dir() -> Path:
    d = Path("/dev/shm")
    return d if d.is_dir() and os.access(d, os.W_OK) else Path(tempfile.gettempdir())


def _sweep_stale_shm(directory: Path) -> None:
    """Remove DDR files of dead processes (killed in the short window between creating the file and
    unlinking it once mapped)."""
    for p in directory.glob(f"{_SHM_PREFIX}*.ddr"):
        try:
            pid = int(p.name[len(_SHM_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            p.unlink(missing_ok=True)
        except PermissionError:
            pass


class _State:
    """What the finalizer needs (no reference to the SimModel itself)."""

    def __init__(self) -> None:
        self.lib: ctypes.CDLL | None = None
        self.handle: int | None = None
        self.mm: mmap.mmap | None = None
        self.view: memoryview | None = None
        self.path: Path | None = None


def _release(state: _State) -> None:
    if state.handle and state.lib is not None:
        state.lib.sim_destroy(state.handle)
    state.handle = None
    if state.view is not None:
        try:
            state.view.release()
        except BufferError:  # numpy arrays still view the DDR: the mapping lives on with them
            pass
        state.view = None
    # The mapping is not closed here: numpy arrays over it (every PynqBuffer the runtime handed out)
    # keep the mmap object as their base without holding a buffer export, so closing it would
    # leave them pointing at unmapped memory. Dropping our reference unmaps it when the last
    # array goes away; until then a user's buffers stay readable, as CMA buffers do on a board.
    state.mm = None
    if state.path is not None:
        state.path.unlink(missing_ok=True)
        state.path = None


class SimModel:
    """The simulated overlay: verilated accelerator, AXI DMA 7.1 model and DDR, clocked in C++.

    Parameters
    ----------
    spec: a :class:`Spec` or a spec name/path (default ``z2_default``).
    deadlock_window: cycles without any movement after which a DMASR poll gives up.
    poll_budget: most cycles a single DMASR read may run.
    rtl_sources: build against these RTL files instead of the real ``accel_top`` (harness tests).
    """

    def __init__(
        self,
        spec: Spec | str = DEFAULT_SPEC,
        *,
        deadlock_window: int = DEFAULT_DEADLOCK_WINDOW,
        poll_budget: int = DEFAULT_POLL_BUDGET,
        rtl_sources: list[Path] | None = None,
    ) -> None:
        from accel.overlays.sim_build import build_sim

        self.spec = load_spec(spec)
        self._st = _State()
        self._finalizer = weakref.finalize(self, _release, self._st)
        self.library_path = build_sim(self.spec, sources=rtl_sources)
        lib = _load_library(self.library_path)
        abi = lib.sim_abi().decode().split()
        mode = "sg" if self.spec.dma_sg else "simple"
        if abi[:3] != ["accelsim", _ABI_VERSION, str(self.spec.hash32)] or abi[4:5] != [mode]:
            raise BackendError(f"simulation library {self.library_path} does not match spec {self.spec.name}: {abi}")
        self._stat_names = lib.sim_stat_names().decode().split(",")
        self._lib = lib

        try:
            self._open(deadlock_window, poll_budget)
        except BaseException:
            self._finalizer()
            raise

    def _open(self, deadlock_window: int, poll_budget: int) -> None:
        lib = self._lib
        directory = _shm_dir()
        _sweep_stale_shm(directory)
        path = directory / f"{_SHM_PREFIX}{os.getpid()}-{secrets.token_hex(6)}.ddr"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._st.path = path
        try:
            os.ftruncate(fd, self.spec.ddr_size)  # sparse: pages appear when touched
            self._st.mm = mmap.mmap(fd, self.spec.ddr_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self._st.view = memoryview(self._st.mm)
        err = ctypes.create_string_buffer(512)
        handle = lib.sim_create(str(path).encode(), err, len(err))
        if not handle:
            raise BackendError(f"the simulator could not start: {err.value.decode(errors='replace')}")
        self._st.lib = lib
        self._st.handle = handle
        # Both sides have mapped the file: unlink it now, so that nothing is left in /dev/shm even
        # when the process is killed (SIGKILL runs no finalizer); the mappings keep the memory.
        path.unlink(missing_ok=True)
        lib.sim_configure(handle, int(deadlock_window), int(poll_budget))

    # ------------------------------------------------------------------ memory
    @property
    def ddr(self) -> memoryview:
        """Writable view of the whole simulated DDR window (``spec.ddr_size`` bytes).

        Byte ``i`` is physical address ``spec.ddr_base + i``.
        """
        if self._st.view is None:
            raise BackendError("the simulator is closed")
        return self._st.view

    @property
    def shm_path(self) -> Path | None:
        """The name of the shared-memory file behind :attr:`ddr`; it is unlinked as soon as Python
        and the C++ model have both mapped it, so it never outlives the process."""
        return self._st.path

    # ------------------------------------------------------------------ registers
    def _h(self) -> int:
        h = self._st.handle
        if not h:
            raise BackendError("the simulator is closed")
        return h

    def _window_error(self, addr: int, what: str) -> HardwareError:
        s = self.spec
        return HardwareError(
            f"{what} at address {addr:#x}: outside the DMA window [{s.dma_base:#x}, {s.dma_base + s.dma_range:#x}) "
            f"and the accelerator window [{s.accel_base:#x}, {s.accel_base + s.accel_range:#x}) "
            "(nothing answers there; on the board this is a bus error)"
        )

    def _check(self, rc: int, addr: int, what: str) -> None:
        if rc == sim_abi.Status.OK:
            return
        if rc == sim_abi.Status.EADDR:
            raise self._window_error(addr, what)
        if rc == sim_abi.Status.EALIGN:
            raise HardwareError(f"{what} at address {addr:#x}: not 4-byte aligned")
        if rc == sim_abi.Status.EAXIL_TIMEOUT:
            raise HardwareError(f"{what} at address {addr:#x}: the accelerator's AXI-Lite port never answered")
        if rc == sim_abi.Status.EAXIL_RESP:
            raise HardwareError(f"{what} at address {addr:#x}: the accelerator answered with an AXI error response")
        raise HardwareError(f"{what} at address {addr:#x}: simulator error {rc}")

    def _in_windows(self, addr: int) -> bool:
        s = self.spec
        return s.dma_base <= addr < s.dma_base + s.dma_range or s.accel_base <= addr < s.accel_base + s.accel_range

    def read32(self, addr: int) -> int:
        """Read the 32-bit register at absolute address ``addr`` (DMA or accelerator window)."""
        addr = int(addr)
        if not self._in_windows(addr):
            raise self._window_error(addr, "read")
        value = ctypes.c_uint32()
        rc = self._lib.sim_read32(self._h(), addr, ctypes.byref(value))
        self._check(rc, addr, "read")
        return value.value

    def write32(self, addr: int, value: int) -> None:
        """Write the 32-bit register at absolute address ``addr`` (DMA or accelerator window)."""
        addr, value = int(addr), int(value)
        if not -(1 << 31) <= value < 1 << 32:
            raise InputError(f"value {value:#x} written to {addr:#x} does not fit in 32 bits")
        if not self._in_windows(addr):
            raise self._window_error(addr, "write")
        rc = self._lib.sim_write32(self._h(), addr, value & 0xFFFFFFFF)
        self._check(rc, addr, "write")

    # ------------------------------------------------------------------ clock, faults, reset
    def run(self, cycles: int) -> None:
        """Run the clock for ``cycles`` cycles."""
        cycles = int(cycles)
        if cycles < 0:
            raise InputError(f"cannot run a negative number of cycles ({cycles})")
        self._lib.sim_run(self._h(), cycles)

    @property
    def cycles(self) -> int:
        """Cycles simulated since creation (resets included; the power-on reset excluded)."""
        return int(self._lib.sim_cycles(self._h()))

    def inject(self, fault: str, channel: str | None = None) -> None:
        """Arm a one-shot fault (see ARCHITECTURE.md section 2).

        ``dma_slverr``/``dma_decerr``/``drop_tlast`` take ``channel`` ``"mm2s"`` (default) or
        ``"s2mm"``; ``mm2s_stall``/``s2mm_stall`` imply their channel; ``accel_hang`` takes none.
        DMA faults are cleared by a DMA reset (DMACR.Reset), ``accel_hang`` by CTRL.SOFT_RESET;
        :meth:`reset` clears all.
        """
        if fault not in FAULTS:
            raise InputError(f"unknown fault {fault!r}; known faults: {', '.join(FAULTS)}")
        allowed = _CHANNEL_FAULTS[fault]
        if channel is None:
            channel = allowed[0] if allowed else None
        elif channel not in allowed:
            raise InputError(
                f"fault {fault!r} does not take channel {channel!r}"
                + (f"; use one of {', '.join(allowed)}" if allowed else "; pass no channel")
            )
        code = CHANNELS[channel] if channel is not None else sim_abi.NO_CHANNEL
        rc = self._lib.sim_inject(self._h(), FAULTS[fault], code)
        if rc != sim_abi.Status.OK:
            raise InputError(f"the simulator rejected fault {fault!r} on channel {channel!r}")

    def reset(self) -> None:
        """Hard reset of everything: accelerator (rst), DMA, faults. DDR contents are kept."""
        self._lib.sim_reset(self._h())

    def irq_lines(self) -> dict[str, bool]:
        """Levels of the interrupt outputs: DMA mm2s_introut / s2mm_introut, accelerator irq."""
        v = int(self._lib.sim_irq(self._h()))
        return {name: bool(v >> bit & 1) for name, bit in sim_abi.IRQ_LINES.items()}

    def stats(self) -> dict[str, Any]:
        """cycles, sim_seconds (wall time spent in C++), cycles_per_second, and harness counters."""
        n = len(self._stat_names)
        buf = (ctypes.c_uint64 * n)()
        got = self._lib.sim_stats(self._h(), buf, n)
        raw = dict(zip(self._stat_names[:got], (int(v) for v in buf[:got]), strict=True))
        seconds = raw.pop("sim_ns", 0) / 1e9
        cpu = raw.pop("cpu_ns", 0) / 1e9
        out: dict[str, Any] = {"cycles": raw.pop("cycles"), "sim_seconds": seconds}
        out["cycles_per_second"] = out["cycles"] / seconds if seconds > 0 else 0.0
        out["sim_cpu_seconds"] = cpu  # CPU time of the simulating thread (insensitive to machine load)
        out.update(raw)
        return out

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Destroy the simulator and remove the shared-memory file (idempotent)."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._st.handle

    def __enter__(self) -> SimModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.cycles} cycles"
        return f"SimModel({self.spec.name}, {state})"
