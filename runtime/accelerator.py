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

import dataclasses
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract import epilogue as epi
from accel.contract.lowering import PARAMS_OPERAND, build_program
from accel.contract.program import DriverProgram
from accel.contract.scatter import chainable
from accel.contract.schedule import Schedule, default_schedule
from accel.errors import (
    BackendError,
    BufferFreedError,
    DtypeError,
    InputError,
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
    ``counters`` is what each run reads back from the performance counters: ``"cycles"`` (the
    default, 3 register accesses: a scatter-gather run stays within 16) or ``"all"`` (MACS, BUSY,
    stalls, bytes: 15 accesses); it can be changed later through ``acc.counters``.
    """

    def __init__(self, backend: str = "auto", spec: str | Path | Spec = DEFAULT_SPEC, *, sim: Any = None,
                 bitfile: str | Path | None = None, timeout_s: float = 10.0, download: bool = True,
                 counters: str = "cycles") -> None:
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
        self.counters = counters
        self.last: Any = None
        self._programs: OrderedDict[tuple[Any, ...], DriverProgram] = OrderedDict()
        self._gathers: dict[tuple[Any, ...], bool] = {}  # SG: whether a staged schedule's program is a chain
        self._staging: dict[tuple[str, tuple[int, ...], str], Any] = {}
        self._warned: set[str] = set()
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------ properties
    @property
    def counters(self) -> str:
        """The counter readout of every run: "cycles" or "all" (``accel.runtime.executor.COUNTER_READOUTS``)."""
        return str(self.executor.counters)

    @counters.setter
    def counters(self, value: str) -> None:
        from accel.runtime.executor import COUNTER_READOUTS

        if value not in COUNTER_READOUTS:
            raise InputError(f"counters={value!r} must be one of {', '.join(map(repr, COUNTER_READOUTS))}")
        self.executor.counters = value

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
    def program_for(self, m: int, n: int, k: int, schedule: Schedule | dict[str, Any] | None = None, *,
                    a_dtype: str = "int8", b_dtype: str = "int8", out_dtype: str = "int32") -> DriverProgram:
        """The driver program for an M x K x N matmul (default schedule unless given), cached.

        ``a_dtype``/``b_dtype``/``out_dtype`` pick the u8 input flags and the fused epilogue
        (see :func:`accel.contract.lowering.build_program`)."""
        if schedule is None:
            sched = default_schedule(self.spec, m, n, k)
            plain = (a_dtype, b_dtype, out_dtype) == ("int8", "int8", "int32")
            if self.spec.dma_sg and plain and min(sched.tile_n, n) < n:
                # N split over accumulator windows: a scatter-gather DMA gathers each B window's row
                # segments (and scatters C's) when the program is a chain; the stream then carries
                # only the window instead of whole B rows (accel.contract.scatter)
                gathered = dataclasses.replace(sched, staging=True)
                gkey = tuple(sorted(gathered.to_dict().items()))
                with self._lock:
                    ok = self._gathers.get(gkey)
                    if ok is None:
                        ok = self._gathers[gkey] = chainable(build_program(self.spec, gathered), self.spec.lanes)
                if ok:
                    sched = gathered
        else:
            sched = Schedule(**schedule) if isinstance(schedule, dict) else schedule
            if (sched.m, sched.n, sched.k) != (m, n, k):
                raise ShapeError(
                    f"schedule is for M={sched.m} N={sched.n} K={sched.k} but the operands are M={m} N={n} K={k}"
                )
        dtypes = (a_dtype, b_dtype, out_dtype)
        key = tuple(sorted(sched.to_dict().items())) + ((dtypes,) if dtypes != ("int8", "int8", "int32") else ())
        with self._lock:
            prog = self._programs.get(key)
            if prog is None:
                prog = build_program(self.spec, sched, a_dtype=a_dtype, b_dtype=b_dtype, out_dtype=out_dtype)
                self._programs[key] = prog
                while len(self._programs) > PROGRAM_CACHE:
                    self._programs.popitem(last=False)
            else:
                self._programs.move_to_end(key)
            return prog

    def matmul(self, a: Any, b: Any, out: Any = None, schedule: Schedule | dict[str, Any] | None = None, *,
               bias: Any = None, scale: Any = None, zero_point: int = 0, a_zero_point: int = 0,
               b_zero_point: int = 0, clamp: tuple[int, int] | None = None, out_dtype: Any = np.int32) -> Any:
        """``out = a @ b`` for int8/uint8 ``a`` (M, K) and ``b`` (K, N); result (M, N) ``out_dtype``.

        ``acc = sum_k (a - a_zero_point)(b - b_zero_point) + bias`` (int32, wrapping; ``bias`` one
        int32 per output column). ``out_dtype=np.int32`` returns ``acc``; ``np.int8``/``np.uint8``
        returns ``clamp(round_half_even(float32(acc) * scale) + zero_point, lo, hi)`` computed by the
        fabric's epilogue (DRAIN_Q; ``scale`` float32 per tensor or per column, required;
        ``clamp=(lo, hi)`` in the output's integer domain, default its range): exactly
        onnxruntime's requantization, see :mod:`accel.contract.epilogue`.

        uint8 operands are converted to int8 on the fly by the input path (no CPU pass). Host
        work, counted in ``acc.last.stats["epilogue_host_bytes"]`` (and the packets in
        ``cpu_bytes_copied``): the LOAD_EPI packets (bias + scale per column) written at bind
        time; a column sum of B when ``a_zero_point`` is not 0 in the int8 domain (it is folded
        into the bias; constant weights fold it once at compile time); for int32 output with a
        bias or zero points, the int32 correction pass over C (and a row sum of A when
        ``b_zero_point`` is not 0 in the int8 domain) — the fabric's epilogue does those only on
        the 8-bit path. A per-column ``b_zero_point`` is an InputError (the fabric holds one).

        With CMA operands (``acc.allocate``) the DMA reads ``a``/``b`` and writes ``out`` in
        place: no CPU copies. Returns ``out`` (a new CMA buffer when not given).
        """
        with self._lock:
            return self._matmul(a, b, out, schedule, dict(bias=bias, scale=scale, zero_point=zero_point,
                                                           a_zero_point=a_zero_point, b_zero_point=b_zero_point,
                                                           clamp=clamp, out_dtype=out_dtype))

    def _matmul(self, a: Any, b: Any, out: Any, schedule: Schedule | dict[str, Any] | None,
                epilogue: dict[str, Any]) -> Any:
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
        args = epi.check_args(m, n, k, a_dtype=a.dtype, b_dtype=b.dtype, **epilogue)
        if args.plain:
            program = self.program_for(m, n, k, schedule)
            if out is None:
                out = self.allocate((m, n), np.int32)
            self._call(program, {"a": a, "b": b, "c": out})
            return out
        if not epi.supported(self.spec) and (args.fused or "uint8" in (args.a_dtype, args.b_dtype)):
            raise BackendError(
                f"this overlay's accelerator (version {self.spec.version[0]}.{self.spec.version[1]}, spec "
                f"{self.spec.name!r}) has no fused epilogue or uint8 input path (they need version "
                f"{epi.RTL_VERSION[0]}.{epi.RTL_VERSION[1]}): use int8 operands and int32 output, or an overlay "
                "built from a newer spec"
            )
        program = self.program_for(m, n, k, schedule, a_dtype=args.a_dtype, b_dtype=args.b_dtype,
                                   out_dtype=args.out_dtype)
        if out is None:
            out = self.allocate((m, n), np.dtype(args.out_dtype))
        bias, host_bytes = epi.device_bias(np.asarray(b), args)
        operands = {"a": a, "b": b, "c": out}
        packed = 0
        if args.fused:
            windows = program.epilogue["windows"]
            params = np.zeros(program.operands[PARAMS_OPERAND]["shape"], dtype=np.uint8)
            buf = self._stage(PARAMS_OPERAND, params)
            packed = epi.fill_params(self.spec, windows, buf, bias, args)
            operands[PARAMS_OPERAND] = buf
        result = self._call(program, operands)
        if not args.fused:  # int32: the epilogue's additive terms as a CPU pass over C (counted)
            corr, read = epi.int32_correction(np.asarray(a), bias, args)
            c = np.asarray(out)
            c[...] = (c.astype(np.int64) + corr).astype(np.uint32).astype(np.int32)
            host_bytes += read + 2 * c.nbytes
            if self._is_cma(out):
                out.flush()
        result.cpu_bytes_copied += packed
        result.stats["epilogue_host_bytes"] = host_bytes + packed
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

    def run_many(self, calls: Sequence[tuple[DriverProgram | dict[str, Any] | str | Path, dict[str, Any]]]) -> Any:
        """Run several driver programs back to back as one call; returns one RunResult (``acc.last``).

        ``calls`` is a list of ``(program, {operand name: buffer})``; every operand must be a CMA
        buffer (``acc.allocate``): programs may share buffers, so nothing is staged on their
        behalf. In scatter-gather mode the programs' descriptors form ONE chain pair (one kick,
        one completion wait, the same register accesses as a single run), split only where a
        program reads what an earlier one writes (a new chain pair then starts once that one is
        done: ``RunResult.chains``). Programs that pack/unpack on the CPU are refused in
        scatter-gather mode (run them with :meth:`run`). ``cycles`` covers all programs."""
        with self._lock:
            self._check_open()
            bound: list[tuple[DriverProgram, dict[str, Any]]] = []
            for i, (program, operands) in enumerate(calls):
                prog = self.load_program(program)
                prog.check_spec(self.spec)
                extra = set(operands) - set(prog.operands)
                missing = set(prog.operands) - set(operands)
                if extra or missing:
                    raise ProgramError(
                        f"run_many call {i} (program {prog.name!r}) takes operands {list(prog.operands)}; "
                        + (f"missing {sorted(missing)}" if missing else f"no operand(s) {sorted(extra)}")
                    )
                bufs: dict[str, Any] = {}
                for name, op in prog.operands.items():
                    x = self._check_operand(name, operands[name], tuple(op["shape"]), np.dtype(op["dtype"]))
                    if not self._is_cma(x):
                        raise LayoutError(
                            f"run_many call {i} (program {prog.name!r}): operand {name!r} is not a CMA buffer of this "
                            "Accelerator; allocate it with acc.allocate (run_many copies nothing)"
                        )
                    bufs[name] = x
                self._check_overlap(prog, bufs)
                bound.append((prog, bufs))
            self.last = self.executor.run_many(bound)
            return self.last

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
