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
epilogue (``E`` = ``epi_lanes``)
    LOAD_EPI consumes its parameter packet (``8 + 8*nc`` bytes) at one beat per cycle once a
    DRAIN_Q no longer reads that bank's parameters (``epi_release`` after the reader left it); the
    beats bypass the row unpacker, so its transfer completes with ``epi_in_beats`` beats (the input
    skid) still on chip. DRAIN_Q reads ``rows*ceil(nc/E)`` lane groups and emits ``ceil(rows*nc/L)``
    beats of 8-bit results, through ``epi_pipe`` more stages than DRAIN (parameter read, int32 ->
    float32, multiply, round, clamp); while its S2MM transfer is not armed (or a scattered
    descriptor not taken) the reader runs ahead only by the ``epi_hold`` groups the path holds,
    then paces the output (a group is less than a beat when E < L).
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
from accel.contract.scatter import chainable, mm2s_segments, s2mm_segments
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
    epi_pipe: int = 9  # DRAIN_Q: parameter read + the epilogue's stages between the reader and the byte packer
    epi_release: int = 1  # LOAD_EPI: after the reader leaves the bank, its last group still reads the parameters
    epi_in_beats: int = 2  # LOAD_EPI: beats held on chip when its MM2S transfer completes (no row unpacker)
    epi_hold: int = 16  # DRAIN_Q: lane groups its stages, packer and skid hold while S2MM is not armed yet
    s2mm_tail: int = 1  # S2MM: completion after the last beat is written
    cmd_gap: int = 1  # command packet: FIFO write -> first instruction issued
    skid_beats: int = 2  # input skid buffer: takes beats even while the sequencer is busy elsewhere
    in_buffer_beats: int = 4  # skid + row unpacker (2L bytes) once the instruction runs: MM2S ends early
    # scatter-gather mode (PG021 descriptor chains; see _ChainTimeline)
    sg_bind_mmio: int = 6  # per channel DMACR (RS=0), CURDESC, DMACR (RS=1)
    sg_xfer_mmio: int = 1  # per-transfer mode (staged programs): a TAILDESC write starts one descriptor
    sg_queue: int = 4  # descriptors the engine fetches ahead of its data mover
    sg_kick: int = 1  # TAILDESC write -> first descriptor fetch
    sg_pickup: int = 0  # descriptor completed -> the mover takes the next one
    sg_issue: int = 0  # read issue -> the simple-mode LENGTH-write equivalent
    sg_first_beat: int = 1  # descriptor taken -> its first beat presented (when the data was already read)
    sg_end: int = 0  # last S2MM descriptor complete -> chain idle seen by a poll
    sg_segment_gap: int = -1  # S2MM scatter: one descriptor's last write -> the next descriptor taken
    sg_refetch: int = 1  # MM2S descriptor taken -> the fetch into the queue slot it freed (on the shared read port)
    # S2MM scatter, int32 DRAIN: beats the drain path (holding register, packer, 2-entry output skid) keeps while
    # the output waits for the next descriptor, and cycles from the beat before those leaving to the reader
    # releasing its bank (drain.v rd_busy low)
    sg_drain_hold: int = 4
    sg_drain_release: int = 3


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
        self._drain_pipe: dict[int, int] = {}  # drain -> reader-to-output pipeline depth (DRAIN_Q: + epi_pipe)
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
        self.floor: dict[int, int] = {}  # mm2s packet -> earliest first beat (SG: descriptor in hand)
        self.min_dur: dict[int, int] = {}  # mm2s packet -> cycles its beats take at least (SG: a gather)
        self.data_end: dict[int, int] = {}  # mm2s packet -> its last read lands (SG chains only: a fetch held it up)

    # ------------------------------------------------------------ accelerator side
    def _arrival(self, pkt: int) -> int:
        if pkt not in self.start:
            raise ModelError(f"packet {pkt} consumed before the host started it")
        return max(self.start[pkt] + self.lat + _cdiv(self.L, self.rd) + self.t.first_beat, self.floor.get(pkt, 0))

    def _last_beat(self, arrival: int, begin: int, dur: int, chunks: int, nbytes: int, pkt: int,
                   in_buffer: int | None = None) -> int:
        """When the DMA's last beat of a packet is accepted (the MM2S transfer completes).

        A packet of at most ``skid_beats`` beats waits whole in the input skid, whatever the
        sequencer does; a longer one completes once all but the ``in_buffer_beats`` beats held
        by the skid and the row unpacker (each worth chunks/beats cycles) have been consumed."""
        beats = _cdiv(nbytes, self.L)
        pkt_dur = self.min_dur.get(pkt, 0)
        delivered = max(arrival + max(_cdiv(nbytes, self.rd), pkt_dur) - 1, self.data_end.get(pkt, 0))
        if beats <= self.t.skid_beats:
            return delivered
        held = ((self.t.in_buffer_beats if in_buffer is None else in_buffer) * chunks) // max(1, beats)
        return max(delivered, begin + max(1, dur - held))

    def _resolve_drain(self, d: int) -> bool:
        """Fix the reader end and completion of drain d once its S2MM arm time is known."""
        if d in self.ddone:
            return True
        if d not in self.arm or d not in self.drain_info:
            return False
        issue, groups, beats = self.drain_info[d]
        nbytes = self.p.s2mm[d][2]
        pipe = self._drain_pipe.get(d, self.t.drain_pipe)
        out_start = max(issue + pipe, self.arm[d])
        # the reader can run ahead of a blocked output only by the packer/skid depth (DRAIN_Q: by the
        # epilogue's stages too; a lane group is less than a beat, so the reader then paces the output)
        after = max(beats, groups - self.t.epi_hold) if d in self._drain_pipe else beats
        last_beat = max(issue + pipe + max(groups, beats), out_start + after)
        reader = max(issue + groups, last_beat - pipe)
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
                self.done[pkt] = self._last_beat(arrival, begin, n, n, n * self.L, pkt)
                self.seq = begin + n + t.cmd_gap
                self.pos += 1
                continue
            op, f, d = step.opcode, step.fields, step.drain
            if op == "LOAD_A":
                nbytes = self.p.mm2s[pkt][2]
                chunks = f["rows"] * _cdiv(f["row_len"], self.L)
                dur = max(chunks, _cdiv(nbytes, self.rd), self.min_dur.get(pkt, 0))
                arrival = self._arrival(pkt)
                begin = max(self.seq + t.instr_gap, arrival)
                dur = max(dur, self.data_end.get(pkt, 0) - begin + 1)  # SG chain: the instruction waits for its data
                self.done[pkt] = self._last_beat(arrival, begin, dur, chunks, nbytes, pkt)
                self.seq = begin + dur + t.load_tail
            elif op == "STREAM_B":
                free = self._bank_free(f["acc"])
                if free is None:
                    return False
                nbytes = self.p.mm2s[pkt][2]
                k = nbytes // f["row_len"]
                chunks = k * _cdiv(f["row_len"], self.L)
                dur = max(chunks, _cdiv(nbytes, self.rd), self.min_dur.get(pkt, 0))
                arrival = self._arrival(pkt)
                begin = max(self.seq + t.instr_gap, arrival, free)
                dur = max(dur, self.data_end.get(pkt, 0) - begin + 1)  # SG chain: the instruction waits for its data
                self.done[pkt] = self._last_beat(arrival, begin, dur, chunks, nbytes, pkt)
                self.busy += chunks
                self.seq = begin + dur + t.stream_tail
                self.mac_done = self.seq + t.mac_pipe
            elif op == "LOAD_EPI":
                free = self._bank_free(f["acc"])
                if free is None:
                    return False
                nbytes = self.p.mm2s[pkt][2]
                chunks = _cdiv(nbytes, self.L)
                dur = max(chunks, _cdiv(nbytes, self.rd), self.min_dur.get(pkt, 0))
                arrival = self._arrival(pkt)
                begin = max(self.seq + t.instr_gap, arrival, free + t.epi_release)
                self.done[pkt] = self._last_beat(arrival, begin, dur, chunks, nbytes, pkt, t.epi_in_beats)
                self.seq = begin + dur + t.load_tail
            elif op in ("DRAIN", "DRAIN_Q"):
                prev = self.last_drain
                prev_free = 0
                if prev is not None:
                    if not self._resolve_drain(prev):
                        return False
                    prev_free = self._drain_reader[prev]
                issue = max(self.seq + t.instr_gap, prev_free, self.mac_done)
                if op == "DRAIN_Q":
                    groups = f["rows"] * _cdiv(f["win_cnt"], self.spec.epi_lanes)
                    beats = _cdiv(f["rows"] * f["win_cnt"], self.L)
                    self._drain_pipe[d] = t.drain_pipe + t.epi_pipe
                else:
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
        sg = bool(self.spec.dma_sg)
        xfer, done_mmio, delay = t.xfer_mmio, t.s2mm_done_mmio, 0
        if sg:  # per-transfer mode: one-descriptor rings bound once, a TAILDESC write per packet
            h += t.sg_bind_mmio * mu
            mmio += t.sg_bind_mmio
            xfer, done_mmio = t.sg_xfer_mmio, 0  # the S2MM byte count is the descriptor's STATUS (memory)
            delay = t.sg_kick + self.lat + _cdiv(self.spec.dma.desc_bytes, self.rd)  # fetch, then the reads
        while any(nxt[c] < len(queues[c]) or cur[c] is not None for c in queues):
            for chan in ("s2mm", "mm2s"):
                if cur[chan] is None and nxt[chan] < len(queues[chan]):
                    h += xfer * mu
                    mmio += xfer
                    if sg and chan == "mm2s":
                        self.floor[nxt[chan]] = h + delay + t.sg_first_beat
                    (self.arm if chan == "s2mm" else self.start)[nxt[chan]] = h + delay - (
                        t.sg_issue if sg and chan == "mm2s" else 0)
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
                # simple mode: a DMASR read ending the cycle the other channel completes already sees
                # it (a LOAD_A/LOAD_EPI packet finishing with the poll); per-transfer SG keeps the strict order
                if t_other is not None and (h < t_other or (h == t_other and not sg)) and t_other < t_first:
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
                h += done_mmio * mu
                mmio += done_mmio
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


