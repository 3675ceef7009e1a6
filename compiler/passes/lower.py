"""accel-lower: rewrite every scheduled ``linalg.matmul`` into the ``accel`` dialect.

The instruction and packet streams come from ``accel.contract.lowering.build_program`` (the single
lowering of a schedule to the ISA); this pass materialises them as ops, in MM2S stream order:

    %a = "accel.buffer"(%A) {operand = "a"}            // A, B: arguments or constants
    %c = "accel.alloc"() {operand = "c", fill = 0}      // tensor form (or accel.buffer of C)
    %cmd = "accel.scratch"() {name = "cmd", bytes = 24}
    "accel.init_dma"() {spec, spec_hash, dma_base, accel_base, name, c_init, schedule, predicted}
    "accel.send_literal"(%cmd) {offset = 0, bytes = 24, count = 3}   // command packet
    "accel.load_a"() {abuf = 0, rows = 5, row_len = 7, win_lo = 0, win_cnt = 7}
    "accel.send"(%a) {offset = 0, bytes = 35}                         // its data packet
    "accel.stream_b"() {abuf = 0, acc = 0, accumulate = 0, row_len = 3, win_lo = 0, win_cnt = 3}
    "accel.send"(%b) {offset = 0, bytes = 21}
    "accel.drain"() {acc = 0, rows = 5, win_cnt = 3}
    "accel.recv"(%c) {offset = 0, bytes = 60}
    "accel.wait"()
    %r = "accel.result"(%c)                              // tensor form: replaces the matmul result

The matmul and its now-dead init ops are erased.
"""

from __future__ import annotations

from typing import Any

from accel.contract import costmodel
from accel.contract.lowering import build_program
from accel.contract.schedule import Schedule
from accel.contract.walker import Segment, walk
from accel.errors import AccelError, CompileError
from accel.overlays.spec import load_spec

from .. import dialect, irutil
from ..irutil import ir
from .base import Pass, register
from .schedule import SCHEDULE_KEYS, walk_matmuls


def load_recorded_spec(record: dict[str, Any]) -> Any:
    """The spec an op was scheduled for (by name or path), checked against the recorded hash."""
    ref = record.get("spec_ref") or record["spec"]
    spec = load_spec(ref)
    if spec.hash != record["spec_hash"]:
        raise CompileError(
            f"spec {ref!r} changed since scheduling (hash {spec.hash[:12]} != recorded {record['spec_hash'][:12]}); "
            "re-run accel-schedule"
        )
    return spec


def schedule_from_record(match: dict[str, Any], record: dict[str, Any]) -> Schedule:
    return Schedule(match["m"], match["n"], match["k"], **{k: record[k] for k in SCHEDULE_KEYS})


