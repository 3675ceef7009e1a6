"""The accel dialect: the IRDL file is generated from the op table, and the Python verifier
rejects what the hardware or the packet protocol would (each mutation of a valid program)."""

from __future__ import annotations

import copy

import pytest

from accel.compiler import dialect, opt
from accel.compiler.passes import AccelEmit
from accel.errors import CompileError

from .mlir_gen import memref_func, tensor_func


def test_irdl_file_is_generated_from_the_op_table() -> None:
    assert dialect.IRDL_PATH.read_text() == dialect.irdl_text(), (
        "compiler/dialect/accel.irdl.mlir is stale: run accel-run irdl --write"
    )
    for name, d in dialect.OPS.items():
        assert f"irdl.operation @{d.name} " in dialect.IRDL_PATH.read_text(), name


def _lowered_ops(src: str) -> tuple[list, dict, object]:
    """(name, attrs, buffer names, loc) of the accel ops of the first function, and sizes."""
    from accel.compiler import irutil
    from accel.compiler.pipeline import run_pipeline
    from accel.overlays.spec import load_spec

    ctx = irutil.make_context()
    module, _ = irutil.parse_module(src, ctx)
    run_pipeline(module, "builtin.module(accel-match,accel-schedule,accel-lower)")
    func = next(irutil.functions(module))
    names, sizes, seq = {}, {}, []
    from accel.compiler.passes.emit import _nbytes

    for op in irutil.body_ops(func):
        if not op.name.startswith("accel."):
            continue
        attrs = {na.name: irutil.from_attr(na.attr) for na in (op.attributes[i] for i in range(len(op.attributes)))}
        if op.name in ("accel.buffer", "accel.alloc", "accel.scratch"):
            bname = attrs.get("operand") or attrs.get("name")
            names[op.results[0]] = bname
            sizes[bname] = _nbytes(op.results[0].type)
            continue
        seq.append((op.name, attrs, [names[v] for v in op.operands], "loc"))
    return seq, sizes, load_spec("z2_default")


SRC = memref_func("f", 40, 600, 24)


def test_verifier_accepts_lowered_program() -> None:
    seq, sizes, spec = _lowered_ops(SRC)
    prog = dialect.verify_sequence(seq, spec, sizes)
    assert [w[0] for w in prog.words][:3] == ["LOAD_A", "STREAM_B", "DRAIN"]
    assert len(prog.s2mm) == sum(1 for w in prog.words if w[0] == "DRAIN")


def _find(seq: list, name: str, nth: int = 0) -> int:
    return [i for i, s in enumerate(seq) if s[0] == name][nth]


MUTATIONS = {
    "rows_over_array": (lambda q: _set(q, "accel.load_a", rows=17), "rows=17 must be 1..16"),
    "win_unaligned": (lambda q: _set(q, "accel.stream_b", win_lo=4), "must be a multiple of 8 lanes"),
    "window_outside_row": (lambda q: _set(q, "accel.stream_b", win_cnt=700), "exceeds row_len"),
    "n_over_nmax": (lambda q: _set(q, "accel.drain", win_cnt=513), "exceeds NMAX=512"),
    "bank_out_of_range": (lambda q: _set(q, "accel.stream_b", acc=2), "acc=2 must be 0 or 1"),
    "short_packet": (lambda q: _set(q, "accel.send", bytes=10), "bytes but its packet has 10"),
    "missing_data": (lambda q: q.pop(_find(q, "accel.send")), "is not followed by its data packet"),
    "recv_size": (lambda q: _set(q, "accel.recv", bytes=4), "but the receive is 4"),
    "missing_recv": (lambda q: q.pop(_find(q, "accel.recv", -1)), "before every announced instruction and receive"),
    "count_too_big": (lambda q: _set(q, "accel.send_literal", count=300), "count=300 must be 1..256"),
    "outside_buffer": (lambda q: _set(q, "accel.send", offset=10**6), "is outside buffer 'a'"),
    "wrong_buffer": (lambda q: _retarget(q, "accel.recv", "a"), "cannot move buffer 'a'"),
    "before_init": (lambda q: q.insert(0, q.pop(_find(q, "accel.send_literal"))), "before accel.init_dma"),
}


def _set(q: list, name: str, **kw: object) -> None:
    i = _find(q, name)
    n, attrs, bufs, loc = q[i]
    q[i] = (n, {**attrs, **kw}, bufs, loc)


def _retarget(q: list, name: str, buf: str) -> None:
    i = _find(q, name)
    n, attrs, _bufs, loc = q[i]
    q[i] = (n, attrs, [buf], loc)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_verifier_rejects(mutation: str) -> None:
    seq, sizes, spec = _lowered_ops(SRC)
    mutate, fragment = MUTATIONS[mutation]
    bad = copy.deepcopy(seq)
    mutate(bad)
    with pytest.raises(CompileError, match=r"invalid accel IR") as info:
        dialect.verify_sequence(bad, spec, sizes)
    assert fragment in str(info.value)


def test_structure_checks() -> None:
    with pytest.raises(CompileError, match=r"unknown op 'accel\.bogus'"):
        dialect.verify_structure("accel.bogus", {}, 0, 0, "x:1:1")
    with pytest.raises(CompileError, match="takes 1 operand"):
        dialect.verify_structure("accel.send", {"offset": 0, "bytes": 1}, 2, 0, "x:1:1")
    with pytest.raises(CompileError, match="needs attribute 'win_cnt'"):
        dialect.verify_structure("accel.drain", {"acc": 0, "rows": 1}, 0, 0, "x:1:1")
    with pytest.raises(CompileError, match="must be int"):
        dialect.verify_structure("accel.drain", {"acc": 0, "rows": "1", "win_cnt": 1}, 0, 0, "x:1:1")


def test_emit_refuses_hand_edited_ir() -> None:
    """accel-emit checks that the IR is exactly what the schedule builds."""
    lowered, _ = opt(tensor_func("f", 20, 16, 8), "builtin.module(accel-match,accel-schedule,accel-lower)")
    edited = lowered.replace("win_cnt = 16 : i64, win_lo = 0 : i64} : () -> ()\n    \"accel.send\"",
                             "win_cnt = 8 : i64, win_lo = 0 : i64} : () -> ()\n    \"accel.send\"", 1)
    assert edited != lowered
    with pytest.raises(CompileError, match="differs from the program its schedule builds"):
        opt(edited, "builtin.module(accel-emit)")
    _out, res = opt(lowered, "builtin.module(accel-emit)")
    emit = next(p for p in res.passes if isinstance(p, AccelEmit))
    assert set(emit.result.programs) == {"f"}
