"""``Accelerator``: the user-facing runtime (matmul, driver programs, CMA buffers).

::

    from accel.runtime import Accelerator
    with Accelerator(backend="sim", spec="z2_default") as acc:
        a = acc.allocate((M, K), np.int8)      # CMA buffers: the DMA reads them in place
        b = acc.allocate((K, N), np.int8)
        c = acc.matmul(a, b)                   # int32 (M, N) CMA buffer, written in place
        acc.last.cycles, acc.last.mmio_ops     # RunResult of the call

Plain numpy inputs work but are copied into CMA first (counted in ``cpu_bytes_copied``,
warned once): allocate operands with ``acc.allocate`` to avoid the copy.

One ``Accelerator`` may be shared by several threads: calls that touch the hardware (``matmul``,
``run``, ``allocate``, ``recover``, ``close``) are serialized by a lock, as the one DMA engine and
the one accelerator can only run one program at a time.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract.lowering import build_program
from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule, default_schedule
from accel.errors import (
    BackendError,
    BufferFreedError,
    DtypeError,
    LayoutError,
    OverlapError,
    ProgramError,
    ShapeError,
)
from accel.overlays.spec import DEFAULT_SPEC, Spec, load_spec

PROGRAM_CACHE = 32


class CopyWarning(UserWarning):
    """An operand was not in CMA and had to be copied (use ``acc.allocate`` to avoid it)."""


class Accelerator:
    """The matmul overlay on a backend ("sim", "board" or "auto": board if present, else sim).

    ``sim=`` shares an existing ``SimModel`` (tests share one per session); ``timeout_s``
    bounds every hardware wait on the board (the simulator detects hangs by cycles).
    """

    def __init__(self, backend: str = "auto", spec: str | Path | Spec = DEFAULT_SPEC, *, sim: Any = None,
                 bitfile: str | Path | None = None, timeout_s: float = 10.0, download: bool = True) -> None:
        from accel.runtime.backends import get_backend
        from accel.runtime.executor import Executor

        self.spec = load_spec(spec)
        kwargs: dict[str, Any] = {}
        if sim is not None:
            kwargs["sim"] = sim
        if bitfile is not None:
            kwargs["bitfile"] = bitfile
        if backend in ("board", "auto"):
            kwargs["download"] = download
        self._backend = get_backend(backend, self.spec, **kwargs)
        self.executor = Executor(self._backend, timeout_s=timeout_s)
        self.last: Any = None
        self._programs: OrderedDict[tuple[Any, ...], DriverProgram] = OrderedDict()
        self._staging: dict[tuple[str, tuple[int, ...], str], Any] = {}
        self._warned: set[str] = set()
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------ properties
    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def overlay(self) -> Any:
        return self._backend.overlay

    @property
    def dma(self) -> Any:
        """The overlay's stock ``pynq.lib.dma.DMA``."""
        return self._backend.dma

    @property
    def accel(self) -> Any:
        """The overlay's ``AccelDriver``."""
        return self._backend.accel

    @property
    def device(self) -> Any:
        return self._backend.device

    @property
    def sim(self) -> Any:
        return getattr(self._backend, "sim", None)

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("this Accelerator is closed; create a new one")

    # ------------------------------------------------------------ memory
    def allocate(self, shape: int | tuple[int, ...], dtype: Any = np.int8) -> Any:
        """A CMA buffer (``pynq.buffer.PynqBuffer``) the DMA reads and writes in place."""
        dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise ShapeError(f"allocate: shape must be an int or a tuple of ints, not {shape!r}") from None
        if any(d < 0 for d in dims):
            raise ShapeError(f"allocate: shape {dims} has a negative dimension; every dimension must be >= 0")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise DtypeError(f"allocate: {dtype!r} is not a numpy dtype (e.g. np.int8, np.int32)") from None
        with self._lock:
            self._check_open()
            return self._backend.allocate(dims, dt)

    def _is_cma(self, x: Any) -> bool:
        from pynq.buffer import PynqBuffer

        return isinstance(x, PynqBuffer) and x.device is self._backend.device and x.physical_address is not None

    @staticmethod
    def _root(x: Any) -> Any:
        """The allocated PynqBuffer behind ``x`` (numpy collapses a view's base to it)."""
        return x if hasattr(x, "memory") else getattr(x, "base", None)

    @classmethod
    def _is_freed(cls, x: Any) -> bool:
        """True for a CMA buffer (or a view of one) whose memory went back to the allocator.

        PYNQ's ``freebuffer()`` either returns the block (``pointer`` set to 0) or unmaps it
        (``freed`` set): both mean the memory may now belong to another buffer."""
        root = cls._root(x)
        if root is None or not hasattr(root, "memory"):
            return False
        return bool(getattr(root, "freed", False)) or (hasattr(root, "pointer") and not root.pointer)

    @staticmethod
    def _check_overlap(program: DriverProgram, bufs: dict[str, Any]) -> None:
        """Refuse a call in which an output shares CMA with another operand.

        The DMA would write results over data it has yet to read (or into an input the caller
        still holds), which gives a wrong answer with no error: compare physical ranges."""
        spans = {name: (int(b.physical_address), int(b.physical_address) + int(b.nbytes)) for name, b in bufs.items()}
        names = list(spans)
        for i, p in enumerate(names):
            for q in names[i + 1:]:
                roles = {program.operands[p].get("role", "in"), program.operands[q].get("role", "in")}
                if roles == {"in"}:
                    continue  # two inputs may share memory (e.g. acc.matmul(a, a))
                (p0, p1), (q0, q1) = spans[p], spans[q]
                if p0 < q1 and q0 < p1:
                    raise OverlapError(
                        f"operands {p!r} and {q!r} share memory ({p0:#x}..{p1:#x} and {q0:#x}..{q1:#x}) and one of "
                        "them is an output: the DMA would overwrite data it still has to read; pass a separate "
                        "output buffer (out=acc.allocate(...))"
                    )

    def _stage(self, key: str, arr: np.ndarray) -> Any:
        """A cached CMA buffer of the operand's shape/dtype (one per operand name)."""
        k = (key, tuple(arr.shape), arr.dtype.str)
        buf = self._staging.get(k)
        if buf is None:
            old = [kk for kk in self._staging if kk[0] == key]
            for kk in old:
                self._staging.pop(kk).freebuffer()
            buf = self.allocate(arr.shape, arr.dtype)
            self._staging[k] = buf
        return buf

    def _warn_copy(self, name: str, x: np.ndarray) -> None:
        from pynq.buffer import PynqBuffer

        if name not in self._warned:
            self._warned.add(name)
            what = ("a CMA buffer of another Accelerator (another device's memory)" if isinstance(x, PynqBuffer)
                    else "a plain numpy array")
            warnings.warn(
                f"operand {name!r} is {what}: copied into this accelerator's CMA ({x.nbytes} bytes, counted in "
                "cpu_bytes_copied); allocate it with this acc.allocate(shape, dtype) to avoid the copy",
                CopyWarning,
                stacklevel=5,
            )

    # ------------------------------------------------------------ validation
    @classmethod
    def _check_operand(cls, name: str, x: Any, shape: tuple[int, ...] | None, dtype: np.dtype) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise DtypeError(f"operand {name!r} must be a numpy array or acc.allocate buffer, not {type(x).__name__}")
        if cls._is_freed(x):
            raise BufferFreedError(
                f"operand {name!r} is a CMA buffer that was freed (freebuffer() or the end of its `with` block): its "
                "memory may now belong to another buffer; allocate a new one with acc.allocate(shape, dtype)"
            )
        if x.dtype != dtype:
            hint = ("quantize to int8 and convert with x.astype(np.int8)" if dtype == np.int8
                    else f"allocate it with acc.allocate(shape, np.{dtype.name})")
            raise DtypeError(f"operand {name!r} has dtype {x.dtype}, the accelerator needs {dtype.name}: {hint}")
        if shape is not None and tuple(x.shape) != tuple(shape):
            raise ShapeError(f"operand {name!r} has shape {tuple(x.shape)}, expected {tuple(shape)}")
        if not x.flags["C_CONTIGUOUS"]:
            raise LayoutError(
                f"operand {name!r} is not C-contiguous (a transposed or strided view): the DMA reads rows in place; "
                "pass np.ascontiguousarray(x), or copy it into an acc.allocate buffer"
            )
        return x

    # ------------------------------------------------------------ matmul
    def program_for(self, m: int, n: int, k: int, schedule: Schedule | dict[str, Any] | None = None) -> DriverProgram:
        """The driver program for an M x K x N matmul (default schedule unless given), cached."""
        if schedule is None:
            sched = default_schedule(self.spec, m, n, k)
        else:
            sched = Schedule(**schedule) if isinstance(schedule, dict) else schedule
            if (sched.m, sched.n, sched.k) != (m, n, k):
                raise ShapeError(
                    f"schedule is for M={sched.m} N={sched.n} K={sched.k} but the operands are M={m} N={n} K={k}"
                )
        key = tuple(sorted(sched.to_dict().items()))
        with self._lock:
            prog = self._programs.get(key)
            if prog is None:
                prog = build_program(self.spec, sched)
                self._programs[key] = prog
                while len(self._programs) > PROGRAM_CACHE:
                    self._programs.popitem(last=False)
            else:
                self._programs.move_to_end(key)
            return prog

    def matmul(self, a: Any, b: Any, out: Any = None, schedule: Schedule | dict[str, Any] | None = None) -> Any:
        """``out = a @ b`` for int8 ``a`` (M, K) and ``b`` (K, N), int32 result (M, N).

        With CMA operands (``acc.allocate``) the DMA reads ``a``/``b`` and writes ``out`` in
        place: no CPU copies. Returns ``out`` (a new CMA buffer when not given).
        """
        with self._lock:
            return self._matmul(a, b, out, schedule)

    def _matmul(self, a: Any, b: Any, out: Any, schedule: Schedule | dict[str, Any] | None) -> Any:
        self._check_open()
        for name, x in (("a", a), ("b", b)):
            if not isinstance(x, np.ndarray):
                raise DtypeError(
                    f"operand {name!r} must be a numpy array or acc.allocate buffer, not {type(x).__name__}"
                )
            if x.ndim != 2:
                raise ShapeError(f"operand {name!r} must be 2-D (matrix), got shape {tuple(x.shape)}")
        (m, k), (k2, n) = a.shape, b.shape
        if k != k2:
            raise ShapeError(f"A is {m}x{k} but B is {k2}x{n}: inner dimensions must match (A: MxK, B: KxN)")
        program = self.program_for(m, n, k, schedule)
        if out is None:
            out = self.allocate((m, n), np.int32)
        self._call(program, {"a": a, "b": b, "c": out})
        return out

    # ------------------------------------------------------------ programs
    @staticmethod
    def load_program(program: DriverProgram | dict[str, Any] | str | Path) -> DriverProgram:
        """A DriverProgram from an object, a dict, JSON text or a path to a .json file."""
        if isinstance(program, DriverProgram):
            return program
        if isinstance(program, dict):
            return DriverProgram.from_dict(program)
        if isinstance(program, str) and program.lstrip().startswith("{"):
            return DriverProgram.from_json(program)
        path = Path(program)
        if not path.is_file():
            raise ProgramError(f"no driver program file {path}")
        return DriverProgram.from_json(path.read_text())

    def run(self, program: DriverProgram | dict[str, Any] | str | Path, **operands: Any) -> Any:
        """Execute a driver program on named operands; returns (and stores in ``acc.last``) its RunResult."""
        prog = self.load_program(program)
        with self._lock:
            self._check_open()
            return self._call(prog, operands)

    def _call(self, program: DriverProgram, operands: dict[str, Any]) -> Any:
        program.check_spec(self.spec)
        extra = set(operands) - set(program.operands)
        if extra:
            raise ProgramError(
                f"program {program.name!r} has no operand(s) {sorted(extra)}; it takes {list(program.operands)}"
            )
        bufs: dict[str, Any] = {}
        copied = 0
        copy_back: list[tuple[np.ndarray, Any]] = []
        for name, op in program.operands.items():
            if name not in operands:
                raise ProgramError(
                    f"program {program.name!r} needs operand {name!r} ({op['shape']} {op['dtype']}); "
                    f"pass it as acc.run(program, {name}=...)"
                )
            x = self._check_operand(name, operands[name], tuple(op["shape"]), np.dtype(op["dtype"]))
            role = op.get("role", "in")
            if self._is_cma(x):
                bufs[name] = x
                continue
            staged = self._stage(name, x)
            if role in ("in", "inout"):
                staged[...] = x
                copied += x.nbytes
            if role in ("out", "inout"):
                copy_back.append((x, staged))
            self._warn_copy(name, x)
            bufs[name] = staged
        self._check_overlap(program, bufs)
        result = self.executor.run(program, bufs, extra_cpu_bytes=copied)
        for dst, staged in copy_back:
            dst[...] = staged
            result.cpu_bytes_copied += dst.nbytes
        self.last = result
        return result

    # ------------------------------------------------------------ lifetime
    def info(self) -> dict[str, Any]:
        s = self.spec
        return {
            **self._backend.info(),
            "spec": s.name,
            "spec_hash": s.hash,
            "rows": s.rows,
            "lanes": s.lanes,
            "kmax": s.kmax,
            "nmax": s.nmax,
            "dma_max_bytes": self.executor.max_bytes,
        }

    def close(self) -> None:
        """Free cached buffers and close the backend (a shared ``sim=`` model stays open)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for buf in self._staging.values():
                buf.freebuffer()
            self._staging.clear()
            self.executor.release()
            self._backend.close()

    def __enter__(self) -> Accelerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Accelerator(backend={self.backend!r}, spec={self.spec.name!r})"
