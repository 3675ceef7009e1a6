"""Analytic cost model: fabric cycles of a driver program on the overlay, from the spec.

The model prices every DMA packet of the program with closed-form terms in spec parameters
and composes them along the runtime's two-queue executor loop (``runtime/executor.py``),
which decides what overlaps what:

host (``mmio`` = ``memory.mmio_cycles`` per register access)
    starting a transfer (stock ``pynq`` ``transfer()``: DMASR read x2 for running/idle,
    SA, SA_MSB, LENGTH writes) costs ``5*mmio``; S2MM is re-armed whenever idle, MM2S gets
    the packets in order. The loop waits on S2MM once drain d's last MM2S packet ``need[d]``
    is done, else on MM2S: one DMASR read (``mmio``, overlapping the transfers) that returns
    at the first completion of *either* channel after it (the simulator's poll, like a polling
    CPU); an S2MM completion adds a LENGTH read. Fixed costs: CLEAR_COUNTERS at the start,
    a STATUS read and SNAPSHOT at the end.
DMA (``lat`` = ``memory.latency_cycles``, ``rd``/``wr`` = ``read/write_bytes_per_cycle``)
    the first beat of an MM2S packet arrives ``lat + ceil(L/rd)`` cycles after LENGTH; the
    transfer completes when its last beat is accepted: a packet of at most ``skid_beats``
    beats waits whole in the input skid, a longer one ends ``in_buffer_beats`` beats' worth
    of chunks before its instruction does. An S2MM transfer writes from ``lat`` after it was
    armed at ``wr`` bytes per cycle and completes after the DRAIN packet's last beat.
array (``R`` rows, ``L`` = lanes bytes per beat, ``Q = L/4`` int32 per output beat)
    the row unpacker emits one chunk (<= L bytes of one row) per cycle, so a packet of
    ``r`` rows of ``row_len`` bytes takes ``max(r*ceil(row_len/L), ceil(bytes/rd))`` cycles:
    LOAD_A ``rows*ceil(K/L)``, STREAM_B ``K*ceil(row_len/L)`` (one array cycle per chunk,
    R x L MACs); a command packet of n instructions takes n beats; DRAIN reads
    ``rows*ceil(nc/Q)`` groups and emits ``ceil(rows*nc*4/L)`` beats, at most one per cycle.
on-chip state
    STREAM_B waits for the drain engine to release its accumulator bank, DRAIN for the
    previous drain's reader and the MAC pipeline; a command packet is only taken when the
    instruction FIFO has run empty (segments of ``ififo_depth``). Single buffering makes the
    next tile wait for the drain of its bank; double buffering alternates banks. K, N and
    rows limits (kmax, nmax, rows) and the DMA LENGTH width bound the tile sizes (candidates
    are built within them; ``build_program`` rejects the rest).
staging
    pack/unpack copies are CPU work: they take no fabric cycles (the simulator, like the
    board, runs the fabric independently) but are counted (``host.cpu_bytes_copied``) and,
    with ``objective="board"``, priced with the host profile of the spec's board
    (``accel.bench.hostcost``) next to per-transfer driver-call costs.

The result is a deterministic cycle count comparable with the accelerator's CYCLES counter
(from CLEAR_COUNTERS to SNAPSHOT), plus a breakdown (array busy cycles, bytes, transfers,
MMIO accesses, host waits). The pipeline constants in :class:`Timing` are the fixed depths of
the RTL datapath (skid buffers, unpacker, MAC pipeline, drain packer) and of the register
protocol; they do not depend on the shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from accel.contract.lowering import build_program
from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule, check_schedule
from accel.contract.walker import Segment, drain_needs, walk
from accel.errors import AccelError, ShapeError, TransferTooLargeError

MODEL_VERSION = "accel-costmodel/1"


@dataclass(frozen=True)
class Timing:
    """Fixed protocol and pipeline constants (cycles / register accesses), shape-independent."""

    xfer_mmio: int = 5  # pynq _SDMAChannel.transfer(): DMASR (running) + DMASR (idle) + SA + SA_MSB + LENGTH
    wait_mmio: int = 1  # one DMASR read per completion (the simulator's read blocks until done)
    s2mm_done_mmio: int = 1  # LENGTH read-back after an S2MM completion
    clear_latency: int = 3  # CLEAR_COUNTERS takes effect this far into its (mmio_cycles long) write
    end_mmio: int = 1  # STATUS read after the loop
    snapshot_latency: int = 2  # SNAPSHOT latches the counters this far into its write
    first_beat: int = 1  # beyond lat + ceil(L/rd): beat presented the cycle after the data arrived
    instr_gap: int = 1  # sequencer: cycles between the end of one instruction and the start of the next
    load_tail: int = 1  # LOAD_A: unpacker chunk(s) after the last input beat
    stream_tail: int = 1  # STREAM_B: unpacker tail after the last input beat
    mac_pipe: int = 2  # MAC pipeline depth: a DRAIN waits for the last accumulation to land
    drain_pipe: int = 2  # drain reader -> packer -> skid -> m_axis
    s2mm_tail: int = 1  # S2MM: completion after the last beat is written
    cmd_gap: int = 1  # command packet: FIFO write -> first instruction issued
    skid_beats: int = 2  # input skid buffer: takes beats even while the sequencer is busy elsewhere
    in_buffer_beats: int = 4  # skid + row unpacker (2L bytes) once the instruction runs: MM2S ends early


DEFAULT_TIMING = Timing()


@dataclass
class Prediction:
    """Predicted cost of one program."""

    cycles: int
    breakdown: dict[str, int] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    objective: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": int(self.cycles),
            "model": MODEL_VERSION,
            "breakdown": dict(self.breakdown),
            "host": dict(self.host),
        }


class ModelError(AccelError):
    """The program cannot progress under the executor's protocol (would deadlock)."""


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class _Timeline:
    """Max-plus recurrence over the packets of one program (see the module docstring)."""

    def __init__(self, spec: Any, program: DriverProgram, timing: Timing) -> None:
        self.spec, self.p, self.t = spec, program, timing
        self.L = spec.lanes
        self.Q = max(1, spec.stream_width // 32)
        self.lat = spec.latency_cycles
        self.rd = spec.read_bytes_per_cycle
        self.wr = spec.write_bytes_per_cycle
        self.steps = walk(spec, program)  # segments and instructions in the order the sequencer takes them
        self.start: dict[int, int] = {}  # mm2s packet -> LENGTH write time
        self.done: dict[int, int] = {}  # mm2s packet -> last beat accepted
        self.arm: dict[int, int] = {}  # drain -> S2MM LENGTH write time
        self.ddone: dict[int, int] = {}  # drain -> S2MM complete
        self.drain_info: dict[int, tuple[int, int, int]] = {}  # drain -> (issue time, groups, out beats)
        self.reader_end: dict[int, int | None] = {0: 0, 1: 0}  # acc bank -> reader done (None: unknown)
        self.bank_drain: dict[int, int | None] = {0: None, 1: None}
        self.last_drain: int | None = None
        self.seq = 0
        self.mac_done = 0
        self.pos = 0
        self.busy = 0  # array cycles (STREAM_B chunks)
        self._drain_bank: dict[int, int] = {}
        self._drain_reader: dict[int, int] = {}
        self.need = drain_needs(self.steps)

    # ------------------------------------------------------------ accelerator side
    def _arrival(self, pkt: int) -> int:
        if pkt not in self.start:
            raise ModelError(f"packet {pkt} consumed before the host started it")
        return self.start[pkt] + self.lat + _cdiv(self.L, self.rd) + self.t.first_beat

    def _last_beat(self, arrival: int, begin: int, dur: int, chunks: int, nbytes: int) -> int:
        """When the DMA's last beat of a packet is accepted (the MM2S transfer completes).

        A packet of at most ``skid_beats`` beats waits whole in the input skid, whatever the
        sequencer does; a longer one completes once all but the ``in_buffer_beats`` beats held
        by the skid and the row unpacker (each worth chunks/beats cycles) have been consumed."""
        beats = _cdiv(nbytes, self.L)
        delivered = arrival + _cdiv(nbytes, self.rd) - 1
        if beats <= self.t.skid_beats:
            return delivered
        held = (self.t.in_buffer_beats * chunks) // max(1, beats)
        return max(delivered, begin + max(1, dur - held))

    def _resolve_drain(self, d: int) -> bool:
        """Fix the reader end and completion of drain d once its S2MM arm time is known."""
        if d in self.ddone:
            return True
        if d not in self.arm or d not in self.drain_info:
            return False
        issue, groups, beats = self.drain_info[d]
        nbytes = self.p.s2mm[d][2]
        out_start = max(issue + self.t.drain_pipe, self.arm[d])
        # the reader can run ahead of a blocked output only by the packer/skid depth
        last_beat = max(issue + self.t.drain_pipe + max(groups, beats), out_start + beats)
        reader = max(issue + groups, last_beat - self.t.drain_pipe)
        written = max(last_beat, self.arm[d] + self.lat + _cdiv(nbytes, self.wr))
        self.ddone[d] = written + self.t.s2mm_tail
        acc = self._drain_bank[d]
        if self.bank_drain.get(acc) == d:
            self.reader_end[acc] = reader
        self._drain_reader[d] = reader
        return True

    def _bank_free(self, acc: int) -> int | None:
        d = self.bank_drain.get(acc)
        if d is None:
            return self.reader_end.get(acc, 0)
        if not self._resolve_drain(d):
            return None
        return self._drain_reader[d]

    def advance(self, until_pkt: int | None = None, until_drain: int | None = None) -> bool:
        """Run the sequencer forward until packet ``until_pkt`` is consumed / drain ``until_drain``
        issued. Returns False if it is blocked on a drain whose S2MM transfer is not armed yet
        (the state then stays at the blocked instruction)."""
        t = self.t
        while True:
            if until_pkt is not None and until_pkt in self.done:
                return True
            if until_drain is not None and until_drain in self.drain_info:
                return True
            if self.pos >= len(self.steps):
                raise ModelError("ran past the end of the program")
            step = self.steps[self.pos]
            pkt = step.entry if isinstance(step, Segment) else step.data
            if pkt is not None and pkt not in self.start:
                return False  # the host has not started this packet yet
            if isinstance(step, Segment):
                n = step.count
                arrival = self._arrival(pkt)
                begin = max(arrival, self.seq)
                self.done[pkt] = self._last_beat(arrival, begin, n, n, n * self.L)
                self.seq = begin + n + t.cmd_gap
                self.pos += 1
                continue
            op, f, d = step.opcode, step.fields, step.drain
            if op == "LOAD_A":
                nbytes = self.p.mm2s[pkt][2]
                chunks = f["rows"] * _cdiv(f["row_len"], self.L)
                dur = max(chunks, _cdiv(nbytes, self.rd))
                arrival = self._arrival(pkt)
                begin = max(self.seq + t.instr_gap, arrival)
                self.done[pkt] = self._last_beat(arrival, begin, dur, chunks, nbytes)
                self.seq = begin + dur + t.load_tail
            elif op == "STREAM_B":
                free = self._bank_free(f["acc"])
                if free is None:
                    return False
                nbytes = self.p.mm2s[pkt][2]
                k = nbytes // f["row_len"]
                chunks = k * _cdiv(f["row_len"], self.L)
                dur = max(chunks, _cdiv(nbytes, self.rd))
                arrival = self._arrival(pkt)
                begin = max(self.seq + t.instr_gap, arrival, free)
                self.done[pkt] = self._last_beat(arrival, begin, dur, chunks, nbytes)
                self.busy += chunks
                self.seq = begin + dur + t.stream_tail
                self.mac_done = self.seq + t.mac_pipe
            elif op == "DRAIN":
                prev = self.last_drain
                prev_free = 0
                if prev is not None:
                    if not self._resolve_drain(prev):
                        return False
                    prev_free = self._drain_reader[prev]
                issue = max(self.seq + t.instr_gap, prev_free, self.mac_done)
                groups = f["rows"] * _cdiv(f["win_cnt"], self.Q)
                beats = _cdiv(f["rows"] * f["win_cnt"] * 4, self.L)
                self.drain_info[d] = (issue, groups, beats)
                self._drain_bank[d] = f["acc"]
                self.bank_drain[f["acc"]] = d
                self.last_drain = d
                self.seq = issue + 1
            self.pos += 1

    def done_time(self, chan: str, idx: int) -> int | None:
        """Completion cycle of the transfer in flight on a channel (None: blocked on the host)."""
        if chan == "mm2s":
            return self.done[idx] if self.advance(until_pkt=idx) else None
        if not self.advance(until_drain=idx) or not self._resolve_drain(idx):
            return None
        return self.ddone[idx]

    # ------------------------------------------------------------ host loop
    def run(self) -> dict[str, int]:
        """The executor's loop: keep both channels busy, wait on the one that can finish (a DMASR
        read holds mmio cycles, then polls until that channel or the other one completes)."""
        t, mu = self.t, self.spec.mmio_cycles
        queues = {"mm2s": self.p.mm2s, "s2mm": self.p.s2mm}
        need = self.need
        nxt = {"mm2s": 0, "s2mm": 0}
        cur: dict[str, int | None] = {"mm2s": None, "s2mm": None}
        mm_done = -1
        h = mu - t.clear_latency  # CYCLES counts from CLEAR_COUNTERS to the end of that write
        mmio = 0
        wait_cycles = 0
        while any(nxt[c] < len(queues[c]) or cur[c] is not None for c in queues):
            for chan in ("s2mm", "mm2s"):
                if cur[chan] is None and nxt[chan] < len(queues[chan]):
                    h += t.xfer_mmio * mu
                    mmio += t.xfer_mmio
                    (self.arm if chan == "s2mm" else self.start)[nxt[chan]] = h
                    cur[chan], nxt[chan] = nxt[chan], nxt[chan] + 1
            s2 = cur["s2mm"]
            if s2 is not None and (need[s2] <= mm_done or cur["mm2s"] is None):
                first = "s2mm"
            else:
                first = "mm2s" if cur["mm2s"] is not None else "s2mm"
            other = "mm2s" if first == "s2mm" else "s2mm"
            t_first = self.done_time(first, cur[first])
            if t_first is None:
                raise ModelError(f"the {first} transfer the host waits for can never complete (deadlock)")
            h += t.wait_mmio * mu  # DMASR read: the access itself, then the poll
            mmio += t.wait_mmio
            served = first
            if t_first > h:
                t_other = self.done_time(other, cur[other]) if cur[other] is not None else None
                if t_other is not None and h < t_other < t_first:
                    wait_cycles += t_other - h
                    h = t_other
                    served = other  # the poll stopped at the other channel's completion
                    h += t.wait_mmio * mu
                    mmio += t.wait_mmio
                else:
                    wait_cycles += t_first - h
                    h = t_first
            if served == "mm2s":
                mm_done = cur["mm2s"]
            else:
                h += t.s2mm_done_mmio * mu
                mmio += t.s2mm_done_mmio
            cur[served] = None
        h += t.end_mmio * mu + t.snapshot_latency
        mmio += t.end_mmio
        return {
            "cycles": h,
            "array_busy": self.busy,
            "host_mmio_cycles": mmio * mu,
            "mmio_ops": mmio,
            "host_wait_cycles": wait_cycles,
        }


# --------------------------------------------------------------------------- public API
def predict_program(spec: Any, program: DriverProgram, *, timing: Timing = DEFAULT_TIMING) -> Prediction:
    """Predicted fabric cycles (CYCLES counter) of running ``program`` once."""
    tl = _Timeline(spec, program, timing)
    res = tl.run()
    stats = program.stats
    cpu_bytes = 0
    copy_calls = 0
    for _buf, _off, nbytes, pack in program.mm2s:
        if pack:
            cpu_bytes += nbytes
            copy_calls += 1
    for _buf, _off, nbytes, unpack in program.s2mm:
        if unpack:
            cpu_bytes += nbytes
            copy_calls += 1
    breakdown = {
        "array_busy": res["array_busy"],
        "macs": int(stats.get("macs", 0)),
        "dma_bytes_in": int(stats.get("dma_bytes_in", 0)),
        "dma_bytes_out": int(stats.get("dma_bytes_out", 0)),
        "mm2s_transfers": len(program.mm2s),
        "s2mm_transfers": len(program.s2mm),
        "instructions": int(stats.get("instructions", 0)),
        "mmio_ops": res["mmio_ops"],
        "host_mmio_cycles": res["host_mmio_cycles"],
        "host_wait_cycles": res["host_wait_cycles"],
    }
    host = {"cpu_bytes_copied": cpu_bytes, "copy_calls": copy_calls, "dma_transfers": program.transfers,
            "mmio_ops": res["mmio_ops"], "dma_bytes": breakdown["dma_bytes_in"] + breakdown["dma_bytes_out"]}
    return Prediction(cycles=int(res["cycles"]), breakdown=breakdown, host=host, objective=float(res["cycles"]))


def predict(
    spec: Any, schedule: Schedule, *, c_init: str = "zero", timing: Timing = DEFAULT_TIMING
) -> Prediction:
    """Predicted cost of a schedule (builds its program with ``build_program``)."""
    return predict_program(spec, build_program(spec, schedule, c_init=c_init), timing=timing)


def host_seconds(spec: Any, pred: Prediction, profile: str | None = None) -> dict[str, float]:
    """Projected host (CPU) time of a prediction: by default with the profile of the runtime that
    executes driver programs, the pynq Python driver on the spec's board (``a9-pynq`` for the
    PYNQ-Z2, ``a53-pynq`` for the KV260, ``runtime/bench/hostcost.py``); ``profile`` picks another
    (e.g. ``a9-native`` for a compiled driver)."""
    from accel.contract.hostcost import PROFILES, profiles_for

    prof = PROFILES[profile] if profile else profiles_for(spec.board)[1]
    counts = {
        "cpu_bytes_copied": pred.host.get("cpu_bytes_copied", 0),
        "dma_bytes": pred.host.get("dma_bytes", 0),
        "dma_transfers": pred.host.get("dma_transfers", 0),
        "copy_calls": pred.host.get("copy_calls", 0),
        "mmio_ops": pred.host.get("mmio_ops", 0),
    }
    return prof.host_seconds(counts)


def objective_value(spec: Any, pred: Prediction, objective: str) -> float:
    """What the scheduler minimises: fabric cycles, or fabric + projected host time (in cycles)."""
    if objective == "fabric":
        return float(pred.cycles)
    if objective == "board":
        host = host_seconds(spec, pred)["total"]
        return float(pred.cycles) + host * spec.fabric_mhz * 1e6
    raise ValueError(f"objective {objective!r} must be 'fabric' or 'board'")


# --------------------------------------------------------------------------- candidates
def _round_up(x: int, mult: int) -> int:
    return _cdiv(x, mult) * mult


def tile_options(dim: int, limit: int, lanes: int, *, exhaustive: bool = False) -> list[int]:
    """Tile sizes for one of N/K: the whole dim if it fits, else the largest whole-beat tile and
    the balanced split; ``exhaustive`` adds halvings and quarterings (benchmark sweeps)."""
    cap = limit - limit % lanes
    opts: list[int] = []
    if dim <= limit:
        opts.append(dim)
    else:
        opts.append(cap)
        parts = _cdiv(dim, cap)
        opts.append(min(cap, _round_up(_cdiv(dim, parts), lanes)))
    if exhaustive:
        base = min(dim, cap)
        for div in (2, 4):
            t = _round_up(max(1, base // div), lanes)
            if lanes <= t < dim and t <= cap:
                opts.append(t)
    seen: list[int] = []
    for o in opts:
        if o not in seen and o >= 1:
            seen.append(o)
    return seen


def packet_estimate(s: Schedule) -> int:
    """Number of DMA packets a schedule produces (to keep sweeps affordable)."""
    tm, tn, tk = min(s.tile_m, s.m), min(s.tile_n, s.n), min(s.tile_k, s.k)
    p, nt, kc = _cdiv(s.m, tm), _cdiv(s.n, tn), _cdiv(s.k, tk)
    if s.stationarity == "A" and kc == 1:
        return p + 2 * p * nt
    per = 2 * kc + 1 if s.stationarity == "C" else 3 * kc
    return p * nt * per


def candidates(
    spec: Any,
    m: int,
    n: int,
    k: int,
    fixed: dict[str, Any] | None = None,
    *,
    include_staging: bool = False,
    exhaustive: bool = False,
    max_packets: int | None = None,
) -> list[Schedule]:
    """Valid schedules for an M x N x K matmul, honouring ``fixed`` parameters.

    The default set is what the scheduler searches: full-height (or balanced) panels, N and K
    whole when they fit on chip, else the largest/balanced whole-beat splits, every flow, order
    and buffering. ``exhaustive`` adds halved/quartered tiles and half-height panels."""
    fixed = dict(fixed or {})
    L = spec.lanes
    tms = [min(spec.rows, m)]
    bal = _cdiv(m, _cdiv(m, spec.rows))
    if bal not in tms:
        tms.append(bal)
    tns = tile_options(n, spec.nmax, L, exhaustive=exhaustive)
    tks = tile_options(k, spec.kmax, L, exhaustive=exhaustive)
    if exhaustive and m > 1 and max(1, min(spec.rows, m) // 2) not in tms:
        tms.append(max(1, min(spec.rows, m) // 2))
    # with K split and one N tile, "A" and "C" build the same program: call it output stationary
    stats = ("A", "C", "N") if k <= spec.kmax else ("C", "A", "N")
    orders = ("mn", "nm")
    dbs = (True, False)
    stg = (False, True) if include_staging else (False,)
    pick = {
        "tile_m": [fixed["tile_m"]] if "tile_m" in fixed else tms,
        "tile_n": [fixed["tile_n"]] if "tile_n" in fixed else tns,
        "tile_k": [fixed["tile_k"]] if "tile_k" in fixed else tks,
        "stationarity": [fixed["stationarity"]] if "stationarity" in fixed else stats,
        "order": [fixed["order"]] if "order" in fixed else orders,
        "double_buffer": [fixed["double_buffer"]] if "double_buffer" in fixed else dbs,
        "staging": [fixed["staging"]] if "staging" in fixed else stg,
    }
    out: list[Schedule] = []
    seen: set[tuple[Any, ...]] = set()
    for tm in pick["tile_m"]:
        for tn in pick["tile_n"]:
            for tk in pick["tile_k"]:
                for st in pick["stationarity"]:
                    for order in pick["order"]:
                        for db in pick["double_buffer"]:
                            for sg in pick["staging"]:
                                s = Schedule(m, n, k, tile_m=tm, tile_n=tn, tile_k=tk, stationarity=st,
                                             order=order, double_buffer=db, staging=sg)
                                key = _canonical(s)
                                if key in seen:
                                    continue
                                try:
                                    check_schedule(spec, s)
                                except ShapeError:
                                    continue
                                if _max_transfer(spec, s) > spec.dma_max_bytes:
                                    continue
                                if max_packets is not None and packet_estimate(s) > max_packets:
                                    continue
                                seen.add(key)
                                out.append(s)
    return out


def _canonical(s: Schedule) -> tuple[Any, ...]:
    """Schedules that build the same program (e.g. order with one panel or one N tile)."""
    tn, tk, tm = min(s.tile_n, s.n), min(s.tile_k, s.k), min(s.tile_m, s.m)
    panels, ntiles = _cdiv(s.m, tm), _cdiv(s.n, tn)
    order = s.order if panels > 1 and ntiles > 1 else "mn"
    return (tm, tn, tk, s.stationarity, order, s.double_buffer, s.staging)


def _max_transfer(spec: Any, s: Schedule) -> int:
    tm, tn, tk = min(s.tile_m, s.m), min(s.tile_n, s.n), min(s.tile_k, s.k)
    if s.staging:
        return max(tm * tk, tk * tn, tm * tn * 4)
    return max(tm * s.k, tk * s.n, tm * (s.n if _cdiv(s.n, tn) == 1 else tn) * 4)


def program_key(prog: DriverProgram) -> tuple[Any, ...]:
    """Identity of what a program makes the hardware do (instructions and transfers)."""
    freeze = repr
    return (prog.scratch["cmd"]["init"], freeze(prog.mm2s), freeze(prog.s2mm))


@dataclass
class Ranked:
    schedule: Schedule
    prediction: Prediction
    objective: float


def rank(
    spec: Any,
    m: int,
    n: int,
    k: int,
    *,
    c_init: str = "zero",
    fixed: dict[str, Any] | None = None,
    objective: str = "fabric",
    include_staging: bool = False,
    exhaustive: bool = False,
    max_packets: int | None = None,
    timing: Timing = DEFAULT_TIMING,
    schedules: Iterable[Schedule] | None = None,
) -> list[Ranked]:
    """Every candidate with its prediction, best first (ties: fewer transfers, then larger tiles)."""
    cands = list(schedules) if schedules is not None else candidates(
        spec, m, n, k, fixed, include_staging=include_staging, exhaustive=exhaustive, max_packets=max_packets
    )
    out: list[Ranked] = []
    seen: set[tuple[Any, ...]] = set()
    for s in cands:
        try:
            prog = build_program(spec, s, c_init=c_init)
        except (ShapeError, TransferTooLargeError):
            continue
        key = program_key(prog)
        if key in seen:  # another candidate already builds exactly this program
            continue
        seen.add(key)
        pred = predict_program(spec, prog, timing=timing)
        pred.objective = objective_value(spec, pred, objective)
        out.append(Ranked(s, pred, pred.objective))
    out.sort(key=lambda r: (r.objective, r.prediction.breakdown["mm2s_transfers"] + r.prediction.breakdown[
        "s2mm_transfers"], -r.schedule.tile_n, -r.schedule.tile_k, r.schedule.stationarity, r.schedule.order,
        not r.schedule.double_buffer))
    return out


def choose(
    spec: Any, m: int, n: int, k: int, *, c_init: str = "zero", fixed: dict[str, Any] | None = None,
    objective: str = "fabric", timing: Timing = DEFAULT_TIMING,
) -> Ranked:
    """The best schedule under the constraints (raises ShapeError if none is valid)."""
    ranked = rank(spec, m, n, k, c_init=c_init, fixed=fixed, objective=objective, timing=timing)
    if not ranked:
        detail = ", ".join(f"{a}={b}" for a, b in (fixed or {}).items()) or "none"
        raise ShapeError(
            f"no valid schedule for M={m} N={n} K={k} on spec {spec.name} with the fixed parameters ({detail}); "
            f"limits: rows={spec.rows}, kmax={spec.kmax}, nmax={spec.nmax}, lanes={spec.lanes}, "
            f"DMA transfers <= {spec.dma_max_bytes} bytes"
        )
    return ranked[0]


def roofline(spec: Any, m: int, n: int, k: int) -> dict[str, int]:
    """Lower bounds (cycles): array compute, input bytes, output bytes."""
    compute = math.ceil(m / spec.rows) * math.ceil(n / spec.lanes) * k
    rd = math.ceil((m * k + k * n) / spec.read_bytes_per_cycle)
    wr = math.ceil(m * n * 4 / spec.write_bytes_per_cycle)
    return {"compute": compute, "read": rd, "write": wr, "bound": max(compute, rd, wr)}

