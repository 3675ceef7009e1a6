"""accel-model-emit: lower the ``accel.matmul`` ops of a partitioned model to driver programs
(``accel.program`` on each op) and serialize the function into one model program.

Reads only the accel IR that ``accel-onnx-partition`` wrote (``accel.weight``, ``accel.view``,
``accel.matmul``, ``accel.host``) plus the function's ``accel.inputs``/``accel.outputs`` (ONNX
graph input/output names): a pass that changes those ops changes the program. Host steps whose
results nothing reads are dropped (host ops have no side effects); the arena is planned by
liveness (see :mod:`accel.contract.model`).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from accel.contract import costmodel, epilogue
from accel.contract.costmodel import predict_program
from accel.contract.lowering import PARAMS_OPERAND, build_program
from accel.contract.model import ALIGN, ModelProgram
from accel.contract.program import DriverProgram
from accel.contract.schedule import default_schedule
from accel.errors import AccelError, CompileError

from .. import dialect, irutil
from .base import Option, Pass, register
from .onnx_partition import tensor_type


def _align(x: int) -> int:
    return (x + ALIGN - 1) // ALIGN * ALIGN


@register
class AccelModelEmit(Pass):
    name = "accel-model-emit"
    summary = "lower accel.matmul ops to driver programs and serialize a partitioned model into a model program"
    options = (Option("spec", str, "z2_default", "accelerator spec name or .toml path"),
               Option("output", str, None, "write the model program (JSON) to this path"),
               Option("schedule", str, "cost-model", "each matmul's schedule: the cost model's choice (as "
                      "accel-schedule picks for one matmul) or the runtime's default", ("cost-model", "default")),
               Option("objective", str, "fabric", "what the cost model minimises (see accel-schedule)",
                      ("fabric", "board")))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.result: ModelProgram | None = None
        self.source = ""

    def run(self, module: Any) -> None:
        from accel.overlays.spec import load_spec

        spec = load_spec(self.opt("spec"))
        funcs = [f for f in irutil.functions(module) if irutil.has_body(f)]
        if len(funcs) != 1:
            raise CompileError(f"accel-model-emit needs exactly one function (an imported ONNX graph), "
                               f"got {len(funcs)}")
        self.lower(funcs[0], spec)
        self.result = self.serialize(funcs[0], spec)
        if self.opt("output"):
            self.result.save(self.opt("output"))

    # ------------------------------------------------------------------ lowering
    def lower(self, func: Any, spec: Any) -> None:
        """Attach the driver program to every accel.matmul (the one lowering) with the schedule the
        cost model ranks first for its shape (zero-copy candidates only, as accel-schedule's fabric
        objective), or the runtime's default schedule (option ``schedule=default``)."""
        for op in irutil.body_ops(func):
            if op.name != "accel.matmul" or "accel.program" in op.attributes:
                continue
            a = irutil.attr_dict(op)
            m, n, k = a["m"], a["n"], a["k"]
            if self.opt("schedule") == "default":
                sched = default_schedule(spec, m, n, k)
            else:
                try:
                    sched = costmodel.choose(spec, m, n, k, objective=self.opt("objective")).schedule
                except AccelError as exc:
                    raise CompileError(f"ONNX node {a['node']!r}: no schedule for M={m} N={n} K={k}: {exc}",
                                       location=self.loc(op)) from None
            ep = a.get("epilogue")
            dts = {} if ep is None else {"a_dtype": ep["a_dtype"], "out_dtype": ep["out_dtype"]}
            prog = build_program(spec, sched, name=str(a["node"]), **dts)
            prog.predicted = predict_program(spec, prog).to_dict()
            irutil.set_attr(op, "accel.program", prog.to_json())

    # ------------------------------------------------------------------ serialization
    def serialize(self, func: Any, spec: Any) -> ModelProgram:
        ops = irutil.body_ops(func)
        fattrs = irutil.attr_dict(func)
        in_names = list(fattrs.get("accel.inputs") or [])
        out_names = list(fattrs.get("accel.outputs") or [])
        block = func.regions[0].blocks[0]
        ret = next(op for op in ops if op.name == "func.return")
        live_out = set(ret.operands)
        # dead-step elimination, last to first
        needed = set(live_out)
        keep: list[Any] = []
        for op in reversed(ops):
            if op.name in ("func.return", "torch.constant.none"):
                continue
            if op.name != "accel.matmul" and not any(r in needed for r in op.results):
                continue
            keep.append(op)
            needed.update(op.operands)
        keep.reverse()

        tensors: list[dict[str, Any]] = []
        tid: dict[Any, int] = {}
        weights: dict[str, str] = {}

        def new_tensor(v: Any, kind: str, view_of: int | None = None) -> int:
            tt = tensor_type(v.type)
            if tt is None:
                raise CompileError(f"value of type {v.type} cannot be placed in the arena")
            shape, dtype = tt
            i = len(tensors)
            tensors.append({"id": i, "shape": shape, "dtype": dtype, "kind": kind,
                            "bytes": int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize})
            if view_of is not None:
                tensors[i]["view_of"] = view_of
            tid[v] = i
            return i

        inputs = []
        for j, arg in enumerate(block.arguments):
            i = new_tensor(arg, "input")
            inputs.append({"name": in_names[j] if j < len(in_names) else f"input_{j}", "tensor": i,
                           "shape": tensors[i]["shape"], "dtype": tensors[i]["dtype"]})
        steps: list[dict[str, Any]] = []
        placement: dict[str, dict[str, Any]] = {}

        def place(node: str, onnx_op: str, where: str, macs: int = 0, cycles: int = 0) -> None:
            p = placement.setdefault(node, {"node": node, "op": onnx_op, "where": where, "macs": 0, "steps": 0,
                                            "predicted_cycles": 0})
            if where == "accelerator":
                p["where"] = "accelerator"
            p["macs"] += macs
            p["predicted_cycles"] += cycles
            p["steps"] += where != "folded"

        for op in keep:
            a = irutil.attr_dict(op)
            if op.name.startswith("accel."):
                dialect.verify_structure(op.name, a, len(op.operands), len(op.results), self.loc(op))
            if op.name == "accel.weight":
                i = new_tensor(op.results[0], "weight")
                weights[str(i)] = a["data"]
                if "node" in a:
                    place(a["node"], a.get("op", ""), "folded")
                continue
            if op.name == "accel.view":
                src = tid[op.operands[0]]
                i = new_tensor(op.results[0], "weight" if tensors[src]["kind"] == "weight" else "intermediate",
                               view_of=tensors[src].get("view_of", src))
                tensors[i]["view_offset"] = tensors[src].get("view_offset", 0) + int(a.get("byte_offset", 0))
                if "byte_offset" not in a:
                    place(a["node"], a["op"], "folded")
                continue
            if op.name not in ("accel.host", "accel.matmul"):
                raise CompileError(f"'{op.name}' is not an accel op accel-model-emit serializes: run "
                                   "accel-onnx-partition first", location=self.loc(op))
            ins = [tid[v] if tensor_type(v.type) is not None else None for v in op.operands]
            outs = [new_tensor(r, "intermediate") for r in op.results]
            if op.name == "accel.matmul":
                prog = DriverProgram.from_json(a["accel.program"])
                macs = a["m"] * a["n"] * a["k"]
                cycles = int(prog.predicted.get("cycles", 0))
                step = {"kind": "accel", "node": a["node"], "op": a["op"], "program": prog.to_dict(),
                        "bind": {"a": ins[0], "b": ins[1], "c": outs[0]}, "macs": macs, "predicted_cycles": cycles}
                if "epilogue" in a:
                    step["epilogue"] = a["epilogue"]
                    step["bind"][PARAMS_OPERAND] = self.params_tensor(spec, prog, a, tensors, weights)
                steps.append(step)
                place(a["node"], a["op"], "accelerator", macs, cycles)
            else:
                steps.append({"kind": "host", "node": a["node"], "op": a["op"], "inputs": ins, "outputs": outs,
                              "attrs": a.get("attrs", {})})
                place(a["node"], a.get("onnx_op", a["op"]), "cpu", int(a.get("macs", 0)))
        order: dict[str, int] = {}  # ONNX node -> position of its first op (the report lists nodes in graph order)
        for op in ops:
            if "node" in op.attributes:
                order.setdefault(irutil.from_attr(op.attributes["node"]), len(order))
        kept = {id(op) for op in keep}
        for op in ops:  # steps nobody reads (e.g. a weight's DequantizeLinear absorbed by a matmul)
            if id(op) not in kept and op.name in ("accel.host", "accel.view", "accel.weight") \
                    and "node" in op.attributes:
                a = irutil.attr_dict(op)
                if a["node"] not in placement:
                    place(a["node"], a.get("onnx_op", a["op"]), "folded")
        for node, onnx_op in (fattrs.get("accel.fused") or {}).items():  # erased by accel-onnx-partition's fusions
            if node not in placement:
                place(node, onnx_op, "folded")
        outputs = []
        for j, v in enumerate(ret.operands):
            i = tid[v]
            root = tensors[i].get("view_of", i)
            if tensors[root]["kind"] == "intermediate":
                tensors[root]["kind"] = "output"
            outputs.append({"name": out_names[j] if j < len(out_names) else f"output_{j}", "tensor": i,
                            "shape": tensors[i]["shape"], "dtype": tensors[i]["dtype"]})
        arena = self.plan(tensors, steps, [o["tensor"] for o in outputs])
        macs = sum(p["macs"] for p in placement.values())
        accel_macs = sum(s["macs"] for s in steps if s["kind"] == "accel")
        summary = {"macs": macs, "accel_macs": accel_macs, "accel_share": accel_macs / macs if macs else 0.0,
                   "cma_bytes": arena["bytes"], "predicted_cycles": sum(s.get("predicted_cycles", 0) for s in steps),
                   "host_steps": sum(s["kind"] == "host" for s in steps),
                   "accel_steps": sum(s["kind"] == "accel" for s in steps)}
        mp = ModelProgram(spec_name=spec.name, spec_hash=spec.hash, source=self.source, inputs=inputs,
                          outputs=outputs, tensors=tensors, arena=arena, weights=weights, steps=steps,
                          placement=sorted(placement.values(), key=lambda p: order.get(p["node"], len(order))),
                          summary=summary)
        mp.validate()
        return mp

    @staticmethod
    def params_tensor(spec: Any, prog: DriverProgram, a: dict[str, Any], tensors: list[dict[str, Any]],
                      weights: dict[str, str]) -> int:
        """A weight tensor holding the LOAD_EPI packets of an epilogue program's windows: built once,
        here, from the constant bias/scales (``epilogue.fill_params``), not per call on the board."""
        ep = a["epilogue"]
        op = prog.operands[PARAMS_OPERAND]
        args = epilogue.check_args(a["m"], a["n"], a["k"], a_dtype=ep["a_dtype"], out_dtype=ep["out_dtype"],
                                   bias=np.asarray(ep["bias"], dtype=np.int64), scale=np.asarray(ep["scale"]),
                                   zero_point=ep["zero_point"], b_zero_point=ep["b_zero_point"],
                                   clamp=(ep["lo"], ep["hi"]))
        buf = np.zeros(op["shape"], dtype=np.uint8)
        epilogue.fill_params(spec, prog.epilogue["windows"], buf.reshape(-1), args.bias, args)
        i = len(tensors)
        tensors.append({"id": i, "shape": list(op["shape"]), "dtype": "uint8", "kind": "weight", "bytes": buf.nbytes})
        weights[str(i)] = base64.b64encode(buf.tobytes()).decode()
        return i

    @staticmethod
    def plan(tensors: list[dict[str, Any]], steps: list[dict[str, Any]], outputs: list[int]) -> dict[str, int]:
        """Offsets: weights packed first, then the rest first-fit by liveness (a tensor is live from
        the step that writes it, inputs from the start, to its last reader; outputs to the end)."""
        root = [t.get("view_of", t["id"]) for t in tensors]
        off = 0
        for t in tensors:
            if t["kind"] == "weight" and "view_of" not in t:
                t["offset"] = off
                off = _align(off + t["bytes"])
        weight_bytes = off
        end = len(steps) + 1
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for t in tensors:
            if t["kind"] == "input":
                first[t["id"]] = 0
        for si, s in enumerate(steps, start=1):
            reads = s["inputs"] if s["kind"] == "host" else [s["bind"]["a"], s["bind"]["b"]]
            writes = s["outputs"] if s["kind"] == "host" else [s["bind"]["c"]]
            for i in writes:
                first.setdefault(root[i], si)
                last[root[i]] = max(last.get(root[i], si), si)
            for i in reads:
                if i is not None:
                    last[root[i]] = max(last.get(root[i], si), si)
        for i in outputs:
            last[root[i]] = end
        for t in tensors:
            if t["kind"] == "input":
                last[t["id"]] = max(last.get(t["id"], 0), end if t["id"] in [root[o] for o in outputs] else 0)
        live: list[tuple[int, int, int, int]] = []  # (offset, bytes, first, last)
        top = weight_bytes
        for t in sorted((t for t in tensors if t["kind"] != "weight" and "view_of" not in t),
                        key=lambda t: (first.get(t["id"], 0), -t["bytes"])):
            lo, hi = first.get(t["id"], 0), last.get(t["id"], first.get(t["id"], 0))
            size = _align(max(t["bytes"], 1))
            busy = sorted((o, o + b) for o, b, f, la in live if not (la < lo or hi < f))
            cand = weight_bytes
            for o0, o1 in busy:
                if cand + size <= o0:
                    break
                cand = max(cand, o1)
            t["offset"] = cand
            live.append((cand, size, lo, hi))
            top = max(top, cand + size)
        for t in tensors:
            if "view_of" in t:
                t["offset"] = tensors[t["view_of"]]["offset"] + t.get("view_offset", 0)
        return {"bytes": _align(top), "weight_bytes": weight_bytes, "align": ALIGN}

