"""Execute a ``DriverProgram`` on an overlay: stock ``pynq.lib.dma.DMA`` + ``AccelDriver``.

The two-queue event loop (see ``accel.contract.program``): S2MM is kept armed with the next
drain whenever it is idle, MM2S is fed the packets in order, and the loop waits on the
channel that can complete next. Which one that is follows from the program itself: drain
``d`` can only complete once every MM2S packet up to the last data packet before its DRAIN
instruction (``need[d]``) has been consumed, so the loop waits on S2MM exactly when that
packet has completed and on MM2S otherwise. On the simulator a DMASR read runs the clock
until the channel it reads is done, so a clean run costs exactly one status read per
transfer and no cycles are lost to waiting on the wrong channel.

Host work per call is O(transfers) = O(panels): one ``transfer()`` of the stock channel per
packet (given a tiny region object so the stock driver flushes nothing per transfer), one
status poll per completion; inputs are flushed once per call and outputs invalidated once.
Every wait has a timeout (``DeviceTimeoutError`` naming the channel, the bytes and what to
check); DMA error bits raise ``DMAError``, accelerator STATUS.ERROR raises
``AcceleratorError`` with the spec's error name; after any fault the accelerator is
soft-reset and the DMA reset and restarted so the next call works. The stock
``DMA.wait()`` is never called: it polls without a timeout.

Scatter-gather mode (the ``.hwh`` says ``c_include_sg=1``; :mod:`accel.runtime.sgdma`): a
zero-copy program runs as ONE descriptor chain pair, built and checked once per (program,
buffer binding) in CMA and cached: a run clears the descriptors' STATUS words (memory),
writes TAILDESC per channel and polls S2MM's DMASR until the chain is done, then checks every
descriptor's STATUS (Cmplt, bytes, RXEOF, error bits). Register accesses per run do not
depend on the program's size. Programs that stage data between transfers (pack/unpack) run
the two-queue loop above through a one-descriptor ring per channel.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from accel.contract.program import DriverProgram
from accel.contract.scatter import chainable, gathers, mm2s_segments, s2mm_segments, scatters
from accel.contract.walker import drain_needs, walk
from accel.errors import (
    AccelError,
    DeviceTimeoutError,
    DMAError,
    HardwareError,
    LayoutError,
    ProgramError,
    TransferTooLargeError,
)

# DMASR error bits (names as in PG021); offsets and bit positions come from the spec's [dma.*].
# The SG bits are only ever set by a DMA built with scatter-gather.
DMASR_ERRORS = {"INTERR": "DMAIntErr", "SLVERR": "DMASlvErr", "DECERR": "DMADecErr",
                "SGINTERR": "SGIntErr", "SGSLVERR": "SGSlvErr", "SGDECERR": "SGDecErr"}
_ERR_HINT = {
    "SGIntErr": "a fetched descriptor was already completed (its STATUS was not cleared, or the chain loops)",
    "SGSlvErr": "a descriptor fetch or STATUS update failed (SLVERR): is the descriptor memory CMA?",
    "SGDecErr": "a descriptor pointer (CURDESC/NXTDESC) points at no memory: the chain is corrupt",
    "DMAIntErr": "internal error: a zero or over-long LENGTH, or a stream that ended early/late",
    "DMASlvErr": "the memory (HP port / DDR controller) answered SLVERR: is the buffer in CMA and the PS port on?",
    "DMADecErr": "no memory at the buffer's physical address: pass pynq.allocate / acc.allocate buffers",
}

CMD_CACHE_SIZE = 16
# What a run reads back from the accelerator's counters (one SNAPSHOT, then two reads per 64-bit
# counter): "cycles" (the default: CYCLES only, 3 register accesses, so a scatter-gather run stays
# within 16) or "all" (every counter the spec defines: MACS, BUSY, stalls, bytes; 1 + 2 x 7 accesses).
COUNTER_READOUTS = ("cycles", "all")
CHAIN_CACHE_SIZE = 16  # descriptor chain pairs kept per executor (one per program x buffer binding)
STALL_POLLS = 3  # simulator: consecutive DMASR reads that ran a whole deadlock window without movement


class _Poll:
    """The bookkeeping of one hardware wait, shared by the simple-mode loop and the SG wait.

    A poll that saw no progress counts as a spin: the accelerator's STATUS.ERROR is checked on
    every spin on the simulator (each DMASR read already ran a deadlock window) and every 256th
    on the board; the wait gives up after ``STALL_POLLS`` fruitless windows (simulator) or
    ``timeout_s`` of wall clock without progress (board), and a long spin on the board yields the
    CPU (50 µs naps)."""

    def __init__(self, accel: Any, blocking: bool, timeout_s: float) -> None:
        self.accel, self.blocking, self.timeout_s = accel, blocking, timeout_s
        self.spins = self.stalls = 0
        self.deadline = time.monotonic() + timeout_s

    def progressed(self) -> None:
        self.spins = self.stalls = 0
        self.deadline = time.monotonic() + self.timeout_s

    def stalled(self) -> bool:
        """Account one fruitless poll; True when the wait has timed out (raises an accelerator error)."""
        self.spins += 1
        if self.blocking or self.spins % 256 == 0:
            err = self.accel.error_from_status(self.accel.status_word())
            if err is not None:
                raise err
        self.stalls += 1
        return (self.blocking and self.stalls >= STALL_POLLS) or time.monotonic() > self.deadline

    def nap(self) -> None:
        if not self.blocking and self.spins > 1000:
            time.sleep(50e-6)


@dataclass
class RunResult:
    """What one call did, from the hardware's counters and the runtime's own counts."""

    name: str
    backend: str
    spec: str
    shape: dict[str, list[int]]
    cycles: int  # accelerator CYCLES counter (cleared at call start)
    counters: dict[str, int]
    cpu_bytes_copied: int  # operand bytes the CPU copied (numpy -> CMA, staging pack/unpack, CMA -> numpy)
    ddr_bytes: int  # bytes the DMA moved (MM2S + S2MM)
    mmio_ops: int  # register reads + writes, the stock DMA driver's included
    dma_transfers: int  # packets moved (MM2S + S2MM)
    wall_s: float
    sim_cycles: int | None = None  # harness cycles of the call (simulator only)
    flush_bytes: int = 0
    invalidate_bytes: int = 0
    cmd_bytes_written: int = 0  # instruction words written into the (cached) command buffer
    panels: int | None = None
    tiles: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    dma_mode: str = "simple"  # "sg": descriptor chains; "simple": one driver call per packet
    driver_calls: int = 0  # DMA driver calls that started work (simple: transfer(); sg: TAILDESC kicks)
    run_mmio_ops: int = 0  # register accesses that ran the program (mmio_ops without the counter readout)
    descriptors: int = 0  # scatter-gather descriptors the run processed
    programs: int = 1  # driver programs the call ran (Executor.run_many: several, back to back)
    chains: int = 0  # scatter-gather kicks (chain pairs started); 0 in simple mode

    @property
    def macs(self) -> int:
        return int(self.counters.get("MACS", 0))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["macs"] = self.macs
        return out


class _Region:
    """What the stock ``_SDMAChannel.transfer`` needs of an array, without per-transfer cache work.

    The stock driver flushes the *whole* array on every MM2S transfer (and ``wait()``
    invalidates it); the executor does cache maintenance once per call instead, so the
    region's ``flush``/``invalidate`` do nothing.
    """

    __slots__ = ("nbytes", "physical_address")

    def __init__(self, physical_address: int, nbytes: int) -> None:
        self.physical_address = physical_address
        self.nbytes = nbytes

    def flush(self) -> None:
        pass

    def invalidate(self) -> None:
        pass


@dataclass
class _Plan:
    """Per-program facts computed once: which MM2S packet each drain waits for."""

    need: list[int]
    mm2s_bufs: set[str]
    s2mm_bufs: set[str]
    in_operands: list[str]
    dma_targets: list[str]
    staged: bool = False  # some transfer packs/unpacks on the CPU between transfers
    key: int = 0
    chainable: bool = True  # scatter-gather: the whole program is one chain pair (accel.contract.scatter)
    scatter_targets: list[str] = field(default_factory=list)  # operands SG descriptors write (unpacks scattered)
    gather_sources: list[str] = field(default_factory=list)  # operands SG descriptors read (packs gathered)


@dataclass
class _Job:
    """One descriptor chain pair: the packets of one program, or of several run back to back.

    ``mm2s``/``s2mm`` are the program entries (buffer label, offset, bytes, -) for messages,
    ``*_segs`` the descriptors (physical address, bytes, SOF, EOF); ``key`` identifies the
    programs and their buffer binding (the chain cache key)."""

    key: Any
    mm2s: list[list[Any]] = field(default_factory=list)
    s2mm: list[list[Any]] = field(default_factory=list)
    mm2s_segs: list[tuple[int, int, bool, bool]] = field(default_factory=list)
    s2mm_segs: list[tuple[int, int, bool, bool]] = field(default_factory=list)


def plan_program(program: DriverProgram, spec: Any, max_bytes: int | None = None) -> _Plan:
    """Check transfer sizes and walk the packets as the sequencer will (``accel.contract.walker``: the
    protocol, the drain count); ``need[d]`` is the last MM2S packet before drain d's DRAIN."""
    program.validate()  # the whole schema and data flow, before any byte moves
    limit = spec.dma_max_bytes if max_bytes is None else min(max_bytes, spec.dma_max_bytes)
    for chan, entries in (("MM2S", program.mm2s), ("S2MM", program.s2mm)):
        for i, (buf, _off, nbytes, _op) in enumerate(entries):
            if nbytes > limit:
                raise TransferTooLargeError(
                    f"{chan} transfer {i} of {nbytes} bytes from {buf!r} exceeds the DMA LENGTH register "
                    f"(the overlay's DMA takes at most {limit} bytes per transfer: spec dma.length_width="
                    f"{spec.dma_length_width}, .hwh c_sg_length_width); rebuild the program with a smaller "
                    "tile_m/tile_k/tile_n, or build the overlay with c_sg_length_width=26"
                )
    need = drain_needs(walk(spec, program))
    ops = program.operands
    return _Plan(
        need=need,
        mm2s_bufs={e[0] for e in program.mm2s},
        s2mm_bufs={e[0] for e in program.s2mm},
        in_operands=[n for n, o in ops.items() if o.get("role") in ("in", "inout")],
        dma_targets=sorted({e[0] for e in program.s2mm if e[0] in ops}),
        staged=any(e[3] for e in (*program.mm2s, *program.s2mm)),
        chainable=chainable(program, spec.lanes),
        scatter_targets=sorted({e[3]["dst"] for e in program.s2mm if scatters(program, e)}),
        gather_sources=sorted({e[3]["src"] for e in program.mm2s if gathers(program, e, spec.lanes)}),
    )