@register
class AccelLower(Pass):
    name = "accel-lower"
    summary = "rewrite scheduled linalg.matmul ops into accel dialect ops (instructions, DMA packets, banks)"
    options = ()

    def run(self, module: Any) -> None:
        for func, mm in walk_matmuls(module):
            match = irutil.dict_attr(mm, "accel.match")
            record = irutil.dict_attr(mm, "accel.schedule")
            if match is None or record is None:
                raise self.error("linalg.matmul has no schedule: run accel-match and accel-schedule first", mm)
            self.lower(func, mm, match, record)

    def lower(self, func: ir.Operation, mm: ir.Operation, match: dict[str, Any], record: dict[str, Any]) -> None:
        try:
            spec = load_recorded_spec(record)
            sched = schedule_from_record(match, record)
            prog = build_program(spec, sched, name=irutil.func_name(func), c_init=match["c_init"])
            pred = costmodel.predict_program(spec, prog)
        except CompileError as exc:
            raise self.error(str(exc), mm) from None
        except AccelError as exc:
            raise self.error(f"cannot lower the schedule: {exc}", mm) from None
        predicted = pred.to_dict()
        predicted["schedule_source"] = record.get("source", "cost-model")
        remarks = irutil.from_attr(mm.attributes["accel.remarks"]) if "accel.remarks" in mm.attributes else []
        loc = mm.location
        A, B, C = list(mm.operands)
        form = match["form"]
        i8 = ir.IntegerType.get_signless(8)
        with ir.InsertionPoint(mm), loc:

            def create(op_name: str, operands: list[Any] = (), results: list[Any] = (), **attrs: Any) -> ir.Operation:
                return ir.Operation.create(
                    op_name, results=list(results), operands=list(operands),
                    attributes={k: irutil.to_attr(v) for k, v in attrs.items()},
                )

            def as_memref(v: ir.Value) -> ir.Type:
                t = v.type
                if isinstance(t, ir.MemRefType):
                    return t
                return ir.MemRefType.get(list(t.shape), t.element_type)

            bufs: dict[str, ir.Value] = {}
            bufs["a"] = create("accel.buffer", [A], [as_memref(A)], operand="a").result
            bufs["b"] = create("accel.buffer", [B], [as_memref(B)], operand="b").result
            c_from_arg = form == "memref" or isinstance(C, ir.BlockArgument)
            if c_from_arg:
                extra = {"fill": match["c_fill"]} if match.get("c_fill") else {}
                bufs["c"] = create("accel.buffer", [C], [as_memref(C)], operand="c", **extra).result
            else:
                bufs["c"] = create("accel.alloc", [], [as_memref(C)], operand="c", fill=match["c_fill"]).result
            for sname, s in prog.scratch.items():
                t = ir.MemRefType.get([int(s["bytes"])], i8)
                bufs[sname] = create("accel.scratch", [], [t], name=sname, bytes=int(s["bytes"])).result
            create(
                "accel.init_dma",
                spec=spec.name,
                spec_hash=spec.hash,
                dma_base=spec.dma_base,
                accel_base=spec.accel_base,
                name=prog.name,
                c_init=prog.c_init,
                schedule={**{k: record[k] for k in SCHEDULE_KEYS}, "m": sched.m, "n": sched.n, "k": sched.k,
                          "spec_ref": record.get("spec_ref", spec.name), "source": record.get("source", "")},
                predicted=predicted,
            )
            for step in walk(spec, prog):
                if isinstance(step, Segment):
                    buf, off, nbytes, _ = prog.mm2s[step.entry]
                    create("accel.send_literal", [bufs[buf]], offset=off, bytes=nbytes, count=step.count)
                    continue
                op = step.opcode
                create(f"accel.{op.lower()}", **{f: step.fields[f] for f in dialect.INSTR_FIELDS[op]})
                if step.drain is not None:
                    buf, off, nbytes, unpack = prog.s2mm[step.drain]
                    extra = {"unpack": unpack} if unpack else {}
                    create("accel.recv", [bufs[buf]], offset=off, bytes=nbytes, **extra)
                else:
                    buf, off, nbytes, pack = prog.mm2s[step.data]
                    extra = {"pack": pack} if pack else {}
                    create("accel.send", [bufs[buf]], offset=off, bytes=nbytes, **extra)
            create("accel.wait")
            if form == "tensor":
                res = create("accel.result", [bufs["c"]], [mm.results[0].type]).result
                mm.results[0].replace_all_uses_with(res)
        if remarks:
            irutil.set_attr(func, "accel.remarks", remarks)
        old_init = C if not c_from_arg else None
        mm.erase()
        _erase_dead(old_init)
        _erase_dead_fills(func)


def _erase_dead(v: ir.Value | None) -> None:
    """Erase the chain fill(empty) (and its constant) that initialised C if nothing else uses it."""
    while v is not None and not isinstance(v, ir.BlockArgument):
        owner = v.owner
        if not isinstance(owner, ir.Operation):
            owner = owner.operation
        if any(True for _ in owner.results[0].uses):
            return
        operands = list(owner.operands)
        owner.erase()
        nxt = None
        for o in operands:
            if not isinstance(o, ir.BlockArgument) and o.owner.name in ("tensor.empty", "linalg.fill"):
                nxt = o
            else:
                _erase_dead_single(o)
        v = nxt


def _erase_dead_single(v: ir.Value) -> None:
    if isinstance(v, ir.BlockArgument):
        return
    owner = v.owner
    if owner.name == "arith.constant" and not any(True for _ in owner.results[0].uses):
        owner.erase()


def _erase_dead_fills(func: ir.Operation) -> None:
    """memref form: the linalg.fill of C is now part of the program (c_init / fill)."""
    for op in irutil.body_ops(func):
        if op.name == "linalg.fill" and isinstance(list(op.operands)[-1].type, ir.MemRefType):
            src = op.operands[0]
            op.erase()
            _erase_dead_single(src)
