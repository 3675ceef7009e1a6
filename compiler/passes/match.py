"""accel-match: find the accelerable ``linalg.matmul`` of every function, verify it, annotate it.

Accepted (per function, one matmul):

- tensor form: ``linalg.matmul ins(A, B : tensor<MxKxi8>, tensor<KxNxi8>) outs(C0) -> tensor<MxNxi32>``
  where C0 is ``linalg.fill(c) outs(tensor.empty)`` (``c_init="zero"`` for c = 0, else C starts
  at c) or any other tensor value, e.g. an argument (``c_init="accumulate"``: C0 + A @ B);
  the result must be what the function returns;
- memref form: ``linalg.matmul ins(A, B : memref<..xi8>, memref<..xi8>) outs(C : memref<MxNxi32>)``
  accumulates into C (``c_init="accumulate"``), or starts from zero if a ``linalg.fill`` of C
  precedes it;
- A and B are function arguments or ``arith.constant dense<...>`` weights;
- signed int8 x int8 -> int32 with upstream's default ``cast_signed`` semantics (sign-extend,
  multiply, add), static shapes of any size >= 1 (the upper
  bound is the spec's instruction-field width, checked by accel-schedule), default
  indexing maps, dense row-major memrefs.

Everything else raises a :class:`CompileError` naming the op, its location and what is
supported. The matmul gets ``accel.match = {m, n, k, form, c_init, c_fill}``.
"""

from __future__ import annotations

from typing import Any

from .. import irutil
from ..irutil import ir
from .base import Pass, register

SUPPORTED = (
    "supported: func.func bodies holding one linalg.matmul (int8 x int8 -> int32, static shapes) "
    "with arith.constant, tensor.empty, linalg.fill and func.return"
)
ALLOWED_OPS = ("arith.constant", "tensor.empty", "linalg.fill", "linalg.matmul", "func.return")
DEFAULT_MAPS = (
    "[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
    "affine_map<(d0, d1, d2) -> (d0, d1)>]"
)
INT8 = ("i8", "si8")
INT32 = ("i32", "si32")

HINTS = {
    "linalg.batch_matmul": "only 2-D linalg.matmul is supported; unroll the batch into one linalg.matmul per "
    "batch element (one function each)",
    "linalg.matmul_transpose_a": "transpose A first (the accelerator reads A and B row-major)",
    "linalg.matmul_transpose_b": "transpose B first (the accelerator reads A and B row-major)",
    "linalg.matvec": "express it as linalg.matmul with N=1",
    "linalg.quantized_matmul": "zero points are not supported: use linalg.matmul (zero points 0)",
    "linalg.generic": "only the named linalg.matmul op is matched; do not generalize before accel-match",
    "func.call": "calls are not supported: each function must hold its own linalg.matmul",
}