class _ChainTimeline(_Timeline):
    """Scatter-gather mode, zero-copy program: the whole program is one MM2S and one S2MM chain.

    The host binds both rings (RS=0, CURDESC, RS=1 per channel), writes TAILDESC (S2MM, then
    MM2S) and waits. Each channel's engine fetches descriptors (``desc_bytes`` on the read port,
    ``ceil(desc_bytes/rd)`` beats, after the memory latency) up to ``sg_queue`` ahead of its data
    mover; the mover takes descriptor i once it has arrived and descriptor i-1 completed, issues
    its reads once descriptor i-1's reads are issued (S2MM: opens its writes once descriptor
    i-1 completed), so back-to-back packets pay the memory latency only when the pipe ran dry
    and there are no host gaps between packets. A fetch holds the read port, so reads of a
    descriptor still to come when the mover refills its queue wait for it (``_fetch_stall``); a
    scattered drain waits for each descriptor, its reader meanwhile running ahead of the output
    by what the drain path holds. Each completion writes its STATUS back (one
    write-port beat). The wait: an S2MM DMASR read (returns at the first chain completion after
    it), an MM2S DMASR read if that was MM2S's, another S2MM read until the S2MM chain ends."""

    def __init__(self, spec: Any, program: DriverProgram, timing: Timing) -> None:
        super().__init__(spec, program, timing)
        # bytes of each drain's descriptors (a scattered unpack: one per row segment, accel.contract.scatter)
        self.segs = [[n for _b, _o, n in s2mm_segments(program, e)] for e in program.s2mm]
        self.msegs = [[n for _b, _o, n in mm2s_segments(program, e, spec.lanes)] for e in program.mm2s]
        self.mdescs = sum(len(m) for m in self.msegs)

    def _fetch_beats(self) -> int:
        return _cdiv(self.spec.dma.desc_bytes, self.rd)

    def _fetch_stall(self, pick: int, issue: int, nbytes: int, refill: bool) -> int:
        """Cycles an MM2S descriptor's reads lose to a descriptor fetch (0 without ``refill``).

        Taking a descriptor frees a queue slot; with more descriptors to fetch (``refill``) the engine
        fetches the next one ``sg_refetch`` cycles later (when the fetcher was waiting for the slot, as
        it is once the mover is the bottleneck), and that fetch holds the read port, which descriptor
        fetches share with the data reads, for ``ceil(desc_bytes/rd)`` beats. Reads of the descriptor
        in hand still to come then (its data not yet all read: a gathered window of 16-beat rows, a
        packet taken as its data arrives) wait for it; reads done before it was taken are not held up.
        S2MM descriptor fetches take the same port; they are rare beside a gather and not priced."""
        fb, f = self._fetch_beats(), pick + self.t.sg_refetch
        first_read, last_read = max(pick, issue + self.lat), issue + self.lat + _cdiv(nbytes, self.rd) - 1
        if not refill or f > last_read:
            return 0
        return max(0, min(fb, f + fb - first_read))  # every read still to come waits (from its first one)

    def _resolve_drain(self, d: int) -> bool:
        """A drain scattered over several descriptors: each one is taken once the previous is written
        (the stream waits meanwhile), then written after the memory latency."""
        if d in self.ddone or len(self.segs[d]) == 1:
            return super()._resolve_drain(d)
        if d not in self.arm or d not in self.drain_info:
            return False
        t = self.t
        issue, groups, beats = self.drain_info[d]
        pipe = self._drain_pipe.get(d, t.drain_pipe)  # DRAIN_Q: through the epilogue's stages
        avail, pick, last_beat, done = issue + pipe, self.arm[d], 0, 0
        quant, total, rd = d in self._drain_pipe, max(1, sum(self.segs[d])), issue
        # int32 DRAIN: while a descriptor is not taken the reader runs ahead of the output by what the path
        # holds, so it is done (and the bank free) once all but the last sg_drain_hold beats have left
        hold_at, emitted = max(0, sum(_cdiv(n, self.L) for n in self.segs[d]) - 1 - t.sg_drain_hold), 0
        released = issue + max(groups, beats - t.sg_drain_hold)
        for nbytes in self.segs[d]:
            first = max(pick, avail)
            nb = _cdiv(nbytes, self.L)
            last_beat = first + nb  # the segment's beats leave at first+1 .. first+nb
            if emitted <= hold_at < emitted + nb:  # the reader ends behind this beat, not the last one
                released = max(released, first + 1 + hold_at - emitted + t.sg_drain_release)
            emitted += nb
            if quant:  # DRAIN_Q: the reader (a lane group per cycle) paces the output; it runs ahead of a
                # waiting descriptor only by what the epilogue path holds
                g = _cdiv(groups * nbytes, total)
                rd = max(rd + g, first - pipe + g - t.epi_hold)
                last_beat = max(last_beat, rd + pipe)
            avail = last_beat
            written = max(last_beat, pick + self.lat + _cdiv(nbytes, self.wr))
            done = written + t.s2mm_tail
            pick = written + t.sg_segment_gap  # the next descriptor of the packet
        last_beat = max(last_beat, issue + pipe + max(groups, beats))
        self.ddone[d] = done
        reader = max(issue + groups, last_beat - pipe) if quant else released
        acc = self._drain_bank[d]
        if self.bank_drain.get(acc) == d:
            self.reader_end[acc] = reader
        self._drain_reader[d] = reader
        return True

    def _schedule(self, kick: dict[str, int]) -> None:
        """Start (MM2S: read issue) and arm (S2MM: write path open) time of every descriptor."""
        t, fb, lat = self.t, self._fetch_beats(), self.lat
        nm, ns = len(self.p.mm2s), len(self.p.s2mm)
        fetch: dict[str, list[int]] = {"mm2s": [], "s2mm": []}
        pickup: dict[str, list[int]] = {"mm2s": [], "s2mm": []}
        mem_done = 0
        i = d = 0
        while i < nm or d < ns:
            moved = False
            if i < nm and (i == 0 or i - 1 in self.done or self.advance(until_pkt=i - 1)):
                prev = self.done[i - 1] + t.sg_pickup if i else 0
                first = last = 0
                for j, nbytes in enumerate(self.msegs[i]):  # a gathered packet: descriptor by descriptor
                    f = self._fetch_time(fetch["mm2s"], pickup["mm2s"], kick["mm2s"], fb)
                    ready = f + lat + fb
                    pick = max(ready, prev)
                    issue = max(ready, mem_done)
                    if j == 0:
                        self.start[i] = issue - t.sg_issue
                        self.floor[i] = pick + t.sg_first_beat
                    beat0 = max(pick + t.sg_first_beat, issue + lat + _cdiv(self.L, self.rd) + t.first_beat)
                    first = beat0 if j == 0 else first
                    # the accelerator takes a beat per cycle; the last read lands a fetch's stall later
                    stall = self._fetch_stall(pick, issue, nbytes, len(fetch["mm2s"]) + t.sg_queue < self.mdescs)
                    data_last = issue + lat + _cdiv(nbytes, self.rd) + stall
                    last = max(beat0 + _cdiv(nbytes, self.L) - 1, data_last)
                    if stall and len(self.msegs[i]) == 1:
                        self.data_end[i] = data_last
                    prev = last + t.sg_pickup  # the next descriptor is taken when this one completed
                    mem_done = issue + _cdiv(nbytes, self.rd)
                    fetch["mm2s"].append(f)
                    pickup["mm2s"].append(pick)
                if len(self.msegs[i]) > 1:
                    self.min_dur[i] = last - first + 1
                i += 1
                moved = True
            if d < ns and (d == 0 or self._resolved(d - 1)):
                f = self._fetch_time(fetch["s2mm"], pickup["s2mm"], kick["s2mm"], fb)
                ready = f + lat + fb
                prev = self.ddone[d - 1] + t.sg_pickup if d else 0
                pick = max(ready, prev)
                self.arm[d] = pick
                for j in range(len(self.segs[d])):  # a scattered drain's later descriptors: fetched behind
                    fetch["s2mm"].append(f + j * fb)
                    pickup["s2mm"].append(pick)
                d += 1
                moved = True
            if not moved:
                raise ModelError("the descriptor chains can never complete (deadlock)")

    def _resolved(self, d: int) -> bool:
        return d in self.ddone or (self.advance(until_drain=d) and self._resolve_drain(d))

    def _fetch_time(self, fetched: list[int], picked: list[int], kick: int, fb: int) -> int:
        n, q = len(fetched), self.t.sg_queue
        f = kick + self.t.sg_kick if n == 0 else fetched[-1] + fb
        if n >= q:
            f = max(f, picked[n - q])
        return f

    def run(self) -> dict[str, int]:
        t, mu = self.t, self.spec.mmio_cycles
        h = mu - t.clear_latency
        mmio = t.sg_bind_mmio
        h += t.sg_bind_mmio * mu
        kick = {"s2mm": h + mu}
        h += 2 * mu
        kick["mm2s"] = h
        mmio += 2
        self._schedule(kick)
        nm, ns = len(self.p.mm2s), len(self.p.s2mm)
        if not self._resolved(ns - 1) or nm - 1 not in self.done:
            raise ModelError("the descriptor chains can never complete (deadlock)")
        mm_end = max(self.done.values())
        s2_end = max(self.ddone.values()) + t.sg_end
        h += mu  # S2MM DMASR: held mmio cycles, then polls to the next chain completion
        mmio += 1
        wait0 = h
        if h < mm_end < s2_end:
            h = mm_end + 2 * mu  # MM2S DMASR (idle), S2MM DMASR again
            mmio += 2
        h = max(h, s2_end)
        wait = h - wait0
        h += t.end_mmio * mu + t.snapshot_latency
        mmio += t.end_mmio
        return {"cycles": h, "array_busy": self.busy, "host_mmio_cycles": mmio * mu, "mmio_ops": mmio,
                "host_wait_cycles": wait}