class Executor:
    """Runs driver programs on one backend (overlay DMA + accelerator driver + allocator)."""

    def __init__(self, backend: Any, *, timeout_s: float = 10.0) -> None:
        self.backend = backend
        self.spec = backend.spec
        self.dma = backend.dma
        self.accel = backend.accel
        self.timeout_s = float(timeout_s)
        self._cmd_cache: OrderedDict[str, Any] = OrderedDict()
        self._scratch: dict[str, Any] = {}
        self._plans: OrderedDict[int, _Plan] = OrderedDict()
        self.sg = bool(getattr(self.dma, "sg", False))
        self._chains: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()
        self._bound: Any = None  # key of the chain pair the DMA's channels run (None: reset state)
        self._pinned: set[str] = set()  # command buffers a run_many call still needs (not evicted)
        self.counters = "cycles"  # what a run reads back: see COUNTER_READOUTS
        if self.sg:  # a known state: both channels halted, descriptor pointers 0
            self._reset_dma()

    @property
    def max_bytes(self) -> int:
        """Longest transfer: the spec's LENGTH width and the .hwh's ``c_sg_length_width`` (stock DMA)."""
        return min(int(getattr(self.dma, "buffer_max_size", self.spec.dma_max_bytes)), self.spec.dma_max_bytes)

    # ------------------------------------------------------------ buffers
    def _plan(self, program: DriverProgram) -> _Plan:
        """The program's plan, validated once per content: the key covers everything a plan and
        its validation depend on, so a program object edited after a run is checked again."""
        key = hash((repr(program.operands), repr(program.scratch), repr(program.mm2s), repr(program.s2mm),
                    self.max_bytes))
        hit = self._plans.get(key)
        if hit is not None:
            self._plans.move_to_end(key)
            return hit
        plan = plan_program(program, self.spec, self.max_bytes)
        plan.key = key
        self._plans[key] = plan
        while len(self._plans) > 64:
            self._plans.popitem(last=False)
        return plan

    def _cmd_buffer(self, program: DriverProgram) -> tuple[Any, int]:
        """The command buffer for a program: filled and flushed once, then reused (LRU)."""
        init = program.scratch["cmd"]["init"]
        key = hashlib.sha256(init.encode()).hexdigest()
        buf = self._cmd_cache.get(key)
        if buf is not None:
            self._cmd_cache.move_to_end(key)
            return buf, 0
        words = base64.b64decode(init)
        buf = self.backend.allocate((max(1, len(words)),), np.uint8)
        buf[: len(words)] = np.frombuffer(words, np.uint8)
        buf.flush()
        self._cmd_cache[key] = buf
        evictable = [k for k in self._cmd_cache if k not in self._pinned and k != key]
        for old_key in evictable[: max(0, len(self._cmd_cache) - CMD_CACHE_SIZE)]:
            self._cmd_cache.pop(old_key).freebuffer()
        return buf, len(words)

    def _scratch_buffer(self, name: str, nbytes: int) -> Any:
        buf = self._scratch.get(name)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                buf.freebuffer()
            buf = self.backend.allocate((nbytes,), np.uint8)
            self._scratch[name] = buf
        return buf

    def release(self) -> None:
        """Free cached command and scratch buffers."""
        for buf in list(self._cmd_cache.values()) + list(self._scratch.values()):
            buf.freebuffer()
        self._cmd_cache.clear()
        self._scratch.clear()
        self._drop_chains()

    def _drop_chains(self) -> None:
        for pair in self._chains.values():
            for chain in pair:
                chain.free()
        self._chains.clear()
        self._bound = None

    # ------------------------------------------------------------ DMA helpers
    def _dmasr(self, chan: str) -> int:
        return int(self.dma.read(self.spec.dma.offset(chan, "DMASR")))

    def _dma_error(self, chan: str, sr: int, entry: list[Any]) -> DMAError:
        bits = [name for bit, name in DMASR_ERRORS.items() if sr & self.spec.dma.dmasr(bit)]
        hints = "; ".join(_ERR_HINT[b] for b in bits)
        return DMAError(
            f"AXI DMA {chan.upper()} reported {'+'.join(bits)} (DMASR={sr:#06x}) on the transfer of {entry[2]} bytes "
            f"at offset {entry[1]} of buffer {entry[0]!r}: {hints}; the runtime reset the DMA and the accelerator"
        )

    def recover(self) -> None:
        """After a fault: reset the DMA core (DMACR.Reset), soft-reset the accelerator, restart both channels.

        The cached command buffers are dropped too: they are refilled from the programs' own
        instruction words on the next run, so nothing a failed run did to CMA outlives it."""
        for buf in self._cmd_cache.values():
            buf.freebuffer()
        self._cmd_cache.clear()
        self._drop_chains()  # the command buffers' addresses change: rebuild the descriptors too
        self._reset_dma()  # resets both channels (PG021)
        deadline = time.monotonic() + self.timeout_s
        dmap = self.spec.dma
        self.accel.soft_reset()
        if self.sg:  # channels stay halted until a chain is bound (CURDESC is written while halted)
            self._check_accel_after_reset()
            return
        for name, chan in (("mm2s", self.dma.sendchannel), ("s2mm", self.dma.recvchannel)):
            self.dma.write(dmap.offset(name, "DMACR"), dmap.dmacr("RS"))
            while self._dmasr(name) & dmap.dmasr("HALTED"):
                if time.monotonic() > deadline:
                    raise DeviceTimeoutError(
                        f"the AXI DMA {name.upper()} channel does not start after a reset (DMASR.Halted stays set); "
                        "reload the overlay"
                    )
            chan.start()  # stock: writes DMACR.RS again, sees it running, re-arms its first-transfer state
        self._check_accel_after_reset()

    def _check_accel_after_reset(self) -> None:
        word = self.accel.status_word()
        err = self.accel.error_from_status(word)
        if err is not None:
            raise HardwareError(f"the accelerator still reports an error after SOFT_RESET ({err}); reload the overlay")

    # ------------------------------------------------------------ run
    def _bind(self, program: DriverProgram, operands: dict[str, Any]) -> tuple[_Plan, dict[str, Any],
                                                                              dict[str, _Region], int]:
        """The program's plan, its buffers (operands, command buffer, scratch) and their DMA regions."""
        program.check_spec(self.spec)
        plan = self._plan(program)
        bufs: dict[str, Any] = {}
        for name, op in program.operands.items():
            if name not in operands:
                raise ProgramError(f"program {program.name!r} needs operand {name!r} ({op['shape']} {op['dtype']})")
            bufs[name] = operands[name]
        cmd_buf, cmd_written = self._cmd_buffer(program)
        bufs["cmd"] = cmd_buf
        for sname, s in program.scratch.items():
            if sname != "cmd":
                bufs[sname] = self._scratch_buffer(sname, int(s["bytes"]))
        for name in plan.mm2s_bufs | plan.s2mm_bufs:
            b = bufs[name]
            if not hasattr(b, "physical_address") or not b.flags["C_CONTIGUOUS"]:
                raise LayoutError(f"buffer {name!r} must be a C-contiguous CMA buffer (acc.allocate / pynq.allocate)")
        regions = {
            n: _Region(int(bufs[n].physical_address), int(bufs[n].nbytes)) for n in plan.mm2s_bufs | plan.s2mm_bufs
        }
        return plan, bufs, regions, cmd_written

    def _readout(self) -> tuple[str, ...] | None:
        if self.counters not in COUNTER_READOUTS:
            raise ValueError(f"counters={self.counters!r} must be one of {', '.join(COUNTER_READOUTS)}")
        return ("CYCLES",) if self.counters == "cycles" else None

    def _chained(self, plan: _Plan) -> bool:
        """Whether this run is one descriptor chain pair (scatter-gather mode, nothing staged on the CPU)."""
        return self.sg and plan.chainable

    def _targets(self, plan: _Plan) -> list[str]:
        """Operands the DMA writes: the program's S2MM operands, plus, in a chain, its scattered unpacks."""
        return plan.dma_targets + (plan.scatter_targets if self._chained(plan) else [])

    def _flush_operands(self, program: DriverProgram, plan: _Plan, bufs: dict[str, Any],
                        counts: dict[str, int]) -> None:
        gathered = plan.gather_sources if self._chained(plan) else []
        for name in sorted(plan.mm2s_bufs | set(gathered)):  # inputs: one cache clean per call
            if name in program.operands:
                bufs[name].flush()
                counts["flush"] += bufs[name].nbytes
        for name in self._targets(plan):  # outputs: clean before the DMA writes them
            bufs[name].flush()
            counts["flush"] += bufs[name].nbytes

    def _finish(self, mmio0: int) -> tuple[int, dict[str, int]]:
        """After the transfers: the accelerator's error check, then the counter readout."""
        word = self.accel.status_word()
        err = self.accel.error_from_status(word)
        if err is not None:
            raise err
        run_mmio = self.backend.mmio_ops() - mmio0
        return run_mmio, self.accel.read_counters(self._readout())

    def _recover_from(self, exc: BaseException) -> None:
        """After any failure inside a run: reset everything, then re-raise (typed)."""
        try:
            self.recover()
        except AccelError as rec:
            raise rec from exc
        if isinstance(exc, (RuntimeError, ValueError)) and not isinstance(exc, AccelError):
            # the stock driver's own checks (channel not started/idle, size): typed, with context
            raise DMAError(f"the PYNQ DMA driver refused a transfer: {exc}; the runtime reset the DMA") from exc
        raise exc

    def run(self, program: DriverProgram, operands: dict[str, Any], *, extra_cpu_bytes: int = 0) -> RunResult:
        """Execute ``program`` on CMA ``operands`` (name -> PynqBuffer); returns a RunResult."""
        self._readout()
        program.check_spec(self.spec)
        self._plan(program)
        t0 = time.perf_counter()
        mmio0 = self.backend.mmio_ops()
        sim0 = self.backend.sim_cycles()
        plan, bufs, regions, cmd_written = self._bind(program, operands)
        counts = {"flush": 0, "invalidate": 0, "cpu": int(extra_cpu_bytes), "ddr": 0, "calls": 0, "desc": 0,
                  "chains": 0}

        try:
            self.accel.clear_counters()
            self._flush_operands(program, plan, bufs, counts)
            if self._chained(plan):
                self._run_chains(self._job([(program, plan, bufs)]), counts)
            else:
                if self.sg:
                    self._bind_single()
                self._loop(program, plan, bufs, regions, counts)
            for name in self._targets(plan):  # outputs: one invalidate per call
                bufs[name].invalidate()
                counts["invalidate"] += bufs[name].nbytes
            run_mmio, counters = self._finish(mmio0)
        except BaseException as exc:
            self._recover_from(exc)
            raise  # not reached: _recover_from always raises

        wall = time.perf_counter() - t0
        sim1 = self.backend.sim_cycles()
        op = program.operands
        return RunResult(
            name=program.name,
            backend=self.backend.name,
            spec=self.spec.name,
            shape={n: list(o["shape"]) for n, o in op.items()},
            cycles=counters["CYCLES"],
            counters=counters,
            cpu_bytes_copied=counts["cpu"],
            ddr_bytes=counts["ddr"],
            mmio_ops=self.backend.mmio_ops() - mmio0,
            dma_transfers=len(program.mm2s) + len(program.s2mm),
            wall_s=wall,
            sim_cycles=None if sim0 is None or sim1 is None else sim1 - sim0,
            flush_bytes=counts["flush"],
            invalidate_bytes=counts["invalidate"],
            cmd_bytes_written=cmd_written,
            panels=program.stats.get("panels"),
            tiles=program.stats.get("tiles"),
            stats=dict(program.stats),
            dma_mode="sg" if self.sg else "simple",
            driver_calls=counts["calls"],
            run_mmio_ops=run_mmio,
            descriptors=counts["desc"],
            chains=counts["chains"],
        )

    def run_many(self, calls: Sequence[tuple[DriverProgram, dict[str, Any]]]) -> RunResult:
        """Run several programs back to back as ONE call: one counter clear, one readout.

        Scatter-gather mode: the programs' MM2S descriptors and S2MM descriptors are concatenated
        into one chain pair (built once per list of programs and buffer binding, cached), started
        with one kick per channel and one completion wait, so the register accesses do not depend
        on how many programs run. A program that reads (MM2S) a buffer an earlier program of the
        chain writes (S2MM) starts a new chain pair after the earlier one completed: the DMA does
        not order one channel's writes before the other channel's reads. Simple mode runs each
        program's two-queue loop in turn. Programs that stage data on the CPU (pack/unpack) are
        refused in scatter-gather mode: run them with :meth:`run`."""
        if not calls:
            raise ProgramError("run_many needs at least one (program, operands) pair")
        self._readout()
        t0 = time.perf_counter()
        mmio0 = self.backend.mmio_ops()
        sim0 = self.backend.sim_cycles()
        bound: list[tuple[DriverProgram, _Plan, dict[str, Any], dict[str, _Region]]] = []
        cmd_written = 0
        self._pinned = set()
        try:
            for program, operands in calls:
                plan, bufs, regions, written = self._bind(program, operands)
                self._pinned.add(hashlib.sha256(program.scratch["cmd"]["init"].encode()).hexdigest())
                if self.sg and not plan.chainable:
                    raise ProgramError(
                        f"program {program.name!r} stages data on the CPU between transfers (pack/unpack): it "
                        "cannot be part of a descriptor chain; run it on its own with run()"
                    )
                scratch = set(program.scratch) - {"cmd"}
                if scratch and any(set(p.scratch) & scratch for p, *_ in bound):
                    raise ProgramError(f"programs of one run_many call share scratch buffer(s) {sorted(scratch)}: "
                                       "run them one by one")
                bound.append((program, plan, bufs, regions))
                cmd_written += written
        finally:
            self._pinned = set()
        counts = {"flush": 0, "invalidate": 0, "cpu": 0, "ddr": 0, "calls": 0, "desc": 0, "chains": 0}
        try:
            self.accel.clear_counters()
            for program, plan, bufs, _ in bound:
                self._flush_operands(program, plan, bufs, counts)
            if self.sg:
                for group in self._hazard_groups(bound):
                    self._run_chains(self._job([(p, pl, b) for p, pl, b, _ in group]), counts)
            else:
                for program, plan, bufs, regions in bound:
                    self._loop(program, plan, bufs, regions, counts)
            for _, plan, bufs, _ in bound:
                for name in self._targets(plan):
                    bufs[name].invalidate()
                    counts["invalidate"] += bufs[name].nbytes
            run_mmio, counters = self._finish(mmio0)
        except BaseException as exc:
            self._recover_from(exc)
            raise  # not reached
        sim1 = self.backend.sim_cycles()
        stats: dict[str, Any] = {"programs": len(bound)}
        for key in ("macs", "dma_bytes_in", "dma_bytes_out", "instructions", "tiles", "panels"):
            stats[key] = sum(int(p.stats.get(key, 0) or 0) for p, *_ in bound)
        return RunResult(
            name="+".join(p.name for p, *_ in bound),
            backend=self.backend.name,
            spec=self.spec.name,
            shape={f"{i}.{n}": list(o["shape"]) for i, (p, *_) in enumerate(bound) for n, o in p.operands.items()},
            cycles=counters["CYCLES"],
            counters=counters,
            cpu_bytes_copied=counts["cpu"],
            ddr_bytes=counts["ddr"],
            mmio_ops=self.backend.mmio_ops() - mmio0,
            dma_transfers=sum(len(p.mm2s) + len(p.s2mm) for p, *_ in bound),
            wall_s=time.perf_counter() - t0,
            sim_cycles=None if sim0 is None or sim1 is None else sim1 - sim0,
            flush_bytes=counts["flush"],
            invalidate_bytes=counts["invalidate"],
            cmd_bytes_written=cmd_written,
            panels=stats["panels"],
            tiles=stats["tiles"],
            stats=stats,
            dma_mode="sg" if self.sg else "simple",
            driver_calls=counts["calls"],
            run_mmio_ops=run_mmio,
            descriptors=counts["desc"],
            programs=len(bound),
            chains=counts["chains"],
        )

    @staticmethod
    def _hazard_groups(bound: list[Any]) -> list[list[Any]]:
        """Split a program list where a program reads memory an earlier one of its group writes."""
        def spans(entries: list[list[Any]], regions: dict[str, _Region]) -> list[tuple[int, int]]:
            """Per buffer, the physical span [first byte, last byte + 1) the entries touch."""
            out: dict[str, tuple[int, int]] = {}
            for b, off, n, _ in entries:
                lo, hi = out.get(b, (off, off + n))
                out[b] = (min(lo, off), max(hi, off + n))
            return [(regions[b].physical_address + lo, regions[b].physical_address + hi) for b, (lo, hi) in out.items()]

        groups: list[list[Any]] = []
        written: list[tuple[int, int]] = []
        for item in bound:
            program, _plan, _bufs, regions = item
            reads = spans(program.mm2s, regions)
            clash = any(r0 < w1 and w0 < r1 for r0, r1 in reads for w0, w1 in written)
            if not groups or clash:
                groups.append([])
                written = []
            groups[-1].append(item)
            written += spans(program.s2mm, regions)
        return groups

    # ------------------------------------------------------------ scatter-gather
    def _reset_dma(self) -> None:
        """DMACR.Reset (resets both channels, PG021) and wait for it to clear, with the timeout."""
        deadline = time.monotonic() + self.timeout_s
        dmacr, reset = self.spec.dma.offset("mm2s", "DMACR"), self.spec.dma.dmacr("RESET")
        self.dma.write(dmacr, reset)
        while self.dma.read(dmacr) & reset:
            if time.monotonic() > deadline:
                raise DeviceTimeoutError(
                    "the AXI DMA did not leave reset (DMACR.Reset stays set): its clock or reset is not running; "
                    "reload the overlay (pynq.Overlay(...).download()) or power-cycle the board"
                )
        for chan in (self.dma.sendchannel, self.dma.recvchannel) if self.sg else ():
            chan.after_reset()

    def _bind_pair(self, key: Any, mm2s: Any, s2mm: Any) -> None:
        """Make the two channels start at these rings' first descriptors: RS=0, CURDESC, RS=1 (PG021).

        Done on every run, so a run's register accesses (and cycles) do not depend on which program
        ran before. Between runs both channels are idle (a run ends only when both chains are done;
        any fault goes through :meth:`recover`), and PG021 halts an idle channel at once on RS=0."""
        self._bound = None
        for chan, chain in ((self.dma.recvchannel, s2mm), (self.dma.sendchannel, mm2s)):
            chan.halt()
            chan.bind(chain)
        self._bound = key

    def _bind_single(self) -> None:
        """Per-transfer mode: each channel runs a one-descriptor ring rewritten for every packet."""
        from accel.runtime.sgdma import DescriptorChain

        send, recv = self.dma.sendchannel, self.dma.recvchannel
        if send.single is None or recv.single is None:
            base = self.spec.ddr_base  # placeholder segment, rewritten by every transfer
            send.single = DescriptorChain(self.spec, self.backend.allocate, [(base, 1, True, True)])
            recv.single = DescriptorChain(self.spec, self.backend.allocate, [(base, 1, True, True)])
        self._bind_pair("single", send.single, recv.single)

    def _job(self, items: list[tuple[DriverProgram, _Plan, dict[str, Any]]]) -> _Job:
        """The descriptor chain pair of one program, or of several concatenated in order."""
        keys = []
        job = _Job(key=None)
        for i, (program, plan, bufs) in enumerate(items):
            names = sorted(plan.mm2s_bufs | plan.s2mm_bufs | set(plan.scatter_targets) | set(plan.gather_sources))
            keys.append((plan.key, tuple((n, int(bufs[n].physical_address), int(bufs[n].nbytes)) for n in names)))
            phys = {n: int(bufs[n].physical_address) for n in names}
            label = (lambda b: b) if len(items) == 1 else (lambda b, i=i, p=program: f"{p.name}#{i}:{b}")
            for entry in program.mm2s:  # a gathered pack: one descriptor per row segment, EOF (TLAST) on the last
                parts = mm2s_segments(program, entry, self.spec.lanes)
                job.mm2s += [[label(b), off, n, None] for b, off, n in parts]
                job.mm2s_segs += [(phys[b] + off, n, j == 0, j == len(parts) - 1)
                                  for j, (b, off, n) in enumerate(parts)]
            for entry in program.s2mm:  # a scattered unpack: one descriptor per row segment, EOF on the last
                parts = s2mm_segments(program, entry)
                job.s2mm += [[label(b), off, n, None] for b, off, n in parts]
                job.s2mm_segs += [(phys[b] + off, n, j == 0, j == len(parts) - 1)
                                  for j, (b, off, n) in enumerate(parts)]
        job.key = keys[0] if len(keys) == 1 else ("many", tuple(keys))
        return job

    def _chain_pair(self, job: _Job) -> tuple[Any, Any]:
        """The job's (MM2S, S2MM) rings: built once per programs x buffer binding, then cached."""
        from accel.runtime.sgdma import DescriptorChain

        pair = self._chains.get(job.key)
        if pair is not None:
            self._chains.move_to_end(job.key)
            return pair
        pair = (DescriptorChain(self.spec, self.backend.allocate, job.mm2s_segs),
                DescriptorChain(self.spec, self.backend.allocate, job.s2mm_segs))
        self._chains[job.key] = pair
        while len(self._chains) > CHAIN_CACHE_SIZE:
            old_key, old = self._chains.popitem(last=False)
            if old_key == self._bound:
                self._bound = None
            for chain in old:
                chain.free()
        return pair

    def _run_chains(self, job: _Job, counts: dict[str, int]) -> None:
        """One kick per channel, one completion wait, then every descriptor's STATUS checked."""
        mm2s, s2mm = self._chain_pair(job)
        self._bind_pair(job.key, mm2s, s2mm)
        counts["flush"] += mm2s.rearm() + s2mm.rearm()
        self.dma.recvchannel.kick(s2mm.tail)  # S2MM first: its descriptors are ready before any drain
        self.dma.sendchannel.kick(mm2s.tail)
        counts["calls"] += 2
        counts["chains"] += 1
        dmap = self.spec.dma
        idle = dmap.dmasr("IDLE")
        err_mask = sum(dmap.dmasr(bit) for bit in DMASR_ERRORS)
        blocking = self.backend.blocking_polls
        poll = _Poll(self.accel, blocking, self.timeout_s)
        mm_idle = False
        while True:
            sr = self.dma.recvchannel.dmasr()
            if sr & err_mask:
                raise self._chain_error("s2mm", sr, job.s2mm, s2mm)
            if sr & idle:
                break
            srm = self.dma.sendchannel.dmasr()
            if srm & err_mask:
                raise self._chain_error("mm2s", srm, job.mm2s, mm2s)
            if srm & idle and not mm_idle:  # MM2S finished: S2MM is the one left, no stall yet
                mm_idle = True
                continue
            if poll.stalled():
                # an output the accelerator cannot hand over (drain engine busy) blocks its input too
                draining = self.accel.decode_status(self.accel.status_word()).get("DRAIN_BUSY", False)
                chan = "s2mm" if mm_idle or draining else "mm2s"
                raise self._chain_timeout(chan, sr if mm_idle else srm, job.mm2s if chan == "mm2s" else job.s2mm,
                                          mm2s if chan == "mm2s" else s2mm, blocking)
            poll.nap()
        self._check_statuses(job, mm2s, s2mm, counts)

    def _check_statuses(self, job: _Job, mm2s: Any, s2mm: Any, counts: dict[str, int]) -> None:
        """Every descriptor completed, moved its bytes and (S2MM) ended its packet: else DMAError."""
        dmap = self.spec.dma
        length = self.spec.dma_max_bytes
        errs = dmap.status("DMAINTERR") | dmap.status("DMASLVERR") | dmap.status("DMADECERR")
        for chan, chain, entries in (("s2mm", s2mm, job.s2mm), ("mm2s", mm2s, job.mm2s)):
            st = chain.statuses()
            counts["invalidate"] += chain.cache_bytes
            # S2MM: RXEOF exactly on each packet's last descriptor (a scattered packet spans several)
            eof = dmap.status("RXEOF")
            want = np.where(chain.eof, eof, 0) if chan == "s2mm" else np.zeros(chain.count, dtype=np.int64)
            got_eof = (st & eof) if chan == "s2mm" else want
            bad = np.flatnonzero(((st & dmap.status("CMPLT")) == 0) | (got_eof != want) | ((st & errs) != 0)
                                 | ((st & length) != chain.nbytes))
            if bad.size:
                i = int(bad[0])
                buf, off, nbytes, _ = entries[i]
                raise DMAError(
                    f"AXI DMA {chan.upper()} descriptor {i} ({nbytes} bytes at offset {off} of {buf!r}) ended with "
                    f"STATUS={int(st[i]):#010x} ({int(st[i]) & length} bytes"
                    f"{', no end of packet' if chan == 's2mm' and not st[i] & dmap.status('RXEOF') else ''}): "
                    + ("the accelerator emitted a packet of the wrong size (its drains do not match the program's "
                       "s2mm entries)" if chan == "s2mm" else "the transfer did not complete")
                    + "; the runtime reset the DMA and the accelerator"
                )
            counts["ddr"] += int(chain.nbytes.sum())
            counts["desc"] += chain.count

    def _chain_error(self, chan: str, sr: int, entries: list[list[Any]], chain: Any) -> DMAError:
        bits = [name for bit, name in DMASR_ERRORS.items() if sr & self.spec.dma.dmasr(bit)]
        st = chain.statuses()
        done = int(np.count_nonzero(st & self.spec.dma.status("CMPLT")))
        where = (f"after {done} of {chain.count} descriptors (next: {entries[done][2]} bytes at offset "
                 f"{entries[done][1]} of {entries[done][0]!r})" if done < len(entries) else "after the last descriptor")
        return DMAError(
            f"AXI DMA {chan.upper()} reported {'+'.join(bits)} (DMASR={sr:#06x}) {where}: "
            f"{'; '.join(_ERR_HINT[b] for b in bits)}; the runtime reset the DMA and the accelerator"
        )

    def _chain_timeout(self, chan: str, sr: int, entries: list[list[Any]], chain: Any,
                       blocking: bool) -> DeviceTimeoutError:
        st = chain.statuses()
        done = int(np.count_nonzero(st & self.spec.dma.status("CMPLT")))
        index = min(done, len(entries) - 1)
        return self._timeout(chan, entries[index], sr, index, blocking)

    def _loop(self, program: DriverProgram, plan: _Plan, bufs: dict[str, Any], regions: dict[str, _Region],
              counts: dict[str, int]) -> None:
        """Feed MM2S in order and keep S2MM armed; service whichever channel finishes first."""
        chans = {"mm2s": self.dma.sendchannel, "s2mm": self.dma.recvchannel}
        queues = {"mm2s": program.mm2s, "s2mm": program.s2mm}
        nxt = {"mm2s": 0, "s2mm": 0}  # next entry to start
        cur = {"mm2s": -1, "s2mm": -1}  # entry in flight (-1: channel idle)
        mm_done = -1  # index of the last MM2S entry seen complete
        need = plan.need
        blocking = self.backend.blocking_polls
        poll = _Poll(self.accel, blocking, self.timeout_s)

        idle_bit = self.spec.dma.dmasr("IDLE")
        err_mask = sum(self.spec.dma.dmasr(bit) for bit in DMASR_ERRORS)

        def service(chan: str) -> bool:
            """Read the channel's DMASR once; complete its transfer if it is done."""
            nonlocal mm_done
            entry = queues[chan][cur[chan]]
            sr = self._dmasr(chan)
            if sr & err_mask:
                raise self._dma_error(chan, sr, entry)
            if not sr & idle_bit:
                return False
            counts["ddr"] += entry[2]
            if chan == "mm2s":
                mm_done = cur[chan]
            else:
                got = chans[chan].received() if self.sg else int(self.dma.read(self.spec.dma.offset("s2mm", "LENGTH")))
                chans[chan].transferred = got
                if got != entry[2]:
                    raise DMAError(
                        f"S2MM received {got} bytes for drain {cur[chan]} but the program expects {entry[2]} "
                        f"(buffer {entry[0]!r}): the accelerator emitted a packet of the wrong size; "
                        "the runtime reset the DMA and the accelerator"
                    )
                if entry[3]:
                    self._unpack(entry[3], bufs, entry[0], entry[1], entry[2], counts)
            cur[chan] = -1
            return True

        while any(nxt[c] < len(queues[c]) or cur[c] >= 0 for c in chans):
            for chan in ("s2mm", "mm2s"):  # arm S2MM first so drains never wait for it
                if cur[chan] < 0 and nxt[chan] < len(queues[chan]):
                    buf, off, nbytes, pack = queues[chan][nxt[chan]]
                    if pack and chan == "mm2s":  # an S2MM entry's 4th item is its unpack
                        self._pack(pack, bufs, buf, off, nbytes, counts)
                    chans[chan].transfer(regions[buf], off, nbytes)
                    counts["calls"] += 1
                    cur[chan], nxt[chan] = nxt[chan], nxt[chan] + 1
            # Wait on the channel that can finish: a drain once its data has been sent, else MM2S.
            if cur["s2mm"] >= 0 and (need[cur["s2mm"]] <= mm_done or cur["mm2s"] < 0):
                first = "s2mm"
            else:
                first = "mm2s" if cur["mm2s"] >= 0 else "s2mm"
            other = "mm2s" if first == "s2mm" else "s2mm"
            progressed = service(first)
            if not progressed and cur[other] >= 0:  # the read above ran until the other one finished
                progressed = service(other)
            if progressed:
                poll.progressed()
                continue
            # Not done: on the simulator the read already ran a deadlock window; on the board, spin.
            if poll.stalled():
                entry = queues[first][cur[first]]
                raise self._timeout(first, entry, self._dmasr(first), cur[first], blocking)
            poll.nap()

    def _timeout(self, chan: str, entry: list[Any], sr: int, index: int, blocking: bool) -> DeviceTimeoutError:
        status = self.accel.decode_status(self.accel.status_word())
        flags = ",".join(k for k, v in status.items() if v) or "none"
        limit = (f"{STALL_POLLS} simulator deadlock windows without any movement" if blocking
                 else f"{self.timeout_s:g} s")
        if chan == "mm2s":
            check = ("either the DMA stopped delivering (AXI read stall on the HP port) or the accelerator stopped "
                     "accepting (s_axis TREADY low: hung, or blocked on an output nobody drains); check the "
                     "accelerator's clock/reset and the MM2S stream connection")
        else:
            check = ("no TLAST/data arrived from the accelerator's m_axis (check that the accelerator finishes its "
                     "DRAIN packets with TLAST, that the program's drains match its instructions, and the DMA's "
                     "S2MM stream connection)")
        return DeviceTimeoutError(
            f"AXI DMA {chan.upper()} transfer {index} ({entry[2]} bytes at offset {entry[1]} of {entry[0]!r}) did "
            f"not complete within {limit}: DMASR={sr:#06x}, accelerator STATUS={flags}; {check}; the runtime reset "
            "the DMA and the accelerator"
        )

    # ------------------------------------------------------------ staging ops
    def _pack(self, pack: dict[str, Any], bufs: dict[str, Any], dst: str, off: int, nbytes: int,
              counts: dict[str, int]) -> None:
        src = bufs[pack["src"]]
        r0, c0, rows, cols = pack["row0"], pack["col0"], pack["rows"], pack["cols"]
        block = src[r0 : r0 + rows, c0 : c0 + cols]
        out = np.frombuffer(bufs[dst], np.uint8, count=nbytes, offset=off).view(src.dtype).reshape(rows, cols)
        out[...] = block
        counts["cpu"] += block.nbytes
        view = bufs[dst][off : off + nbytes]
        view.flush()
        counts["flush"] += nbytes

    def _unpack(self, unpack: dict[str, Any], bufs: dict[str, Any], src: str, off: int, nbytes: int,
                counts: dict[str, int]) -> None:
        dst = bufs[unpack["dst"]]
        view = bufs[src][off : off + nbytes]
        view.invalidate()
        counts["invalidate"] += nbytes
        r0, c0, rows, cols = unpack["row0"], unpack["col0"], unpack["rows"], unpack["cols"]
        block = np.frombuffer(bufs[src], np.uint8, count=nbytes, offset=off).view(dst.dtype).reshape(rows, cols)
        if unpack.get("add"):
            dst[r0 : r0 + rows, c0 : c0 + cols] += block
        else:
            dst[r0 : r0 + rows, c0 : c0 + cols] = block
        counts["cpu"] += block.nbytes