@register
class AccelMatch(Pass):
    name = "accel-match"
    summary = "find accelerable linalg.matmul ops, verify types and shapes, annotate them (accel.match)"
    options = ()

    def run(self, module: Any) -> None:
        for func in irutil.functions(module):
            if irutil.has_body(func):
                self.match_function(func)

    # ----------------------------------------------------------------- per function
    def match_function(self, func: ir.Operation) -> None:
        ops = irutil.body_ops(func)
        for op in ops:
            if op.name not in ALLOWED_OPS:
                hint = HINTS.get(op.name, "")
                raise self.error(
                    f"'{op.name}' is not supported in an accelerated function"
                    + (f": {hint}" if hint else "")
                    + f" ({SUPPORTED})",
                    op,
                )
            for region in op.regions:  # linalg bodies are fine; nothing else has regions here
                if op.name not in ("linalg.matmul", "linalg.fill") and len(region.blocks):
                    raise self.error(f"'{op.name}' with regions is not supported ({SUPPORTED})", op)
        matmuls = [op for op in ops if op.name == "linalg.matmul"]
        if not matmuls:
            fills = [op for op in ops if op.name == "linalg.fill"]
            if fills:
                raise self.error(f"linalg.fill without a linalg.matmul to initialise ({SUPPORTED})", fills[0])
            self.remark(f"function @{irutil.func_name(func)} holds no linalg.matmul: nothing to accelerate", func,
                        attach=False)
            return
        if len(matmuls) > 1:
            raise self.error(
                f"function @{irutil.func_name(func)} holds {len(matmuls)} linalg.matmul ops; one per function is "
                f"supported (a driver program is one matmul): split it into one function per matmul",
                matmuls[1],
            )
        mm = matmuls[0]
        info = self.check_matmul(func, mm, ops)
        irutil.set_attr(mm, "accel.match", info)

    # ----------------------------------------------------------------- the matmul
    def check_matmul(self, func: ir.Operation, mm: ir.Operation, ops: list[ir.Operation]) -> dict[str, Any]:
        operands = list(mm.operands)
        if len(operands) != 3:
            raise self.error(f"linalg.matmul with {len(operands)} operands; expected ins(A, B) outs(C)", mm)
        names = ("A", "B", "C")
        shapes = []
        kinds = set()
        for label, v in zip(names, operands, strict=True):
            info = irutil.shaped(v.type)
            if info is None or info[0] == "unranked":
                raise self.error(f"operand {label} has type {v.type}; ranked tensors or memrefs are supported", mm)
            kind, shape, _elt = info
            kinds.add(kind)
            if shape is None:
                raise self.error(
                    f"operand {label} has a dynamic shape ({v.type}); only static shapes are supported "
                    f"(specialise the shapes before compiling, e.g. with static ONNX input dims)",
                    mm,
                )
            if len(shape) != 2:
                raise self.error(f"operand {label} is rank {len(shape)} ({v.type}); rank-2 matmuls are supported", mm)
            shapes.append(shape)
        elts = [str(irutil.shaped(v.type)[2]) for v in operands]
        if elts[0] not in INT8 or elts[1] not in INT8 or elts[2] not in INT32:
            raise self.error(
                f"element types {elts[0]} x {elts[1]} -> {elts[2]} are not supported: the accelerator computes "
                f"int8 x int8 -> int32 (signed); quantize the model to int8 (e.g. ONNX MatMulInteger)",
                mm,
            )
        if len(kinds) != 1:
            raise self.error("mixed tensor and memref operands; use all tensors or all memrefs", mm)
        form = kinds.pop()
        if "indexing_maps" in mm.attributes and str(mm.attributes["indexing_maps"]) != DEFAULT_MAPS:
            raise self.error(
                f"linalg.matmul with indexing_maps {mm.attributes['indexing_maps']} (transposed or broadcast "
                f"operands) is not supported; only the default (m,k) x (k,n) -> (m,n) maps",
                mm,
            )
        (m, k), (k2, n), (m2, n2) = shapes
        if k != k2 or m != m2 or n != n2:
            raise self.error(f"shapes {shapes[0]} x {shapes[1]} -> {shapes[2]} do not form a matmul", mm)
        for dim, value in (("M", m), ("N", n), ("K", k)):
            if value < 1:
                raise self.error(f"{dim}={value}: empty matmuls are not supported (dimensions must be >= 1)", mm)
        if "cast" in mm.attributes and "cast_signed" not in str(mm.attributes["cast"]):
            raise self.error(
                f"linalg.matmul with {mm.attributes['cast']} is not supported: the accelerator multiplies signed "
                f"int8 (cast_signed, the default)",
                mm,
            )
        if form == "memref":
            for label, v in zip(names, operands, strict=True):
                problem = irutil.memref_layout_problem(v.type)
                if problem:
                    raise self.error(f"operand {label} ({v.type}): {problem}; the DMA needs dense row-major buffers",
                                     mm)
        for label, v in zip(names[:2], operands[:2], strict=True):
            self.check_source(func, mm, label, v, form)
        c_init, c_fill = self.check_init(func, mm, operands[2], form, ops)
        self.check_uses(func, mm, form, ops)
        return {"m": m, "n": n, "k": k, "form": form, "c_init": c_init, "c_fill": c_fill}

    def check_source(self, func: ir.Operation, mm: ir.Operation, label: str, v: ir.Value, form: str) -> None:
        """A and B must be function arguments or dense integer constants."""
        if isinstance(v, ir.BlockArgument):
            return
        owner = v.owner
        name = owner.name if isinstance(owner, ir.Operation) else getattr(owner, "operation", owner).name
        if name == "arith.constant":
            value = owner.attributes["value"]
            if not isinstance(value, ir.DenseIntElementsAttr):
                raise self.error(
                    f"operand {label} is a constant of kind {type(value).__name__} ({str(value)[:60]}); dense "
                    f"integer constants are supported (dense_resource blobs: re-import with the data inlined)",
                    owner,
                )
            return
        raise self.error(
            f"operand {label} is produced by '{name}'; A and B must be function arguments or arith.constant",
            owner,
        )

    def check_init(
        self, func: ir.Operation, mm: ir.Operation, c: ir.Value, form: str, ops: list[ir.Operation]
    ) -> tuple[str, int]:
        fills = [op for op in ops if op.name == "linalg.fill"]
        if form == "memref":
            if not isinstance(c, ir.BlockArgument):
                raise self.error(f"C is produced by '{c.owner.name}'; in memref form C must be a function argument", mm)
            mine = [f for f in fills if list(f.operands)[-1] == c]
            others = [f for f in fills if f not in mine]
            if others:
                raise self.error("linalg.fill of a buffer other than the matmul's C is not supported", others[0])
            if not mine:
                return "accumulate", 0
            fill = mine[-1]
            if not fill.is_before_in_block(mm):
                raise self.error("linalg.fill of C after the linalg.matmul is not supported", fill)
            value = self.fill_value(fill)
            return ("zero" if value == 0 else "accumulate"), value
        # tensor form
        if isinstance(c, ir.BlockArgument):
            if fills:
                raise self.error("linalg.fill that does not initialise the matmul's C is not supported", fills[0])
            return "accumulate", 0
        owner = c.owner
        if owner.name == "linalg.fill":
            dest = list(owner.operands)[-1]
            if isinstance(dest, ir.BlockArgument) or dest.owner.name != "tensor.empty":
                raise self.error("linalg.fill of C must fill a tensor.empty (the frontends' init pattern)", owner)
            others = [f for f in fills if f != owner]
            if others:
                raise self.error("linalg.fill that does not initialise the matmul's C is not supported", others[0])
            value = self.fill_value(owner)
            return ("zero" if value == 0 else "accumulate"), value
        if owner.name == "arith.constant":
            value = owner.attributes["value"]
            if isinstance(value, ir.DenseIntElementsAttr) and value.is_splat:
                return ("zero" if int(value.get_splat_value().value) == 0 else "accumulate"), int(
                    value.get_splat_value().value
                )
            raise self.error("C initialised from a non-splat constant is not supported; pass it as an argument", owner)
        raise self.error(
            f"C is initialised by '{owner.name}'; supported: linalg.fill of tensor.empty, a splat constant or a "
            f"function argument",
            owner,
        )

    def fill_value(self, fill: ir.Operation) -> int:
        src = fill.operands[0]
        if isinstance(src, ir.BlockArgument) or src.owner.name != "arith.constant":
            raise self.error("linalg.fill with a non-constant value is not supported", fill)
        attr = src.owner.attributes["value"]
        if not isinstance(attr, ir.IntegerAttr):
            raise self.error(f"linalg.fill value {attr} is not an integer", fill)
        return int(attr.value)

    def check_uses(self, func: ir.Operation, mm: ir.Operation, form: str, ops: list[ir.Operation]) -> None:
        ret = ops[-1]
        if ret.name != "func.return":
            raise self.error("function body must end with func.return", ret)
        rets = list(ret.operands)
        if form == "tensor":
            result = mm.results[0]
            if len(rets) != 1 or rets[0] != result:
                raise self.error(
                    "the function must return exactly the linalg.matmul result (one tensor); other results or "
                    "further uses are not supported",
                    ret,
                )
            for use in result.uses:
                if use.owner.name != "func.return":
                    raise self.error(f"the matmul result is used by '{use.owner.name}'; only func.return may use it",
                                     use.owner)
        elif rets:
            raise self.error("a memref-form function must return nothing (C is written in place)", ret)