# --------------------------------------------------------------------------- public API
def predict_program(spec: Any, program: DriverProgram, *, timing: Timing = DEFAULT_TIMING) -> Prediction:
    """Predicted fabric cycles (CYCLES counter) of running ``program`` once."""
    chains = bool(spec.dma_sg) and chainable(program, spec.lanes)
    tl = (_ChainTimeline if chains else _Timeline)(spec, program, timing)
    res = tl.run()
    stats = program.stats
    cpu_bytes = 0
    copy_calls = 0
    for _buf, _off, nbytes, pack in program.mm2s:
        if pack and not chains:  # in a chain, packs are DMA gathers (accel.contract.scatter)
            cpu_bytes += nbytes
            copy_calls += 1
    for _buf, _off, nbytes, unpack in program.s2mm:
        if unpack and not chains:  # in a chain, unpacks are DMA scatters (accel.contract.scatter)
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
            "driver_calls": 2 if chains else program.transfers,  # SG chains: one kick per channel
            "mmio_ops": res["mmio_ops"], "dma_bytes": breakdown["dma_bytes_in"] + breakdown["dma_bytes_out"]}
    return Prediction(cycles=int(res["cycles"]), breakdown=breakdown, host=host, objective=float(res["cycles"]))


def predict(
    spec: Any, schedule: Schedule, *, c_init: str = "zero", timing: Timing = DEFAULT_TIMING,
    a_dtype: str = "int8", b_dtype: str = "int8", out_dtype: str = "int32",
) -> Prediction:
    """Predicted cost of a schedule (builds its program with ``build_program``; the dtypes pick the
    u8 input flags and the fused epilogue)."""
    prog = build_program(spec, schedule, c_init=c_init, a_dtype=a_dtype, b_dtype=b_dtype, out_dtype=out_dtype)
    return predict_program(spec, prog, timing=timing)


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
        "driver_calls": pred.host.get("driver_calls", pred.host.get("dma_transfers", 0)),
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
    # scatter-gather: a narrower B window is gathered (no wider stream), so halved N tiles can pay
    tns = tile_options(n, spec.nmax, L, exhaustive=exhaustive or spec.dma_sg)
    tks = tile_options(k, spec.kmax, L, exhaustive=exhaustive)
    if exhaustive and m > 1 and max(1, min(spec.rows, m) // 2) not in tms:
        tms.append(max(1, min(spec.rows, m) // 2))
    # with K split and one N tile, "A" and "C" build the same program: call it output stationary
    stats = ("A", "C", "N") if k <= spec.kmax else ("C", "A", "N")
    orders = ("mn", "nm")
    dbs = (True, False)
    # scatter-gather: a staged schedule whose packs/unpacks the descriptors gather/scatter copies
    # nothing (rank keeps only those unless include_staging)
    stg = (False, True) if include_staging or spec.dma_sg else (False,)
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
    asked_staging = include_staging or schedules is not None or "staging" in (fixed or {})
    out: list[Ranked] = []
    seen: set[tuple[Any, ...]] = set()
    for s in cands:
        try:
            prog = build_program(spec, s, c_init=c_init)
        except (ShapeError, TransferTooLargeError):
            continue
        if s.staging and not asked_staging and not (spec.dma_sg and chainable(prog, spec.lanes)):
            continue  # would copy on the CPU: only when staging was asked for
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

