"""accel-emit: verify the accel ops of every function and emit its driver program.

For each function holding ``accel.init_dma``: the Python-side verifier checks every accel op
(structure, ISA field ranges against the spec, the packet protocol, buffer bounds); the
driver program is built with ``accel.contract.lowering.build_program`` from the schedule recorded on
``accel.init_dma`` and must reproduce the IR's instruction words, MM2S and S2MM streams
exactly (the IR is what the program will do); the prediction of the cost model is attached.
The function gets ``accel.program = {name, spec, instructions, mm2s, s2mm, predicted_cycles}``;
the programs are collected in ``self.result`` (a :class:`~accel.contract.module.CompiledModule`)
and written to ``output`` if that option is set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.contract.lowering import build_program
from accel.contract.module import DTYPES, CompiledFunction, CompiledModule, encode_array
from accel.contract.schedule import Schedule
from accel.contract.walker import Instruction, walk
from accel.errors import AccelError, CompileError

from .. import dialect, irutil
from ..irutil import ir
from .base import Option, Pass, register
from .lower import load_recorded_spec
from .schedule import SCHEDULE_KEYS


def _nbytes(t: ir.Type) -> int:
    info = irutil.shaped(t)
    if info is None or info[1] is None:
        return 0
    _kind, shape, elt = info
    width = int(elt.lstrip("usi")) // 8 if elt.lstrip("usi").isdigit() else 1
    return int(np.prod(shape)) * width


def _sig_entry(t: ir.Type) -> dict[str, Any]:
    info = irutil.shaped(t)
    if info is None or info[1] is None:
        return {"kind": "other", "shape": [], "dtype": None, "type": str(t)}
    kind, shape, elt = info
    return {"kind": kind, "shape": shape, "dtype": DTYPES.get(elt)}


@register
class AccelEmit(Pass):
    name = "accel-emit"
    summary = "verify accel IR and emit one driver program per function (accel.contract.lowering.build_program)"
    options = (Option("output", str, None, "write the compiled module (JSON) to this path"),)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.result: CompiledModule | None = None
        self.source = ""

    def run(self, module: Any) -> None:
        out: CompiledModule | None = None
        for func in irutil.functions(module):
            ops = irutil.body_ops(func)
            if not any(op.name == "accel.init_dma" for op in ops):
                if any(op.name == "linalg.matmul" for op in ops):
                    raise self.error("linalg.matmul was not lowered: run accel-lower before accel-emit",
                                     next(op for op in ops if op.name == "linalg.matmul"))
                continue
            fn, spec = self.emit_function(func, ops)
            if out is None:
                out = CompiledModule(spec_name=spec.name, spec_hash=spec.hash, source=self.source)
            elif out.spec_hash != spec.hash:
                raise self.error(f"functions compiled for different specs ({out.spec_name} and {spec.name}); "
                                 "compile one module per spec", func)
            out.functions[fn.name] = fn
            out.remarks.extend(f"@{fn.name}: {r}" for r in fn.remarks)
        self.result = out
        if out is not None and self.opt("output"):
            out.save(self.opt("output"))

    # ------------------------------------------------------------------ per function
    def emit_function(self, func: ir.Operation, ops: list[ir.Operation]) -> tuple[CompiledFunction, Any]:
        fname = irutil.func_name(func)
        names: dict[Any, str] = {}  # SSA value -> buffer name
        sizes: dict[str, int] = {}
        bindings: dict[str, dict[str, Any]] = {}
        seq: list[tuple[str, dict[str, Any], list[str], str]] = []
        init_op = None
        result_ops = []
        for op in ops:
            if not op.name.startswith("accel."):
                continue
            loc = self.loc(op)
            attrs = irutil.attr_dict(op)
            dialect.verify_structure(op.name, attrs, len(op.operands), len(op.results), loc)
            if op.name in ("accel.buffer", "accel.alloc", "accel.scratch"):
                bname = attrs.get("operand") or attrs.get("name")
                if bname in sizes:
                    raise CompileError(f"invalid accel IR: buffer {bname!r} defined twice", op=op.name, location=loc)
                names[op.results[0]] = bname
                sizes[bname] = _nbytes(op.results[0].type)
                if op.name == "accel.scratch" and sizes[bname] != attrs["bytes"]:
                    raise CompileError(f"invalid accel IR: scratch {bname!r} type holds {sizes[bname]} bytes, "
                                       f"attribute says {attrs['bytes']}", op=op.name, location=loc)
                if op.name == "accel.buffer":
                    bindings[bname] = self.binding(func, op, attrs)
                elif op.name == "accel.alloc":
                    bindings[bname] = {"alloc": True, "fill": int(attrs["fill"])}
                continue
            if op.name == "accel.init_dma":
                init_op = op
            if op.name == "accel.result":
                result_ops.append(op)
            bufs = []
            for v in op.operands:
                if v not in names:
                    raise CompileError(f"invalid accel IR: '{op.name}' operand is not an accel buffer",
                                       op=op.name, location=loc)
                bufs.append(names[v])
            seq.append((op.name, attrs, bufs, loc))
        if init_op is None:
            raise self.error("no accel.init_dma", func)
        init = irutil.attr_dict(init_op)
        try:
            spec = load_recorded_spec(init["schedule"] | {"spec": init["spec"], "spec_hash": init["spec_hash"]})
        except AccelError as exc:
            raise self.error(str(exc), init_op) from None
        for need in ("a", "b", "c"):
            if need not in bindings:
                raise self.error(f"invalid accel IR: operand buffer {need!r} is missing", init_op)
        decoded = dialect.verify_sequence(seq, spec, sizes)
        sched_rec = init["schedule"]
        try:
            sched = Schedule(sched_rec["m"], sched_rec["n"], sched_rec["k"], **{k: sched_rec[k] for k in SCHEDULE_KEYS})
            prog = build_program(spec, sched, name=init["name"], c_init=init["c_init"])
        except AccelError as exc:
            raise self.error(f"cannot build the driver program: {exc}", init_op) from None
        self.cross_check(prog, decoded, spec, init_op)
        prog.predicted = dict(init.get("predicted") or {})
        # signature and bindings
        ftype = ir.TypeAttr(func.attributes["function_type"]).value
        args = [_sig_entry(t) for t in ftype.inputs]
        results = [_sig_entry(t) | {"operand": "c"} for t in ftype.results]
        if result_ops and len(results) != 1:
            raise self.error("a tensor-form function must return exactly C", func)
        remarks = irutil.from_attr(func.attributes["accel.remarks"]) if "accel.remarks" in func.attributes else []
        fn = CompiledFunction(
            name=fname, program=prog, signature={"args": args, "results": results}, bindings=bindings,
            location=self.loc(init_op), remarks=list(remarks),
        )
        irutil.set_attr(func, "accel.program", {
            "name": prog.name,
            "spec": spec.name,
            "instructions": prog.stats["instructions"],
            "mm2s": len(prog.mm2s),
            "s2mm": len(prog.s2mm),
            "predicted_cycles": int(prog.predicted.get("cycles", 0)),
        })
        return fn, spec

    def binding(self, func: ir.Operation, op: ir.Operation, attrs: dict[str, Any]) -> dict[str, Any]:
        src = op.operands[0]
        if isinstance(src, ir.BlockArgument):
            out: dict[str, Any] = {"arg": int(src.arg_number)}
            if attrs.get("fill"):
                out["fill"] = int(attrs["fill"])
            return out
        owner = src.owner
        if owner.name == "arith.constant":
            value = owner.attributes["value"]
            if isinstance(value, ir.DenseIntElementsAttr):
                shape = list(src.type.shape)
                if value.is_splat:
                    arr = np.full(shape, int(value.get_splat_value().value), dtype=np.int8)
                else:
                    arr = np.array(value).astype(np.int8).reshape(shape)
                return {"const": encode_array(arr)}
        raise self.error(f"operand buffer {attrs.get('operand')!r} is bound to '{owner.name}'; function arguments "
                         "and arith.constant are supported", op)

    def cross_check(self, prog: Any, decoded: Any, spec: Any, at: ir.Operation) -> None:
        want = [(s.opcode, {f: s.fields[f] for f in dialect.INSTR_FIELDS[s.opcode]})
                for s in walk(spec, prog) if isinstance(s, Instruction)]
        if want != decoded.words:
            pairs = zip(want, decoded.words, strict=False)
            i = next((j for j, (x, y) in enumerate(pairs) if x != y), min(len(want), len(decoded.words)))
            raise self.error(
                f"the accel IR's instruction {i} ({decoded.words[i] if i < len(decoded.words) else 'missing'}) differs "
                f"from the program its schedule builds ({want[i] if i < len(want) else 'none'}): the driver-program "
                "format expresses build_program's streams only; re-run accel-lower",
                at,
            )
        for chan in ("mm2s", "s2mm"):
            a, b = getattr(prog, chan), getattr(decoded, chan)
            if [list(e) for e in a] != [list(e) for e in b]:
                pairs = zip(a, b, strict=False)
                i = next((j for j, (x, y) in enumerate(pairs) if list(x) != list(y)), min(len(a), len(b)))
                raise self.error(
                    f"the accel IR's {chan} transfer {i} ({b[i] if i < len(b) else 'missing'}) differs from the "
                    f"program its schedule builds ({a[i] if i < len(a) else 'none'}); re-run accel-lower",
                    at,
                )
