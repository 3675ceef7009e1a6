"""The one packet walk (accel.contract.walker): what a valid program walks to, and a ProgramError
naming the mm2s entry for each way a program can break the sequencer's protocol."""

from __future__ import annotations

import base64

import pytest

from accel.contract.lowering import build_program
from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule
from accel.contract.walker import (
    Instruction,
    Segment,
    Sequencer,
    decode_instruction,
    drain_needs,
    encode_instruction,
    walk,
)
from accel.errors import ProgramError
from accel.overlays.spec import load_spec

SPECS = [load_spec("z2_default"), load_spec("kv260")]
IDS = [s.name for s in SPECS]


def _kinds(steps: list) -> list[tuple]:
    """A compact view of the records: (kind, mm2s entry or opcode, ...)."""
    out = []
    for s in steps:
        if isinstance(s, Segment):
            out.append(("CMD", s.entry, s.offset, s.count, s.first))
        else:
            out.append((s.opcode, s.word, s.data, s.drain, s.after))
    return out


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_two_panels_walk_to_their_records(spec) -> None:
    """20 x 16 x 8 in panels of 16 rows: one command packet, then LOAD_A/STREAM_B data per panel."""
    prog = build_program(spec, Schedule(20, 16, 8, tile_m=16, tile_n=16, tile_k=8))
    steps = walk(spec, prog)
    ib = spec.instr_bytes
    assert prog.mm2s[0][:3] == ["cmd", 0, 6 * ib]
    assert _kinds(steps) == [
        ("CMD", 0, 0, 6, 0),
        ("LOAD_A", 0, 1, None, 1),
        ("STREAM_B", 1, 2, None, 2),
        ("DRAIN", 2, None, 0, 2),
        ("LOAD_A", 3, 3, None, 3),
        ("STREAM_B", 4, 4, None, 4),
        ("DRAIN", 5, None, 1, 4),
    ]
    load, drain = steps[4], steps[6]
    assert load.fields["rows"] == 4 and load.fields["row_len"] == 8 and load.fields["win_cnt"] == 8
    assert load.fields["abuf"] == 1  # double buffering alternates A banks
    assert drain.fields["rows"] == 4 and drain.fields["win_cnt"] == 16 and drain.fields["acc"] == 1
    assert drain_needs(steps) == [2, 4]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_more_instructions_than_the_fifo_holds_walk_in_segments(spec) -> None:
    """> ififo_depth instructions: command packets of at most ififo_depth, each sent when the FIFO ran empty."""
    depth = spec.ififo_depth
    panels = depth // 3 + 20
    m = spec.rows * panels
    prog = build_program(spec, Schedule(m, spec.lanes, spec.lanes, tile_m=spec.rows, tile_n=spec.lanes,
                                        tile_k=spec.lanes))
    steps = walk(spec, prog)
    segs = [s for s in steps if isinstance(s, Segment)]
    instrs = [s for s in steps if isinstance(s, Instruction)]
    assert len(instrs) == 3 * panels == prog.stats["instructions"] > depth
    assert [s.count for s in segs] == [depth, 3 * panels - depth]
    assert [s.offset for s in segs] == [0, depth * spec.instr_bytes]
    assert [s.first for s in segs] == [0, depth]
    assert [prog.mm2s[s.entry][0] for s in segs] == ["cmd", "cmd"]
    # the second command packet comes right after the data packet of the segment's last data instruction
    last_data = max(i.data for i in instrs[:depth] if i.data is not None)
    assert segs[1].entry == last_data + 1
    # every other mm2s entry is the data packet of exactly one instruction, in order
    data = [i.data for i in instrs if i.data is not None]
    assert sorted(data + [s.entry for s in segs]) == list(range(len(prog.mm2s)))
    assert data == sorted(data)
    assert [i.drain for i in instrs if i.drain is not None] == list(range(len(prog.s2mm)))
    assert [i.word for i in instrs] == list(range(len(instrs)))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_instruction_beat_round_trip(spec) -> None:
    fields = {"abuf": 1, "rows": spec.rows, "row_len": 300, "win_lo": 2 * spec.lanes, "win_cnt": 17}
    beat = encode_instruction(spec, "LOAD_A", **fields)
    assert len(beat) == spec.instr_bytes
    assert beat[spec.instr_word_bytes :] == bytes(spec.instr_bytes - spec.instr_word_bytes)
    assert int.from_bytes(beat, "little") == spec.encode("LOAD_A", **fields)
    op, got = decode_instruction(spec, bytes(spec.instr_bytes) + beat, 1)
    assert op == "LOAD_A" and {k: got[k] for k in fields} == fields
    with pytest.raises(ProgramError, match="beyond the command buffer"):
        decode_instruction(spec, beat, 1)


# ----------------------------------------------------------------- protocol violations
SPEC = SPECS[0]
IB = SPEC.instr_bytes
LOAD = encode_instruction(SPEC, "LOAD_A", abuf=0, rows=1, row_len=8, win_lo=0, win_cnt=8)
STREAM = encode_instruction(SPEC, "STREAM_B", abuf=0, acc=0, accumulate=0, row_len=8, win_lo=0, win_cnt=8)
DRAIN = encode_instruction(SPEC, "DRAIN", acc=0, rows=1, win_cnt=8)


