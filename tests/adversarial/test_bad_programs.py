"""Adversarial: driver programs edited by hand, truncated, or pointed at the wrong buffers. Each is
refused with a ProgramError naming the field before any byte moves, and the next run (including a
plain matmul of the same shape, which shares the cached instruction words) still works."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from accel.contract.lowering import build_program
from accel.contract.program import DriverProgram
from accel.contract.schedule import Schedule, default_schedule
from accel.errors import ProgramError

M, K, N = 20, 24, 16


@pytest.fixture
def doc(accel_spec):
    return build_program(accel_spec, default_schedule(accel_spec, M, N, K)).to_dict()


@pytest.fixture
def staged_doc(accel_spec):
    s = Schedule(M, N, K, tile_m=8, tile_n=8, tile_k=8, stationarity="N", double_buffer=False, staging=True)
    return build_program(accel_spec, s).to_dict()


def _operands(acc, rng):
    a = acc.allocate((M, K), np.int8)
    b = acc.allocate((K, N), np.int8)
    a[:] = rng.integers(-128, 128, a.shape)
    b[:] = rng.integers(-128, 128, b.shape)
    return a, b, acc.allocate((M, N), np.int32)


def _check_refused(acc, rng, doc, match):
    a, b, c = _operands(acc, rng)
    c[:] = 7
    before = (np.array(a), np.array(b))
    with pytest.raises(ProgramError, match=match):
        acc.run(doc, a=a, b=b, c=c)
    assert (c == 7).all()  # refused before any byte moved
    np.testing.assert_array_equal(a, before[0])
    np.testing.assert_array_equal(b, before[1])
    # the next runs are unaffected: the same shape (same instruction words) and a good program
    np.testing.assert_array_equal(acc.matmul(a, b), a.astype(np.int32) @ b.astype(np.int32))


def _data_entry(doc):
    return next(i for i, e in enumerate(doc["mm2s"]) if e[0] != "cmd")


@pytest.mark.parametrize("bad", [1.5, "0", None, True, -8])
def test_offset_of_the_wrong_type(accel_sim, rng, doc, bad):
    i = _data_entry(doc)
    doc["mm2s"][i][1] = bad
    _check_refused(accel_sim, rng, doc, rf"mm2s\[{i}\]\[1\] \(offset\)")


def test_unknown_dtype(accel_sim, rng, doc):
    doc["operands"]["a"]["dtype"] = "int7"
    _check_refused(accel_sim, rng, doc, r"operands\.a\.dtype")


def test_instruction_words_not_base64(accel_sim, rng, doc):
    doc["scratch"]["cmd"]["init"] = "this is not base64!"
    _check_refused(accel_sim, rng, doc, r"scratch\.cmd\.init.*base64")


def test_instruction_words_of_the_wrong_length(accel_sim, rng, doc):
    doc["scratch"]["cmd"]["bytes"] += 8
    _check_refused(accel_sim, rng, doc, r"scratch\.cmd\.init")


def test_entry_of_the_wrong_shape(accel_sim, rng, doc):
    doc["s2mm"][0] = doc["s2mm"][0][:3]
    _check_refused(accel_sim, rng, doc, r"s2mm\[0\]")


def test_unknown_buffer(accel_sim, rng, doc):
    doc["s2mm"][0][0] = "d"
    _check_refused(accel_sim, rng, doc, r"s2mm\[0\]\[0\].*unknown buffer 'd'")


def test_unknown_pack_source(accel_sim, rng, staged_doc):
    i = next(i for i, e in enumerate(staged_doc["mm2s"]) if e[3])
    staged_doc["mm2s"][i][3]["src"] = "z"
    _check_refused(accel_sim, rng, staged_doc, rf"mm2s\[{i}\]\[3\] \(pack\)\.src.*not an operand")


def test_pack_of_the_wrong_size(accel_sim, rng, staged_doc):
    i = next(i for i, e in enumerate(staged_doc["mm2s"]) if e[3])
    staged_doc["mm2s"][i][3]["rows"] -= 1
    _check_refused(accel_sim, rng, staged_doc, rf"mm2s\[{i}\]\[3\].*bytes but the transfer moves")


def test_pack_outside_its_operand(accel_sim, rng, staged_doc):
    i = next(i for i, e in enumerate(staged_doc["mm2s"]) if e[3])
    staged_doc["mm2s"][i][3]["row0"] = M
    _check_refused(accel_sim, rng, staged_doc, r"outside")


def test_results_into_the_command_buffer(accel_sim, rng, doc):
    """This used to corrupt the cached instruction words for every later run of that shape."""
    nbytes = doc["scratch"]["cmd"]["bytes"]
    doc["s2mm"].append(["cmd", 0, nbytes, None])
    _check_refused(accel_sim, rng, doc, r"command buffer")


def test_results_into_an_input(accel_sim, rng, doc):
    doc["s2mm"][0][0] = "a"
    doc["s2mm"][0][1] = 0
    doc["s2mm"][0][2] = min(doc["s2mm"][0][2], M * K)
    _check_refused(accel_sim, rng, doc, r"input operand 'a'")


def test_an_output_left_unwritten(accel_sim, rng, doc):
    entry = doc["s2mm"][-1]
    entry[2] -= 4  # the last 4 bytes of C are never written
    _check_refused(accel_sim, rng, doc, r"operands\.c.*never written")


def test_a_result_drained_twice(accel_sim, rng, doc):
    doc["s2mm"].append(copy.deepcopy(doc["s2mm"][0]))
    _check_refused(accel_sim, rng, doc, r"drained twice")


def test_a_data_packet_repointed_at_the_output(accel_sim, rng, doc):
    i = _data_entry(doc)
    doc["mm2s"][i][0] = "c"
    doc["mm2s"][i][1] = 0
    _check_refused(accel_sim, rng, doc, rf"mm2s\[{i}\]\[0\].*output operand 'c'")


def test_a_data_packet_of_the_wrong_size(accel_sim, rng, doc):
    i = _data_entry(doc)
    doc["mm2s"][i][2] -= 1
    _check_refused(accel_sim, rng, doc, r"mm2s")


def test_programs_built_in_memory_are_validated_too(accel_spec):
    prog = build_program(accel_spec, default_schedule(accel_spec, M, N, K))
    prog.s2mm[0] = ["a", 0, 16, None]
    with pytest.raises(ProgramError, match="input operand"):
        prog.validate()


def test_json_round_trip_of_every_bad_document_is_typed(doc):
    for mutate in (lambda d: d.pop("operands"), lambda d: d.update(mm2s="x"), lambda d: d.update(spec=[])):
        bad = copy.deepcopy(doc)
        mutate(bad)
        with pytest.raises(ProgramError):
            DriverProgram.from_json(json.dumps(bad))
