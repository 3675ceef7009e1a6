"""accel-onnx-partition: place every ONNX node of an imported model (torch dialect) on the
accelerator, the CPU, or fold it away, rewriting each ``torch.operator "onnx.<Op>"`` into accel ops.

Input: what ``iree-import-onnx`` emits, one ``torch.operator "onnx.<Op>"`` per ONNX node with its
attributes (``torch.onnx.<attr>``) and static ``!torch.vtensor<[dims],dtype>`` types (specialize
symbolic dims first: ``--shape``/``--batch``), the node's name in ``accel.node`` (set by the
frontend; ``<Op>_<i>`` otherwise). Output, per node:

- ``accel.weight {data, dtype, shape}``: an initializer / ``onnx.Constant`` (data base64, C order);
- ``accel.view {node, op[, byte_offset]}``: Identity/Reshape/Flatten/Squeeze/Unsqueeze folded
  into a view of the same arena bytes (same element count, row-major), or a contiguous slice of
  its operand starting ``byte_offset`` bytes in (one batch element of a batched matmul);
- ``accel.matmul {node, op, m, n, k}``: int8 x int8 -> int32 product on the accelerator of a
  ``MatMulInteger`` / ``QLinearMatMul`` / QDQ ``MatMul`` (DequantizeLinear operands) with a
  constant 2-D weight, surrounded by the host steps its quantization needs (uint8 -> int8 of the
  activation, zero-point correction as an int32 bias, requantization): see :func:`_epilogue`;
- ``accel.host {node, op, attrs}``: anything else the CPU host-op table supports
  (``accel.contract.hostops.supported()``), run with numpy on the board;
- constant folding: a host op whose inputs are all weights is evaluated at compile time with the
  board's own implementation (:mod:`accel.contract.hostexec`) and becomes an ``accel.weight``
  carrying its ``node``/``op`` (reported as folded). ``DequantizeLinear`` of a weight is folded
  only after every node is placed (:meth:`fold_dequantized`): the QDQ matchers read it as the
  marker of a quantized operand first;
- anything else: a :class:`CompileError` naming the ONNX node, what is supported and what to do.

Then the peephole fusions of :mod:`.onnx_fuse` (QDQ requantization into one ``accel.Requantize``,
Relu/Clip into its clamp, ``Q(DQ(x)) = x``); the ONNX nodes they erase are listed in the
function's ``accel.fused`` (reported as folded).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np

from accel.contract import epilogue
from accel.errors import AccelError, CompileError

from .. import irutil
from ..irutil import ir
from .base import Option, Pass, register
from .onnx_fuse import Fusions

NODE_ATTR = "accel.node"
VIEW_OPS = ("Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze")
#: torch element type -> numpy dtype name
ELEM = {"f32": "float32", "f64": "float64", "f16": "float16", "si8": "int8", "ui8": "uint8", "si16": "int16",
        "ui16": "uint16", "si32": "int32", "ui32": "uint32", "si64": "int64", "ui64": "uint64", "i1": "bool"}
TORCH_ELEM = {v: k for k, v in ELEM.items()}
#: constant folding never writes a weight larger than this (an Expand/Tile of a constant stays a step)
FOLD_LIMIT = 16 << 20
#: ONNX TensorProto element types used in Cast attributes
ONNX_TYPE = {"float32": 1, "int8": 3, "int16": 5, "int32": 6}
_VTENSOR = re.compile(r"!torch\.vtensor<\[([^\]]*)\],(\w+)>")


def tensor_type(t: Any) -> tuple[list[int], str] | None:
    """(shape, numpy dtype) of a ``!torch.vtensor`` type; None for ``!torch.none``; a dynamic or
    unknown type raises (the frontend specializes shapes before import)."""
    s = str(t)
    if s == "!torch.none":
        return None
    m = _VTENSOR.fullmatch(s)
    if not m or m.group(2) not in ELEM:
        raise ValueError(s)
    dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
    if any(d == "?" for d in dims):
        raise ValueError(s)
    return [int(d) for d in dims], ELEM[m.group(2)]


def vtype(shape: list[int] | tuple[int, ...], dtype: str) -> ir.Type:
    return ir.Type.parse(f"!torch.vtensor<[{','.join(str(int(d)) for d in shape)}],{TORCH_ELEM[dtype]}>")


def resource_blobs(module_text: str) -> dict[str, bytes]:
    """The ``dialect_resources`` blobs of a printed module (hex; the first 4 bytes are the alignment)."""
    out: dict[str, bytes] = {}
    start = module_text.find("dialect_resources")
    if start < 0:
        return out
    for key, hexdata in re.findall(r'([\w.$-]+|"[^"]+"):\s*"0x([0-9A-Fa-f]*)"', module_text[start:]):
        out[key.strip('"')] = bytes.fromhex(hexdata)[4:]
    return out


def matmul_macs(op: str, ins: list[Any], outs: list[Any], attrs: dict[str, Any]) -> int:
    """MACs of a matmul-like ONNX node from its operand/result types (0 for other ops)."""
    if not outs or outs[0] is None:
        return 0
    oshape = outs[0][0]
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul") and ins and ins[0] is not None:
        return int(np.prod(oshape)) * int(ins[0][0][-1])
    if op == "Gemm" and ins and ins[0] is not None:
        k = ins[0][0][0] if attrs.get("transA") else ins[0][0][-1]
        return int(np.prod(oshape)) * int(k)
    if op in ("Conv", "ConvInteger", "QLinearConv"):
        w = ins[3] if op == "QLinearConv" else ins[1]
        if w is None:
            return 0
        return int(np.prod(oshape)) * int(np.prod(w[0][1:]))
    return 0


@register
class AccelOnnxPartition(Fusions, Pass):
    name = "accel-onnx-partition"
    summary = ("place each ONNX node (torch.operator) on the accelerator (accel.matmul), the CPU (accel.host) "
               "or fold it (accel.weight/accel.view); refuse what neither side supports, naming the node")
    options = (Option("spec", str, "z2_default", "accelerator spec name or .toml path (its version decides "
                      "whether the fabric has the fused epilogue)"),
               Option("epilogue", str, "auto", "where a quantized matmul's bias/requantization/clamp run: the "
                      "fabric's fused epilogue (driver program version 2), the CPU (accel.Requantize host steps), "
                      "or auto = fabric when the spec's accelerator version supports it", ("auto", "fabric", "cpu")))

    def run(self, module: Any) -> None:
        from accel.overlays.spec import load_spec

        try:
            spec = load_spec(self.opt("spec"))
        except AccelError as exc:
            raise CompileError(f"accel-onnx-partition: {exc}") from None
        mode = self.opt("epilogue")
        self.fabric = mode == "fabric" or (mode == "auto" and epilogue.supported(spec))
        self.blobs = resource_blobs(str(module))
        for func in irutil.functions(module):
            if irutil.has_body(func):
                self.partition(func)

    # ------------------------------------------------------------------ per function
    def partition(self, func: ir.Operation) -> None:
        from accel.contract.hostops import supported

        self.host_ops = set(supported())
        self.consts: dict[Any, np.ndarray] = {}
        for i, op in enumerate(irutil.body_ops(func)):
            if op.name == "torch.operator":
                self.rewrite(op, i)
            elif op.name == "torch.constant.none" or op.name == "func.return":
                continue
            elif not op.name.startswith("accel."):
                raise self.error(f"'{op.name}' is not an ONNX node: accel-onnx-partition takes what "
                                 "iree-import-onnx emits (torch.operator \"onnx.<Op>\")", op)
        self.fold_dequantized(func)
        self.run_fusions(func)

    # ------------------------------------------------------------------ constant folding
    def fold(self, op: str, operands: list[Any], attrs: dict[str, Any], results: list[Any]) -> list[Any] | None:
        """The weights host op ``op`` computes from constant ``operands`` (evaluated now, with the
        implementation the board runs), or None when an operand is not constant, the result would
        exceed :data:`FOLD_LIMIT`, or the op refuses these values (it then stays a host step and
        fails, or not, at run time exactly as before)."""
        if not all(tensor_type(v.type) is None or self.is_const(v) for v in operands):
            return None
        from accel.contract.hostexec import run as host_run

        try:
            types = [tensor_type(r.type) for r in results]
            if any(t is None for t in types) or \
                    sum(int(np.prod(s, dtype=np.int64)) * np.dtype(d).itemsize for s, d in types) > FOLD_LIMIT:
                return None
            outs = [np.empty(s, dtype=d) for s, d in types]
            host_run(op, [None if tensor_type(v.type) is None else self.consts[v] for v in operands], attrs, outs)
        except (AccelError, ValueError):
            return None
        return [self.weight(o, node=self.node, op=self.kind) for o in outs]

    def fold_dequantized(self, func: ir.Operation) -> None:
        """Fold every host op left with only constant inputs whose results are read (in program
        order, so chains fold): the weights' DequantizeLinear the matchers did not absorb (a QDQ
        bias, the float weight of a MatMul left on the CPU)."""
        for op in irutil.body_ops(func):
            if op.name != "accel.host" or not any(any(True for _ in r.uses) for r in op.results):
                continue
            a = irutil.attr_dict(op)
            self.node, self.kind = a["node"], a.get("onnx_op", a["op"])
            with ir.InsertionPoint(op), op.location:
                new = self.fold(a["op"], list(op.operands), a.get("attrs", {}), list(op.results))
            if new is None:
                continue
            for old, val in zip(op.results, new, strict=True):
                old.replace_all_uses_with(val)
            op.erase()

    def rewrite(self, op: ir.Operation, index: int) -> None:
        full = irutil.from_attr(op.attributes["name"])
        kind = full.split(".", 1)[1] if full.startswith("onnx.") else full
        node = irutil.from_attr(op.attributes[NODE_ATTR]) if NODE_ATTR in op.attributes else f"{kind}_{index}"
        attrs = {a.name[len("torch.onnx."):]: a.attr for a in (op.attributes[i] for i in range(len(op.attributes)))
                 if a.name.startswith("torch.onnx.")}
        self.node, self.kind = node, kind
        try:
            ins = [tensor_type(v.type) for v in op.operands]
            outs = [tensor_type(r.type) for r in op.results]
        except ValueError as exc:
            raise self.refuse(f"has an operand or result of type {exc} (dynamic or unknown): specialize symbolic "
                              "dimensions with --shape NAME=DIMS or --batch N", op) from None
        with ir.InsertionPoint(op), op.location:
            new = self.place(op, kind, attrs, ins, outs)
        if new is None:
            return
        for old, val in zip(op.results, new, strict=True):
            old.replace_all_uses_with(val)
        op.erase()

    def refuse(self, why: str, op: Any) -> CompileError:
        return self.error(f"ONNX node {self.node!r} ({self.kind}) {why}", op)

    # ------------------------------------------------------------------ builders
    def emit(self, name: str, operands: list[Any], results: list[ir.Type], attrs: dict[str, Any]) -> list[Any]:
        o = ir.Operation.create(name, results=results, operands=operands,
                                attributes={k: irutil.to_attr(v) for k, v in attrs.items()})
        return list(o.results)

    def weight(self, arr: np.ndarray, **origin: str) -> Any:
        """An accel.weight; ``origin`` (node, op) names the ONNX node a folded constant came from."""
        arr = np.asarray(arr)  # not ascontiguousarray: it turns a 0-d scalar into shape (1,)
        if not arr.flags.c_contiguous:
            arr = arr.copy()
        v = self.emit("accel.weight", [], [vtype(arr.shape, str(arr.dtype))],
                      {"data": base64.b64encode(arr.tobytes()).decode(), "dtype": str(arr.dtype),
                       "shape": [int(d) for d in arr.shape], **origin})[0]
        self.consts[v] = arr
        return v

    def host(self, op: str, operands: list[Any], results: list[tuple[list[int], str]],
             attrs: dict[str, Any] | None = None, macs: int = 0) -> list[Any]:
        return self.emit("accel.host", operands, [vtype(s, d) for s, d in results],
                         {"node": self.node, "op": op, "onnx_op": self.kind, "attrs": attrs or {}, "macs": macs})

    # ------------------------------------------------------------------ placement
    def place(self, op: ir.Operation, kind: str, attrs: dict[str, ir.Attribute], ins: list[Any],
              outs: list[Any]) -> list[Any] | None:
        if kind == "Constant":
            return [self.weight(self.constant_value(op, attrs, outs[0]))]
        if kind in VIEW_OPS and len(outs) == 1 and ins and ins[0] is not None and outs[0] is not None \
                and int(np.prod(ins[0][0])) == int(np.prod(outs[0][0])) and ins[0][1] == outs[0][1]:
            src = op.operands[0]
            if src in self.consts:  # a view of a constant is a constant
                return [self.weight(self.consts[src].reshape(outs[0][0]))]
            return self.emit("accel.view", [src], [r.type for r in op.results], {"node": self.node, "op": kind})
        py_attrs = {k: self.json_attr(v) for k, v in attrs.items()}
        mm = self.match_matmul(op, kind, ins, outs)
        if mm is None and kind in ("ConvInteger", "QLinearConv"):
            mm = self.match_conv(op, kind, py_attrs, ins, outs)
        elif mm is None and kind == "QGemm":
            mm = self.match_qgemm(op, py_attrs, ins, outs)
        elif mm is None and kind == "Gemm":
            mm = self.match_qdq_gemm(op, py_attrs, outs)
        elif mm is None and kind == "Conv":
            mm = self.match_qdq_conv(op, py_attrs, outs)
        if mm is not None:
            return mm
        if kind not in self.host_ops and f"com.microsoft.{kind}" in self.host_ops:
            kind = f"com.microsoft.{kind}"  # the importer drops the domain of contrib ops
        if kind not in self.host_ops:
            raise self.refuse(f"is supported neither by the accelerator (int8 MatMulInteger, QLinearMatMul, QDQ MatMul "
                              f"with constant 2-D weights) nor by the CPU host operations ({len(self.host_ops)} ops: "
                              "listed in docs/host_ops.md): replace it in the model with supported ops, or file an "
                              "issue asking for the host op", op)
        if kind != "DequantizeLinear":  # a weight's DequantizeLinear marks a QDQ operand: fold_dequantized
            folded = self.fold(kind, list(op.operands), py_attrs, list(op.results))
            if folded is not None:
                return folded
        return self.emit("accel.host", list(op.operands), [r.type for r in op.results],
                         {"node": self.node, "op": kind, "attrs": py_attrs, "macs": matmul_macs(kind, ins, outs,
                                                                                                 py_attrs)})

    def json_attr(self, a: ir.Attribute) -> Any:
        if isinstance(a, ir.DenseElementsAttr):
            return self.dense(a).tolist()
        return irutil.from_attr(a)

    def constant_value(self, op: ir.Operation, attrs: dict[str, ir.Attribute], out: Any) -> np.ndarray:
        a = attrs.get("value")
        if a is None:
            for key, dt in (("value_float", "float32"), ("value_int", "int64"), ("value_floats", "float32"),
                            ("value_ints", "int64")):
                if key in attrs:
                    return np.asarray(irutil.from_attr(attrs[key]), dtype=dt)
            raise self.refuse("has no 'value' attribute the compiler can read", op)
        shape, dtype = out
        if isinstance(a, ir.DenseElementsAttr):
            return self.dense(a).reshape(shape).astype(dtype)
        text = str(a)
        m = re.match(r"dense_resource<([^>]+)>", text)
        if m and m.group(1) in self.blobs:
            raw = self.blobs[m.group(1)]
            if dtype == "bool":
                return np.frombuffer(raw, dtype=np.uint8).astype(bool).reshape(shape)
            return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
        raise self.refuse(f"constant {text[:60]} cannot be read (resource blob missing)", op)

    @staticmethod
    def dense(a: ir.DenseElementsAttr) -> np.ndarray:
        t = ir.ShapedType(a.type)
        shape = [int(d) for d in t.shape]
        et = str(t.element_type)
        dtype = ELEM.get(et, "float32" if et.startswith("f") else "int64")
        if a.is_splat:
            v = irutil.from_attr(a.get_splat_value()) if not isinstance(a.get_splat_value(), str) else 0
            return np.full(shape, v, dtype=dtype)
        return np.array(a, dtype=dtype).reshape(shape) if shape else np.array(a, dtype=dtype).reshape(())

    def is_const(self, v: Any) -> bool:
        return v in self.consts

    def scalar(self, v: Any) -> np.ndarray | None:
        return self.consts.get(v)

    # ------------------------------------------------------------------ matmul family
    def match_matmul(self, op: ir.Operation, kind: str, ins: list[Any], outs: list[Any]) -> list[Any] | None:
        """Accelerator form of a quantized matmul with a constant 2-D weight, else None (CPU)."""
        opd = list(op.operands)
        if kind == "MatMulInteger":
            a, b = opd[0], opd[1]
            az = opd[2] if len(opd) > 2 and ins[2] is not None else None
            bz = opd[3] if len(opd) > 3 and ins[3] is not None else None
            a_type, b_type = ins[0], ins[1]
            scale = None
        elif kind == "QLinearMatMul":
            a, az, b, bz = opd[0], opd[2], opd[3], opd[5]
            if not all(self.is_const(v) for v in (opd[1], opd[4], opd[6], opd[7])) or self.consts[opd[1]].size != 1 \
                    or self.consts[opd[6]].size != 1 or self.consts[opd[7]].size != 1:
                return None
            a_type, b_type = ins[0], ins[3]
            scale = (self.consts[opd[1]], self.consts[opd[4]], self.consts[opd[6]], opd[7], outs[0][1])
        elif kind == "MatMul":
            return self.match_qdq_matmul(op, ins, outs)
        else:
            return None
        return self.quantized_matmul(a, b, az, bz, a_type, b_type, outs[0][0], scale)

    def producer(self, v: Any) -> tuple[str, Any] | None:
        """(op, operands) of the accel.host op that produced ``v``."""
        owner = v.owner if isinstance(v, ir.OpResult) else None
        if owner is None or owner.name != "accel.host":
            return None
        return irutil.from_attr(owner.attributes["op"]), list(owner.operands)

    def qdq_operands(self, x: Any, w: Any) -> tuple[Any, Any, Any, Any, np.ndarray] | None:
        """(xq, xz, wq, wz, x_scale * w_scale) when ``x`` and ``w`` are DequantizeLinear outputs with
        constant scales (per tensor for x; per tensor or per output channel for w), else None."""
        pa, pb = self.producer(x), self.producer(w)
        if not pa or not pb or pa[0] != "DequantizeLinear" or pb[0] != "DequantizeLinear":
            return None
        (xq, xs, *xz), (wq, ws, *wz) = pa[1], pb[1]
        if not (self.is_const(xs) and self.is_const(ws) and self.is_const(wq) and self.consts[xs].size == 1):
            return None
        mult = (np.float32(self.consts[xs].reshape(())) * self.consts[ws].astype(np.float32).reshape(-1))
        xz_v = xz[0] if xz and tensor_type(xz[0].type) is not None else None
        wz_v = wz[0] if wz and tensor_type(wz[0].type) is not None else None
        return xq, xz_v, wq, wz_v, mult.astype(np.float32)

    def match_qdq_matmul(self, op: ir.Operation, ins: list[Any], outs: list[Any]) -> list[Any] | None:
        q = self.qdq_operands(op.operands[0], op.operands[1])
        if q is None:
            return None
        xq, xz, wq, wz, mult = q
        a_t, b_t = tensor_type(xq.type), tensor_type(wq.type)
        if a_t is None or b_t is None or mult.size not in (1, b_t[0][-1]):
            return None
        return self.quantized_matmul(xq, wq, xz, wz, a_t, b_t, outs[0][0], None, dequant=mult)

    def match_qdq_gemm(self, op: ir.Operation, attrs: dict[str, Any], outs: list[Any]) -> list[Any] | None:
        """QDQ Gemm: the product on the accelerator (``transA``: the quantized activation transposed
        by a CPU step first), ``alpha`` folded into the dequantization multiplier, then + ``beta * C``
        in float (``beta * C`` folded at compile time when C is constant)."""
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        if not np.isfinite(alpha) or alpha == 0.0 or not np.isfinite(beta):
            return None
        q = self.qdq_operands(op.operands[0], op.operands[1])
        if q is None:
            return None
        xq, xz, wq, wz, mult = q
        w = self.consts[wq]
        if int(attrs.get("transB", 0)):
            w = np.ascontiguousarray(w.T)
        a_t = tensor_type(xq.type)
        if a_t is None or len(a_t[0]) != 2 or w.ndim != 2 or mult.size not in (1, w.shape[1]):
            return None
        if int(attrs.get("transA", 0)):
            a_t = ([a_t[0][1], a_t[0][0]], a_t[1])
            xq = self.host("Transpose", [xq], [a_t], {"perm": [1, 0]})[0]
        if alpha != 1.0:
            mult = (mult * np.float32(alpha)).astype(np.float32)
        wv = self.weight(w)
        y = self.quantized_matmul(xq, wv, xz, wz, a_t, (list(w.shape), str(w.dtype)), outs[0][0], None,
                                  dequant=mult)
        if y is None or len(op.operands) < 3 or tensor_type(op.operands[2].type) is None or beta == 0.0:
            return y
        c = op.operands[2]
        if beta != 1.0:
            c_t = tensor_type(c.type)
            if self.is_const(c):
                c = self.weight((np.float32(beta) * self.consts[c].astype(np.float32)).astype(np.float32))
            elif c_t is not None:
                c = self.host("Mul", [c, self.weight(np.array(beta, dtype=np.float32))], [(c_t[0], "float32")])[0]
        return self.host("Add", [y[0], c], [outs[0]])

    def match_qgemm(self, op: ir.Operation, attrs: dict[str, Any], ins: list[Any],
                    outs: list[Any]) -> list[Any] | None:
        """com.microsoft QGemm (alpha 1, transA 0, constant B, int32 bias C, quantized output)."""
        o = list(op.operands)
        if float(attrs.get("alpha", 1.0)) != 1.0 or int(attrs.get("transA", 0)) != 0 or len(o) < 9 \
                or not all(self.is_const(o[i]) for i in (1, 3, 4, 7, 8)) or self.consts[o[1]].size != 1 \
                or self.consts[o[7]].size != 1 or self.consts[o[8]].size != 1:
            return None
        w = self.consts[o[3]]
        if int(attrs.get("transB", 0)):
            w = np.ascontiguousarray(w.T)
        bias = None
        if ins[6] is not None:
            if not self.is_const(o[6]):
                return None
            bias = self.consts[o[6]].astype(np.int64).reshape(-1)
        wb = self.weight_int8(w, o[5])
        a_shape, a_dt = ins[0]
        if wb is None or a_dt not in ("int8", "uint8") or len(a_shape) != 2:
            return None
        n = w.shape[1]
        if bias is not None and bias.size != n:
            bias = np.broadcast_to(bias, (n,)).copy()
        scale = (self.consts[o[1]], self.consts[o[4]], self.consts[o[7]], o[8], outs[0][1])
        a8 = self.to_int8(o[0], a_shape, a_dt)
        return self.int8_product(a8, wb, o[2], a_dt, [a_shape[0], n], bias, scale, None)

    def match_qdq_conv(self, op: ir.Operation, attrs: dict[str, Any], outs: list[Any]) -> list[Any] | None:
        """QDQ Conv: int8 conv on the accelerator (im2col), dequantized per output channel, + bias in float."""
        q = self.qdq_operands(op.operands[0], op.operands[1])
        if q is None:
            return None
        xq, xz, wq, wz, mult = q
        x_t = tensor_type(xq.type)
        w = self.consts[wq]
        if x_t is None or mult.size not in (1, w.shape[0]):
            return None
        bias = op.operands[2] if len(op.operands) > 2 and tensor_type(op.operands[2].type) is not None else None
        return self.conv_product(xq, x_t, xz, w, wz, attrs, outs[0], None, None, mult, bias)

    def match_conv(self, op: ir.Operation, kind: str, attrs: dict[str, Any], ins: list[Any],
                   outs: list[Any]) -> list[Any] | None:
        """ConvInteger / QLinearConv with constant weights (see :meth:`conv_product`)."""
        opd = list(op.operands)
        if kind == "ConvInteger":
            x, w = opd[0], opd[1]
            xz = opd[2] if len(opd) > 2 and ins[2] is not None else None
            wz = opd[3] if len(opd) > 3 and ins[3] is not None else None
            x_t, scale, bias = ins[0], None, None
        else:
            x, xz, w, wz = opd[0], opd[2], opd[3], opd[5]
            if not all(self.is_const(v) for v in (opd[1], opd[4], opd[6], opd[7])) or self.consts[opd[1]].size != 1 \
                    or self.consts[opd[6]].size != 1 or self.consts[opd[7]].size != 1:
                return None
            x_t = ins[0]
            scale = (self.consts[opd[1]], self.consts[opd[4]], self.consts[opd[6]], opd[7], outs[0][1])
            bias = None
            if len(opd) > 8 and ins[8] is not None:
                if not self.is_const(opd[8]):
                    return None
                bias = self.consts[opd[8]].astype(np.int64)
        if not self.is_const(w):
            return None
        return self.conv_product(x, x_t, xz, self.consts[w], wz, attrs, outs[0], scale, bias, None, None)

    def conv_product(self, x: Any, x_t: Any, xz: Any, w: np.ndarray, wz: Any, attrs: dict[str, Any], out_t: Any,
                     scale: Any, bias: np.ndarray | None, dequant: np.ndarray | None,
                     float_bias: Any) -> list[Any] | None:
        """A 2-D, group-1 quantized conv as accel.Im2Col (padding = the input's zero point, so padded
        taps cancel in the zero-point correction) + accel.matmul + epilogue + accel.RowsToNCHW."""
        x_shape, x_dt = x_t
        if int(attrs.get("group", 1)) != 1 or len(x_shape) != 4 or w.ndim != 4 \
                or x_dt not in ("int8", "uint8") or w.dtype not in (np.int8, np.uint8):
            return None
        xz8 = self.zp_value(xz, x_dt)
        mch, kk = w.shape[0], int(np.prod(w.shape[1:]))
        wb = self.weight_int8(np.ascontiguousarray(w.reshape(mch, kk).T), wz)
        padded = any(int(p) for p in attrs.get("pads") or []) or attrs.get("auto_pad", "NOTSET") in ("SAME_UPPER",
                                                                                                   "SAME_LOWER")
        if wb is None or (xz8 is None and padded):
            return None  # padding must equal the input's zero point, unknown until run time: CPU
        n_out, oh, ow = out_t[0][0], out_t[0][2], out_t[0][3]
        rows_shape = [n_out * oh * ow, mch]
        x8 = self.to_int8(x, x_shape, x_dt)
        win = {k: v for k, v in attrs.items() if k in ("auto_pad", "pads", "strides", "dilations")}
        rows = self.host("accel.Im2Col", [x8], [([n_out * oh * ow, kk], "int8")],
                         {**win, "kernel_shape": list(w.shape[2:]),
                          "pad_value": 0 if xz8 is None else int(xz8.reshape(-1)[0])})[0]
        c = self.int8_product(rows, wb, xz, x_dt, rows_shape, bias, scale, dequant)[0]
        if float_bias is not None:
            c = self.host("Add", [c, float_bias], [(rows_shape, "float32")])[0]
        return self.host("accel.RowsToNCHW", [c], [out_t], {"n": n_out, "oh": oh, "ow": ow})

    def zp_value(self, v: Any, dtype: str) -> np.ndarray | None:
        """A constant zero point in the int8 domain (epilogue.u8_shift), or None if not constant."""
        if v is None:
            return np.zeros(1, dtype=np.int64)
        if not self.is_const(v):
            return None
        return self.consts[v].astype(np.int64).reshape(-1) - (128 if dtype == "uint8" else 0)

    def weight_int8(self, w: np.ndarray, wz: Any) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The constant [K, N] weight in the int8 domain and its remaining zero point.

        ``W - w_zp`` when every value fits int8 (zero point per tensor or per column): the zero
        point folds into the weight and the accelerator needs no row sums of A (zero point None).
        Otherwise ``W`` shifted into int8 (uint8 - 128, :func:`epilogue.u8_shift`) and its shifted
        zero point, which costs a row-sum correction on the CPU. None for a runtime zero point."""
        if wz is None:
            zp = np.zeros(1, dtype=np.int64)
        elif self.is_const(wz):
            zp = self.consts[wz].astype(np.int64).reshape(-1)
        else:
            return None
        if zp.size not in (1, w.shape[-1]):
            return None
        centred = w.astype(np.int64) - zp
        if centred.min(initial=0) >= -128 and centred.max(initial=0) <= 127:
            return np.ascontiguousarray(centred.astype(np.int8)), None
        shift = 128 if w.dtype == np.uint8 else 0
        return np.ascontiguousarray((w.astype(np.int64) - shift).astype(np.int8)), zp - shift

    def to_int8(self, a: Any, shape: list[int], dtype: str) -> Any:
        """uint8 activations into the int8 domain (x - 128) on the CPU: the accelerator multiplies
        int8 x int8 (the fused epilogue's u8 input flag will make this a fabric job)."""
        if dtype == "int8":
            return a
        a16 = self.host("Cast", [a], [(shape, "int16")], {"to": ONNX_TYPE["int16"]})[0]
        s16 = self.host("Sub", [a16, self.weight(np.array(128, dtype=np.int16))], [(shape, "int16")])[0]
        return self.host("Cast", [s16], [(shape, "int8")], {"to": ONNX_TYPE["int8"]})[0]

    def quantized_matmul(self, a: Any, b: Any, az: Any, bz: Any, a_type: Any, b_type: Any, out_shape: list[int],
                         scale: Any, dequant: np.ndarray | None = None) -> list[Any] | None:
        (a_shape, a_dt), (b_shape, b_dt) = a_type, b_type
        if a_dt not in ("int8", "uint8") or b_dt not in ("int8", "uint8") or not self.is_const(b) \
                or len(b_shape) < 2 or len(a_shape) < 2:
            return None
        if len(b_shape) == 3 and len(a_shape) == 3 and a_shape[0] == b_shape[0]:
            return self.batched_matmul(a, b, az, bz, a_type, b_type, out_shape, scale, dequant)
        if len(b_shape) != 2:
            return None
        wb = self.weight_int8(self.consts[b], bz)
        if wb is None:
            return None
        a8 = self.to_int8(a, a_shape, a_dt)
        c_shape = [*a_shape[:-1], b_shape[1]]
        return self.int8_product(a8, wb, az, a_dt, c_shape, None, scale, dequant)

    def batched_matmul(self, a: Any, b: Any, az: Any, bz: Any, a_type: Any, b_type: Any, out_shape: list[int],
                       scale: Any, dequant: np.ndarray | None) -> list[Any] | None:
        """[G, M, K] x constant [G, K, N]: one accelerator product per batch element on views of A
        (no copy), the results joined by a CPU Concat."""
        (a_shape, a_dt), (b_shape, _b_dt) = a_type, b_type
        g, m, k = a_shape
        n = b_shape[2]
        wbs = [self.weight_int8(self.consts[b][i], bz) for i in range(g)]
        if any(w is None for w in wbs):
            return None
        a8 = self.to_int8(a, a_shape, a_dt)
        parts = []
        for i, wb in enumerate(wbs):
            ai = self.emit("accel.view", [a8], [vtype([m, k], "int8")],
                           {"node": self.node, "op": self.kind, "byte_offset": i * m * k})[0]
            yi = self.int8_product(ai, wb, az, a_dt, [m, n], None, scale, dequant)[0]
            parts.append(self.emit("accel.view", [yi], [vtype([1, m, n], self.elem(yi))],
                                   {"node": self.node, "op": self.kind, "byte_offset": 0})[0])
        return self.host("Concat", parts, [(out_shape, self.elem(parts[0]))], {"axis": 0})

    @staticmethod
    def elem(v: Any) -> str:
        t = tensor_type(v.type)
        if t is None:
            raise ValueError(str(v.type))
        return t[1]

    def int8_product(self, a8: Any, wb: tuple[np.ndarray, np.ndarray | None], az: Any, a_dt: str,
                     c_shape: list[int], bias: np.ndarray | None, scale: Any, dequant: np.ndarray | None) -> list[Any]:
        """accel.matmul of int8 rows ``a8`` (any shape [..., K]) with the constant int8 [K, N] weight,
        then the zero-point corrections ``-az8 * colsum(B8) - bz8 * rowsum(A8) + K * az8 * bz8``
        (+ ``bias``; the row sums are a CPU step) and the epilogue."""
        b8, bz8 = wb
        k, n = b8.shape
        m = int(np.prod(c_shape[:-1]))
        total = np.zeros(n, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(n).copy()
        neg_colsum = -b8.astype(np.int64).sum(axis=0)
        c = self.emit("accel.matmul", [a8, self.weight(b8)], [vtype(c_shape, "int32")],
                      {"node": self.node, "op": self.kind, "m": m, "n": n, "k": k})[0]
        az8 = self.zp_value(az, a_dt)
        if az8 is None:  # runtime zero point (DynamicQuantizeLinear): az8 * (K*bz8 - colsum(B8)) on the CPU
            az32 = self.host("Cast", [az], [([], "int32")], {"to": ONNX_TYPE["int32"]})[0]
            if a_dt == "uint8":
                az32 = self.host("Sub", [az32, self.weight(np.array(128, dtype=np.int32))], [([], "int32")])[0]
            per_az = neg_colsum + (k * np.broadcast_to(bz8, (n,)) if bz8 is not None else 0)
            corr = self.host("Mul", [az32, self.weight(epilogue._wrap32(per_az))], [([n], "int32")])[0]
            c = self.host("Add", [c, corr], [(c_shape, "int32")])[0]
        else:
            total = total + int(az8.reshape(-1)[0]) * neg_colsum
            if bz8 is not None:
                total = total + k * int(az8.reshape(-1)[0]) * np.broadcast_to(bz8, (n,))
        if bz8 is not None and np.any(bz8):
            ones = self.weight(np.ones((k, 1), dtype=np.int8))
            rs = self.host("MatMulInteger", [a8, ones], [([*c_shape[:-1], 1], "int32")], macs=m * k)[0]
            neg_bz = self.weight(epilogue._wrap32(-np.broadcast_to(bz8, (n,)).astype(np.int64)))
            corr = self.host("Mul", [rs, neg_bz], [(c_shape, "int32")])[0]
            c = self.host("Add", [c, corr], [(c_shape, "int32")])[0]
        return self._epilogue(c, c_shape, epilogue._wrap32(total), scale, dequant)


    def _epilogue(self, c: Any, c_shape: list[int], bias: np.ndarray, scale: Any,
                  dequant: np.ndarray | None) -> list[Any]:
        """The int32 -> output steps after the accelerator's product: THE switch for the fused
        epilogue. Today the folded bias and the requantization run on the CPU as host steps
        (``accel.Requantize`` = :func:`accel.contract.epilogue.requantize`, MLAS's arithmetic);
        when the driver program supports LOAD_EPI/DRAIN_Q they become attributes of the
        accel.matmul op instead and these host steps disappear."""
        if scale is not None:
            a_s, b_s, y_s, y_zp, y_dt = scale
            mult = (np.float32(a_s.reshape(())) * b_s.astype(np.float32).reshape(-1) / np.float32(y_s.reshape(())))
            zp = int(self.consts[y_zp].reshape(-1)[0])
            ins = [c, self.weight(bias)] if np.any(bias) else [c]
            return self.host("accel.Requantize", ins, [(c_shape, y_dt)],
                             {"scale": [float(x) for x in mult.astype(np.float32)], "zero_point": zp,
                              "out_dtype": y_dt})
        if np.any(bias):
            c = self.host("Add", [c, self.weight(bias)], [(c_shape, "int32")])[0]
        if dequant is None:
            return [c]
        f = self.host("Cast", [c], [(c_shape, "float32")], {"to": ONNX_TYPE["float32"]})[0]
        return self.host("Mul", [f, self.weight(dequant if dequant.size > 1 else dequant.reshape(()))],
                         [(c_shape, "float32")])