def _program(beats: list[bytes], mm2s: list[list], drains: int = 1) -> DriverProgram:
    cmd = b"".join(beats)
    return DriverProgram(
        spec_name=SPEC.name, spec_hash=SPEC.hash, name="t", c_init="zero",
        operands={"a": {"shape": [1, 8], "dtype": "int8", "role": "in"},
                  "b": {"shape": [8, 8], "dtype": "int8", "role": "in"},
                  "c": {"shape": [1, 8], "dtype": "int32", "role": "out"}},
        scratch={"cmd": {"bytes": len(cmd), "init": base64.b64encode(cmd).decode()}},
        mm2s=mm2s, s2mm=[["c", 0, 32, None]] * drains,
    )


A, B = ["a", 0, 8, None], ["b", 0, 64, None]
VALID = ([LOAD, STREAM, DRAIN], [["cmd", 0, 3 * IB, None], A, B])


def test_hand_built_program_is_valid() -> None:
    steps = walk(SPEC, _program(*VALID))
    assert _kinds(steps) == [("CMD", 0, 0, 3, 0), ("LOAD_A", 0, 1, None, 1), ("STREAM_B", 1, 2, None, 2),
                             ("DRAIN", 2, None, 0, 2)]


VIOLATIONS = {
    "segment_over_fifo": (
        lambda: _program([DRAIN] * (SPEC.ififo_depth + 1), [["cmd", 0, (SPEC.ififo_depth + 1) * IB, None]],
                         drains=SPEC.ififo_depth + 1),
        ["mm2s[0]", f"count={SPEC.ififo_depth + 1} must be 1..{SPEC.ififo_depth}"],
    ),
    "data_where_command_due": (
        lambda: _program(VALID[0], [A, ["cmd", 0, 3 * IB, None], B]),
        ["mm2s[0] ('a')", "instruction FIFO is empty"],
    ),
    "segment_not_whole_instructions": (
        lambda: _program(VALID[0], [["cmd", 0, 3 * IB - 1, None], A, B]),
        ["mm2s[0]", "not aligned to whole instructions"],
    ),
    "segment_not_contiguous": (
        lambda: _program([DRAIN, DRAIN], [["cmd", IB, IB, None], ["cmd", 0, IB, None]], drains=2),
        ["mm2s[0]", "does not hold the next 1 instruction words at offset 0"],
    ),
    "segment_outside_command_buffer": (
        lambda: _program(VALID[0], [["cmd", 0, 4 * IB, None], A, B]),
        ["mm2s[0]", "command buffer, which holds"],
    ),
    "missing_data_packet": (
        lambda: _program(VALID[0], [["cmd", 0, 3 * IB, None], A]),
        ["STREAM_B (instruction 1) is not followed by its data packet mm2s[2]", "end of mm2s"],
    ),
    "command_where_data_due": (
        lambda: _program([LOAD, DRAIN], [["cmd", 0, IB, None], ["cmd", IB, IB, None]]),
        ["LOAD_A (instruction 0) is not followed by its data packet mm2s[1]", "mm2s[1], a command packet"],
    ),
    "leftover_entry": (
        lambda: _program(VALID[0], [*VALID[1], B]),
        ["mm2s[3] ('b')", "left over"],
    ),
    "drains_without_s2mm": (
        lambda: _program(*VALID, drains=0),
        ["1 DRAIN instructions but 0 s2mm transfers"],
    ),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_violation_raises_program_error_naming_the_entry(case: str) -> None:
    make, fragments = VIOLATIONS[case]
    with pytest.raises(ProgramError) as info:
        walk(SPEC, make())
    for fragment in fragments:
        assert fragment in str(info.value)


def test_streaming_events_enforce_the_same_rules() -> None:
    """The verifier's form: one event per IR op."""
    seq = Sequencer(SPEC)
    with pytest.raises(ProgramError, match="outside a command packet"):
        seq.issue("DRAIN", {})
    with pytest.raises(ProgramError, match="receive without a preceding DRAIN"):
        seq.receive()
    seq.command(0, 2 * IB, 2)
    with pytest.raises(ProgramError, match="while 2 announced instruction"):
        seq.command(2 * IB, IB, 1)
    seq.issue("DRAIN", {}, where="x.mlir:3:5")
    with pytest.raises(ProgramError, match="without a preceding LOAD_A/STREAM_B: the instruction before it"):
        seq.data("a")
    seq.issue("LOAD_A", {}, where="x.mlir:4:5")
    with pytest.raises(ProgramError, match=r"LOAD_A at x\.mlir:4:5 is not followed by its data packet mm2s\[1\]"):
        seq.receive()
    assert seq.data("a") == 1
    with pytest.raises(ProgramError, match="1 DRAIN instructions but 0 s2mm"):
        seq.finish()
    assert seq.receive() == 0
    steps = seq.finish()
    assert _kinds(steps) == [("CMD", 0, 0, 2, 0), ("DRAIN", 0, None, 0, 0), ("LOAD_A", 1, 1, None, 1)]
    other = Sequencer(SPEC)
    other.command(0, IB, 1)
    with pytest.raises(ProgramError, match=r"1 announced instruction\(s\) never issue"):
        other.finish()
