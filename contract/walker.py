"""The one walk of a driver program's MM2S packets, and the one encoding of an instruction beat.

The accelerator's sequencer reads its input stream as ARCHITECTURE.md ("Instruction stream")
describes: when its instruction FIFO is empty the next packet is a *command packet* whose
beats (one instruction each) fill the FIFO; otherwise the next packet is the *data packet* of
the instruction it executes (LOAD_A, STREAM_B, LOAD_EPI), and a DRAIN or DRAIN_Q consumes none
but emits one S2MM packet (int32 accumulators, or the epilogue's 8-bit results).
Three parts of the project need that reading: the executor (which MM2S packet each
drain waits for), the cost model (the order it prices instructions and packets in) and the
dialect verifier (the same protocol on IR ops). They all use :class:`Sequencer`, which holds
the protocol rules once: the executor and cost model through :func:`walk` on a program, the
verifier by feeding it one event per IR op.

An instruction word is ``spec.instr_word_bytes`` little-endian bytes at the start of its beat
(``spec.instr_bytes``), the rest of the beat zero: :func:`encode_instruction` and
:func:`decode_instruction` are the only places that know it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accel.contract.program import DriverProgram
from accel.errors import ProgramError

COMMAND_BUFFER = "cmd"  # the scratch buffer a program's command packets come from
DRAIN = "DRAIN"  # the opcode that takes no data packet and emits one S2MM packet
RESULT_BYTES = 4  # a DRAIN emits int32 accumulators (the ISA's result type)
#: the drains (no data packet, one S2MM packet) and the bytes per result each emits: DRAIN the
#: int32 accumulators, DRAIN_Q the epilogue's 8-bit results (packed densely)
DRAIN_RESULT_BYTES = {DRAIN: RESULT_BYTES, "DRAIN_Q": 1}
LOAD_EPI = "LOAD_EPI"  # data packet: the epilogue parameters of an acc bank (spec.epilogue layout)


@dataclass(frozen=True)
class Segment:
    """A command packet: the next ``count`` instruction beats of the command buffer."""

    entry: int  # index into mm2s
    offset: int  # byte offset in the command buffer
    count: int  # instructions it pushes into the FIFO
    first: int  # command word index of its first instruction


@dataclass(frozen=True)
class Instruction:
    """One instruction as the sequencer issues it."""

    word: int  # command word index (its position in the instruction stream)
    opcode: str
    fields: Mapping[str, int]
    data: int | None  # mm2s index of its data packet; None for a DRAIN
    drain: int | None  # s2mm index of the packet a DRAIN emits; None otherwise
    after: int  # mm2s index of the last packet taken before it issues (its data packet if it has one)


Step = Segment | Instruction


# --------------------------------------------------------------------------- the instruction beat
def encode_instruction(spec: Any, opcode: str, **fields: int) -> bytes:
    """One command-buffer beat: the word ``spec.encode`` builds, little-endian, zero-padded to a beat."""
    word = spec.encode(opcode, **fields)
    return word.to_bytes(spec.instr_word_bytes, "little") + bytes(spec.instr_bytes - spec.instr_word_bytes)


def decode_instruction(spec: Any, cmd: bytes, index: int) -> tuple[str, dict[str, int]]:
    """(opcode, fields) of beat ``index`` of a command buffer (inverse of :func:`encode_instruction`)."""
    start = index * spec.instr_bytes
    if start + spec.instr_bytes > len(cmd):
        raise ProgramError(
            f"instruction {index} lies beyond the command buffer's {len(cmd) // spec.instr_bytes} instruction(s); "
            "rebuild the program (its scratch 'cmd' init is truncated)"
        )
    return spec.decode(int.from_bytes(cmd[start : start + spec.instr_word_bytes], "little"))


# --------------------------------------------------------------------------- the protocol
class Sequencer:
    """The accelerator's reading of the stream, one event at a time; every protocol rule lives here.

    Events come in stream order: :meth:`command` and :meth:`data` for MM2S packets (their
    mm2s index is their position), :meth:`issue` when the sequencer takes the next instruction
    from the FIFO, :meth:`receive` for an S2MM packet (a DRAIN's output), :meth:`finish` at the
    end. A broken rule raises :class:`~accel.errors.ProgramError` naming the mm2s entry.
    """

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.steps: list[Step] = []
        self.entry = 0  # mm2s index of the next packet
        self.cursor = 0  # command-buffer offset the next command packet must start at
        self.pending = 0  # announced instructions not issued yet (in the FIFO)
        self.due: Instruction | None = None  # issued instruction whose data packet has not come
        self.words = 0  # instructions issued
        self.drains = 0  # DRAINs issued
        self.received = 0  # S2MM packets received
        self.bank_k: dict[int, int] = {}  # A bank -> K of the panel it holds (LOAD_A's win_cnt)
        self.due_bytes = 0  # bytes the due instruction consumes: the size of its data packet
        self.result_bytes: list[int] = []  # bytes each DRAIN not received yet emits
        self.epi_cols: dict[int, int] = {}  # acc bank -> output columns of its loaded epilogue parameters
        self._where: dict[int, str] = {}

    def _name(self, ins: Instruction) -> str:
        where = self._where.get(ins.word)
        return f"{ins.opcode} at {where}" if where else f"{ins.opcode} (instruction {ins.word})"

    def _check_not_due(self, instead: str) -> None:
        """The instruction being executed takes the next MM2S packet: nothing else may come first."""
        if self.due is not None:
            raise ProgramError(
                f"{self._name(self.due)} is not followed by its data packet mm2s[{self.due.data}]: {instead} comes "
                "first (a LOAD_A/STREAM_B consumes the packet right after it)"
            )

    def command(self, offset: int, nbytes: int, count: int | None = None) -> Segment:
        """A command packet of ``nbytes`` at ``offset`` of the command buffer (``count``: as announced,
        else from its size)."""
        i, ib, depth = self.entry, self.spec.instr_bytes, self.spec.ififo_depth
        self._check_not_due(f"mm2s[{i}], a command packet,")
        if self.pending:
            raise ProgramError(
                f"mm2s[{i}]: a new command packet while {self.pending} announced instruction(s) are missing "
                "(the sequencer takes a command packet only once its instruction FIFO is empty)"
            )
        if count is None:
            if nbytes % ib:
                raise ProgramError(
                    f"mm2s[{i}]: command packet of {nbytes} bytes is not aligned to whole instructions "
                    f"({ib} bytes each, one per beat)"
                )
            count = nbytes // ib
        if not 1 <= count <= depth:
            raise ProgramError(
                f"mm2s[{i}]: command packet of {count} instructions: count={count} must be 1..{depth} "
                "(instruction FIFO depth; a longer one overflows it: IFIFO_OVERFLOW)"
            )
        if nbytes != count * ib or offset != self.cursor:
            raise ProgramError(
                f"mm2s[{i}]: command packet [{offset}, +{nbytes}) does not hold the next {count} instruction words "
                f"at offset {self.cursor} ({ib} bytes each, the command buffer sent in order)"
            )
        seg = Segment(entry=i, offset=offset, count=count, first=self.words)
        self.steps.append(seg)
        self.cursor += nbytes
        self.pending = count
        self.entry += 1
        return seg

    def issue(self, opcode: str, fields: Mapping[str, int], where: str | None = None) -> Instruction:
        """The sequencer takes the next announced instruction (``where``: its source, for messages)."""
        self._check_not_due(f"the next instruction, {opcode},")
        if not self.pending:
            raise ProgramError(
                f"instruction {opcode} (instruction {self.words}) is outside a command packet: "
                "no announced instruction is left in the FIFO"
            )
        takes_data = opcode not in DRAIN_RESULT_BYTES
        f = {name: fields.get(name, 0) for name in ("abuf", "acc", "rows", "row_len", "win_cnt")}
        if opcode == "LOAD_A":
            self.bank_k[f["abuf"]] = f["win_cnt"]
            self.due_bytes = f["rows"] * f["row_len"]
        elif opcode == LOAD_EPI:  # a header and one record per output column of the bank's window
            self.epi_cols[f["acc"]] = f["win_cnt"]
            self.due_bytes = self.spec.epilogue.packet_bytes(f["win_cnt"])
        elif takes_data:  # STREAM_B: K rows of B, K being the win_cnt of the A bank it reads
            if f["abuf"] not in self.bank_k:
                raise ProgramError(
                    f"{opcode} (instruction {self.words}) reads A bank {f['abuf']} before any LOAD_A filled it"
                )
            self.due_bytes = self.bank_k[f["abuf"]] * f["row_len"]
        else:
            if opcode != DRAIN and self.epi_cols.get(f["acc"]) != f["win_cnt"]:
                loaded = self.epi_cols.get(f["acc"])
                raise ProgramError(
                    f"{opcode} (instruction {self.words}) drains {f['win_cnt']} columns of acc bank {f['acc']} but "
                    + ("no LOAD_EPI loaded that bank's epilogue parameters" if loaded is None else
                       f"the bank's epilogue parameters (LOAD_EPI) are for {loaded} columns")
                    + ": a LOAD_EPI for the bank's window must precede its DRAIN_Q"
                )
            self.result_bytes.append(f["rows"] * f["win_cnt"] * DRAIN_RESULT_BYTES[opcode])
        ins = Instruction(
            word=self.words,
            opcode=opcode,
            fields=fields,
            data=self.entry if takes_data else None,
            drain=None if takes_data else self.drains,
            after=self.entry if takes_data else self.entry - 1,
        )
        if where:
            self._where[ins.word] = where
        self.steps.append(ins)
        self.pending -= 1
        self.words += 1
        if takes_data:
            self.due = ins
        else:
            self.drains += 1
        return ins

    def data(self, buffer: str = "data", nbytes: int | None = None) -> int:
        """A data packet from ``buffer`` of ``nbytes`` (checked against what the instruction consumes:
        a shorter packet ends early, a longer one misses its TLAST); returns its mm2s index."""
        i = self.entry
        if self.due is None:
            why = ("it comes when the accelerator's instruction FIFO is empty, so it must be a command packet from "
                   f"the {COMMAND_BUFFER!r} buffer (or it is left over after the last instruction)" if not self.pending
                   else "the instruction before it takes no data packet")
            raise ProgramError(f"mm2s[{i}] ({buffer!r}) is a data packet without a preceding LOAD_A/STREAM_B: {why}")
        if nbytes is not None and nbytes != self.due_bytes:
            raise ProgramError(
                f"mm2s[{i}]: {self._name(self.due)} consumes {self.due_bytes} bytes but its packet has {nbytes}"
            )
        self.due = None
        self.entry += 1
        return i

    def receive(self, nbytes: int | None = None) -> int:
        """An S2MM packet of ``nbytes``: the output of the oldest DRAIN not received yet; returns its s2mm
        index."""
        self._check_not_due("a receive")
        if self.received >= self.drains:
            raise ProgramError(f"s2mm[{self.received}]: receive without a preceding DRAIN")
        want = self.result_bytes.pop(0)
        if nbytes is not None and nbytes != want:
            raise ProgramError(f"s2mm[{self.received}]: DRAIN emits {want} bytes but the receive is {nbytes}")
        self.received += 1
        return self.received - 1

    def finish(self, s2mm: int | None = None) -> list[Step]:
        """End of the stream: nothing announced or awaited is outstanding and every DRAIN has its S2MM
        packet (``s2mm``: how many the program lists; default: the receives seen)."""
        self._check_not_due(f"the end of mm2s (after {self.entry} entries)")
        if self.pending:
            raise ProgramError(f"{self.pending} announced instruction(s) never issue: the stream ends first")
        got = self.received if s2mm is None else s2mm
        if got != self.drains:
            raise ProgramError(f"program has {self.drains} DRAIN instructions but {got} s2mm transfers")
        return list(self.steps)


# --------------------------------------------------------------------------- programs
def walk(spec: Any, program: DriverProgram) -> list[Step]:
    """The program's segments and instructions in the order the sequencer takes them.

    Raises ProgramError (naming the mm2s entry) where the program breaks the protocol."""
    cmd = program.instructions()
    seq = Sequencer(spec)

    def run_fifo() -> None:
        """Issue instructions until one needs a data packet or the FIFO is empty."""
        while seq.pending and seq.due is None:
            seq.issue(*decode_instruction(spec, cmd, seq.words))

    for buf, off, nbytes, _ in program.mm2s:
        run_fifo()
        if buf != COMMAND_BUFFER:
            seq.data(buf, nbytes)
            continue
        if off + nbytes > len(cmd):
            raise ProgramError(
                f"mm2s[{seq.entry}] reads [{off}, {off + nbytes}) of the command buffer, which holds {len(cmd)} bytes"
            )
        seq.command(off, nbytes)
    run_fifo()
    steps = seq.finish(len(program.s2mm))
    for _buf, _off, nbytes, _ in program.s2mm:  # DRAINs are all issued: each result's size is known
        seq.receive(nbytes)
    return steps


def drain_needs(steps: list[Step]) -> list[int]:
    """Per drain (s2mm order): the last MM2S packet the sequencer takes before that DRAIN issues,
    i.e. the packet whose completion makes the drain's S2MM transfer able to complete."""
    return [s.after for s in steps if isinstance(s, Instruction) and s.drain is not None]
