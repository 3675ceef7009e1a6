"""Peephole fusions of accel-onnx-partition, run once every ONNX node is placed (on accel IR).

Each rewrite replaces host steps by fewer host steps (or none) computing the same integers:

- **QDQ requantization** (:meth:`Fusions.fuse_qdq_requantize`): the steps a QDQ
  ``DequantizeLinear -> MatMul/Gemm/Conv [-> Add(bias)] -> QuantizeLinear`` group leaves after the
  accelerator's int32 product — ``[Add(int32 correction)] -> Cast(float32) -> Mul(x_scale*w_scale)
  [-> Add(float bias)] [-> RowsToNCHW] -> QuantizeLinear(y_scale, y_zp)`` — become ONE
  ``accel.Requantize`` (``float32(acc + bias) * (x_scale*w_scale / y_scale)``, round half to
  even, + zp): exactly the integer kernel onnxruntime runs for the group in a default
  (optimized) session (QLinearMatMul/QLinearConv/QGemm, MLAS's requantization), and the form the
  fabric's epilogue (LOAD_EPI/DRAIN_Q) computes. A float bias is folded only when it is exactly
  an int32 multiple of the multiplier (what the quantizer writes: an int32 bias dequantized with
  x_scale*w_scale), else the group is left alone.
- **Relu/Clip into the clamp** (:meth:`Fusions.fuse_activation`): ``DequantizeLinear(x, s, zp)
  -> Relu|Clip -> QuantizeLinear(s, zp)`` with the same per-tensor parameters is
  ``clamp(x, Q(lo), Q(hi))``: QuantizeLinear is monotone, so it commutes with the clamp
  (``Q(clip(v, lo, hi)) = clip(Q(v), Q(lo), Q(hi))``, ``Q(0) = zp`` for Relu) and ``Q(DQ(x)) = x``
  for equal parameters (``|x - zp| <= 255``: the float32 round trip is within far less than half
  a step). The bounds are quantized with onnxruntime's QuantizeLinear (divide, round half to
  even, + zp, saturate). The clamp joins the producing ``accel.Requantize``'s ``lo``/``hi`` when
  it is x's only reader (no step left), else it is one integer ``Clip`` step.
- **integer Relu/Clip** (:meth:`Fusions.fuse_int_activation`): a ``Relu``/``Clip`` (constant
  bounds) on the 8-bit output of a requantization (a QLinear op's output feeding Relu) narrows its
  clamp: clamps compose.
- **MaxPool on the integers** (:meth:`Fusions.fuse_pool`): ``QuantizeLinear(MaxPool(DequantizeLinear(x,
  s, zp)), s, zp)`` is ``MaxPool(x)`` (a max commutes with a monotone map; padding never wins).
- **Identity requantization** (:meth:`Fusions.fuse_identity`): ``QuantizeLinear(DequantizeLinear(x,
  s, zp), s, zp)`` through views (a Flatten between them) is x itself, by the same argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.contract.epilogue import _wrap32
from accel.contract.hostops import QUANT_RANGES

from .. import irutil
from ..irutil import ir


def users(v: Any) -> list[ir.Operation]:
    return [u.owner for u in v.uses]


def host(v: Any, op: str | tuple[str, ...]) -> ir.Operation | None:
    """The accel.host op (of kind ``op``) that produced ``v``, if any."""
    owner = v.owner if isinstance(v, ir.OpResult) else None
    if owner is None or owner.name != "accel.host":
        return None
    name = irutil.from_attr(owner.attributes["op"])
    return owner if name == op or (isinstance(op, tuple) and name in op) else None


def only_user(v: Any) -> ir.Operation | None:
    u = users(v)
    return u[0] if len(u) == 1 else None


def read_only_by(v: Any, op: ir.Operation) -> bool:
    """``v`` has exactly one use, by ``op`` (compared as operations: Python wrappers differ)."""
    u = only_user(v)
    return u is not None and u.operation == op.operation


def quantize_scalar(x: float, scale: np.float32, zp: int, dtype: str) -> int:
    """onnxruntime's QuantizeLinear of one float (divide in float32, round half to even, + zp, saturate)."""
    lo, hi = QUANT_RANGES[dtype]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        q = np.rint(np.float32(x) / np.float32(scale)) + np.float32(zp)
    if np.isnan(q):
        return lo
    return int(np.clip(q, lo, hi))


class Fusions:
    """Mixin of :class:`~.onnx_partition.AccelOnnxPartition` (uses its ``consts``/``weight``/``emit``)."""

    consts: dict[Any, np.ndarray]
    fused: dict[str, str]  # ONNX node -> op type of every node a fusion erased ops of

    def weight(self, arr: np.ndarray, **origin: str) -> Any: ...  # provided by the pass

    def emit(self, name: str, operands: list[Any], results: list[ir.Type], attrs: dict[str, Any]) -> list[Any]: ...

    # ------------------------------------------------------------------ helpers
    def qparams(self, q: ir.Operation) -> tuple[np.float32, int] | None:
        """(scale, zero point) of a Quantize/DequantizeLinear with constant per-tensor parameters."""
        opd = list(q.operands)
        if len(opd) < 2 or opd[1] not in self.consts or self.consts[opd[1]].size != 1:
            return None
        zp = 0
        if len(opd) > 2 and str(opd[2].type) != "!torch.none":
            if opd[2] not in self.consts or self.consts[opd[2]].size != 1:
                return None
            zp = int(self.consts[opd[2]].reshape(()))
        return np.float32(self.consts[opd[1]].reshape(())), zp

    def note(self, op: ir.Operation) -> None:
        """Remember the ONNX node of an op a fusion erases (the report lists it as folded)."""
        if "node" in op.attributes:
            a = irutil.attr_dict(op)
            self.fused.setdefault(a["node"], a.get("onnx_op", a["op"]))

    def replace(self, old: ir.Operation, new: Any) -> None:
        self.note(old)
        old.results[0].replace_all_uses_with(new)
        old.erase()

    def erase_dead(self, *ops: ir.Operation) -> None:
        """Erase those of ``ops`` nothing reads any more (repeatedly: erasing one frees its producers)."""
        left = list(ops)
        while True:
            dead = [op for op in left if not any(True for r in op.results for _ in r.uses)]
            if not dead:
                return
            for op in dead:
                self.note(op)
                op.erase()
            ids = {id(op) for op in dead}
            left = [op for op in left if id(op) not in ids]

    def run_fusions(self, func: ir.Operation) -> None:
        """Every fusion, in dependency order; the erased nodes go to the function's ``accel.fused``."""
        self.fused = {}
        for op in irutil.body_ops(func):
            if op.name == "accel.host" and irutil.from_attr(op.attributes["op"]) == "QuantizeLinear":
                self.fuse_qdq_requantize(op)
        for op in irutil.body_ops(func):
            if op.name == "accel.host" and irutil.from_attr(op.attributes["op"]) == "QuantizeLinear":
                self.fuse_activation(op) or self.fuse_identity(op) or self.fuse_pool(op)
        for op in irutil.body_ops(func):
            if op.name == "accel.host" and irutil.from_attr(op.attributes["op"]) in ("Relu", "Clip"):
                self.fuse_int_activation(op)
        if getattr(self, "fabric", False):
            # fuse_fabric erases ops after the matmul: walk again from the top after each rewrite
            # (a wrapper of an erased op must not be touched), skipping matmuls that did not fuse
            tried = 0
            while True:
                mms = [op for op in irutil.body_ops(func) if op.name == "accel.matmul"
                       and "epilogue" not in op.attributes]
                rest = mms[tried:]
                hit = next((i for i, op in enumerate(rest) if self.fuse_fabric(op)), None)
                if hit is None:
                    break
                tried += hit
        if self.fused:
            irutil.set_attr(func, "accel.fused", self.fused)

    # ------------------------------------------------------------------ QDQ requantization
    def fuse_qdq_requantize(self, q: ir.Operation) -> bool:
        from .onnx_partition import tensor_type

        qp = self.qparams(q)
        out_t = tensor_type(q.results[0].type)
        if qp is None or out_t is None or out_t[1] not in ("int8", "uint8"):
            return False
        ys, yzp = qp
        v = q.operands[0]
        rows = host(v, "accel.RowsToNCHW")
        if rows is not None:
            v = rows.operands[0]
        fbias = None
        add = host(v, "Add")
        if add is not None and add.operands[1] in self.consts:
            fbias, v = self.consts[add.operands[1]], add.operands[0]
        mul = host(v, "Mul")
        if mul is None or mul.operands[1] not in self.consts:
            return False
        mult = self.consts[mul.operands[1]]
        cast = host(mul.operands[0], "Cast")
        if cast is None or mult.dtype != np.float32:
            return False
        c = cast.operands[0]
        c_t = tensor_type(c.type)
        if c_t is None or c_t[1] != "int32" or not c_t[0]:
            return False
        n = c_t[0][-1]
        mult = mult.reshape(-1)
        if mult.size not in (1, n) or np.any(mult <= 0) or not np.all(np.isfinite(mult)):
            return False
        chain = [op for op in (rows, add, mul, cast) if op is not None]
        if any(only_user(op.results[0]) is None for op in chain):
            return False
        ibias = np.zeros(n, dtype=np.int64)
        cadd = host(c, "Add")
        if cadd is not None and cadd.operands[1] in self.consts and read_only_by(c, cast) \
                and self.consts[cadd.operands[1]].size == n:
            ibias += self.consts[cadd.operands[1]].astype(np.int64).reshape(n)
            c = cadd.operands[0]
            chain.append(cadd)
        if fbias is not None:
            fb = np.broadcast_to(fbias.astype(np.float32), (n,)) if fbias.size in (1, n) and fbias.ndim <= 1 else None
            if fb is None:
                return False
            m = np.broadcast_to(mult, (n,))
            bi = np.rint(fb / m)
            if np.any(np.abs(bi) > 2**31 - 1) or not np.array_equal((bi.astype(np.float32) * m).astype(np.float32), fb):
                return False  # not an int32 bias dequantized with this multiplier
            ibias += bi.astype(np.int64)
        scale = (mult.astype(np.float32) / ys).astype(np.float32)
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            return False
        a = irutil.attr_dict(q)
        self.node, self.kind = a["node"], a.get("onnx_op", a["op"])  # type: ignore[attr-defined]
        c_out = list(c_t[0])
        from .onnx_partition import vtype

        with ir.InsertionPoint(q), q.location:
            ins = [c, self.weight(_wrap32(ibias))] if np.any(ibias) else [c]
            y = self.emit("accel.host", ins, [vtype(c_out, out_t[1])],
                          {"node": a["node"], "op": "accel.Requantize", "onnx_op": self.kind,
                           "attrs": {"scale": [float(x) for x in scale], "zero_point": int(yzp),
                                     "out_dtype": out_t[1]}})[0]
            if rows is not None:
                ra = irutil.attr_dict(rows)
                y = self.emit("accel.host", [y], [vtype(out_t[0], out_t[1])],
                              {"node": ra["node"], "op": "accel.RowsToNCHW", "onnx_op": ra.get("onnx_op", ra["op"]),
                               "attrs": ra["attrs"]})[0]
        self.replace(q, y)
        self.erase_dead(*chain)
        return True

    # ------------------------------------------------------------------ Relu / Clip
    def sandwiched(self, q: ir.Operation, ops: str | tuple[str, ...]) -> tuple[Any, ...] | None:
        """``q = QuantizeLinear(inner(DequantizeLinear(x)))`` where ``inner`` is one of ``ops``, each
        op read only by the next, and q and the DequantizeLinear share one 8-bit type, scale and zero
        point: then ``inner`` can work on the integers ``x`` directly. Returns
        ``(inner, dq, x, out_type, (scale, zero_point))`` or None."""
        from .onnx_partition import tensor_type

        inner = host(q.operands[0], ops)
        if inner is None or not read_only_by(inner.results[0], q):
            return None
        dq = host(inner.operands[0], "DequantizeLinear")
        out_t = tensor_type(q.results[0].type)
        if dq is None or out_t is None or not read_only_by(dq.results[0], inner):
            return None
        x = dq.operands[0]
        x_t = tensor_type(x.type)
        pq, pd = self.qparams(q), self.qparams(dq)
        if pq is None or pd is None or x_t is None or x_t[1] != out_t[1] or out_t[1] not in ("int8", "uint8") \
                or pq[1] != pd[1] or not np.array_equal(np.float32(pq[0]), np.float32(pd[0])):
            return None
        return inner, dq, x, out_t, pq

    def fuse_activation(self, q: ir.Operation) -> bool:
        from .onnx_partition import vtype

        match = self.sandwiched(q, ("Relu", "Clip"))
        if match is None:
            return False
        act, dq, x, out_t, (s, zp) = match
        dt = out_t[1]
        qlo, qhi = QUANT_RANGES[dt]
        kind = irutil.from_attr(act.attributes["op"])
        if kind == "Relu":
            lo, hi = quantize_scalar(0.0, s, zp, dt), qhi
        else:
            bounds = list(act.operands[1:])
            vals = []
            for b in bounds:
                if str(b.type) == "!torch.none":
                    vals.append(None)
                elif b in self.consts and self.consts[b].size == 1:
                    vals.append(float(self.consts[b].reshape(())))
                else:
                    return False
            vals += [None] * (2 - len(vals))
            lo = qlo if vals[0] is None else quantize_scalar(vals[0], s, zp, dt)
            hi = qhi if vals[1] is None else quantize_scalar(vals[1], s, zp, dt)
            if lo > hi:  # Clip with min > max gives max everywhere: leave it to the CPU as written
                return False
        if self.clamp_producer(x, dq, lo, hi, dt):
            self.replace(q, x)
            self.erase_dead(act, dq)
            return True
        a = irutil.attr_dict(act)
        with ir.InsertionPoint(q), q.location:
            lo_w = self.weight(np.array(lo, dtype=dt))
            hi_w = self.weight(np.array(hi, dtype=dt))
            y = self.emit("accel.host", [x, lo_w, hi_w], [vtype(out_t[0], dt)],
                          {"node": a["node"], "op": "Clip", "onnx_op": a.get("onnx_op", a["op"]), "attrs": {}})[0]
        self.replace(q, y)
        self.erase_dead(act, dq)
        return True

    def clamp_producer(self, x: Any, reader: ir.Operation, lo: int, hi: int, dt: str) -> bool:
        """Narrow the clamp of the ``accel.Requantize`` that produced ``x`` (directly or through an
        ``accel.RowsToNCHW``: an elementwise clamp commutes with the layout) to [lo, hi], when
        ``reader`` is x's only reader and nothing else reads the requantized tensor."""
        qlo, qhi = QUANT_RANGES[dt]
        if not read_only_by(x, reader):
            return False
        req = host(x, "accel.Requantize")
        rows = host(x, "accel.RowsToNCHW")
        if req is None and rows is not None and read_only_by(rows.operands[0], rows):
            req = host(rows.operands[0], "accel.Requantize")
        if req is None:
            return False
        ra = irutil.attr_dict(req)["attrs"]
        rlo = qlo if ra.get("lo") is None else int(ra["lo"])
        rhi = qhi if ra.get("hi") is None else int(ra["hi"])
        ra = {**ra, "lo": max(lo, rlo), "hi": min(hi, rhi)}
        if ra["lo"] > ra["hi"]:
            return False
        irutil.set_attr(req, "attrs", ra)
        return True

    # ------------------------------------------------------------------ integer Relu / Clip
    def fuse_int_activation(self, act: ir.Operation) -> bool:
        """``Relu``/``Clip`` (constant integer bounds) applied to the 8-bit output of a
        requantization is its clamp: ``clip(clamp(v, lo, hi), a, b) = clamp(v, max(lo, a), min(hi, b))``."""
        from .onnx_partition import tensor_type

        x = act.operands[0]
        t = tensor_type(x.type)
        if t is None or t[1] not in ("int8", "uint8"):
            return False
        dt = t[1]
        qlo, qhi = QUANT_RANGES[dt]
        if irutil.from_attr(act.attributes["op"]) == "Relu":
            lo, hi = max(qlo, 0), qhi
        else:
            vals: list[int | None] = []
            for b in list(act.operands[1:3]):
                if str(b.type) == "!torch.none":
                    vals.append(None)
                elif b in self.consts and self.consts[b].size == 1:
                    vals.append(int(self.consts[b].reshape(())))
                else:
                    return False
            vals += [None] * (2 - len(vals))
            lo = qlo if vals[0] is None else max(qlo, min(qhi, vals[0]))
            hi = qhi if vals[1] is None else max(qlo, min(qhi, vals[1]))
            if lo > hi:
                return False
        if not self.clamp_producer(x, act, lo, hi, dt):
            return False
        self.replace(act, x)
        return True

    # ------------------------------------------------------------------ Q(DQ(x)) = x
    def fuse_identity(self, q: ir.Operation) -> bool:
        from .onnx_partition import tensor_type

        v = q.operands[0]
        views: list[ir.Operation] = []
        while isinstance(v, ir.OpResult) and v.owner.name == "accel.view" \
                and "byte_offset" not in v.owner.attributes:
            views.append(v.owner)
            v = v.owner.operands[0]
        dq = host(v, "DequantizeLinear")
        out_t = tensor_type(q.results[0].type)
        if dq is None or out_t is None:
            return False
        x = dq.operands[0]
        x_t = tensor_type(x.type)
        pq, pd = self.qparams(q), self.qparams(dq)
        if pq is None or pd is None or x_t is None or x_t[1] != out_t[1] or out_t[1] not in ("int8", "uint8") \
                or pq[1] != pd[1] or not np.array_equal(np.float32(pq[0]), np.float32(pd[0])):
            return False
        from .onnx_partition import vtype

        a = irutil.attr_dict(q)
        with ir.InsertionPoint(q), q.location:
            y = x
            if list(x_t[0]) != list(out_t[0]):
                y = self.emit("accel.view", [x], [vtype(out_t[0], out_t[1])],
                              {"node": a["node"], "op": a.get("onnx_op", a["op"])})[0]
        self.replace(q, y)
        self.erase_dead(*views, dq)
        return True

    # ------------------------------------------------------------------ Q(MaxPool(DQ(x))) = MaxPool(x)
    def fuse_pool(self, q: ir.Operation) -> bool:
        from .onnx_partition import vtype

        match = self.sandwiched(q, "MaxPool")
        if match is None or len(match[0].results) != 1:
            return False
        pool, dq, x, out_t, _qp = match
        a = irutil.attr_dict(pool)
        with ir.InsertionPoint(q), q.location:
            y = self.emit("accel.host", [x], [vtype(out_t[0], out_t[1])],
                          {"node": a["node"], "op": "MaxPool", "onnx_op": a.get("onnx_op", a["op"]),
                           "attrs": a["attrs"]})[0]
        self.replace(q, y)
        self.erase_dead(pool, dq)
        return True

    # ------------------------------------------------------------------ the fabric's epilogue
    def u8_source(self, a8: Any) -> tuple[Any, list[ir.Operation]] | None:
        """(the uint8 tensor, the three conversion ops) when ``a8`` is the CPU's uint8 -> int8
        conversion of it (``Cast`` int16, ``Sub`` 128, ``Cast`` int8: partition's ``to_int8``)."""
        from .onnx_partition import tensor_type

        c8 = host(a8, "Cast")
        sub = host(c8.operands[0], "Sub") if c8 is not None else None
        c16 = host(sub.operands[0], "Cast") if sub is not None else None
        shift = self.consts.get(sub.operands[1]) if sub is not None else None
        if c16 is None or shift is None or shift.size != 1 or int(shift.reshape(-1)[0]) != 128 \
                or (tensor_type(c16.operands[0].type) or ([], ""))[1] != "uint8":
            return None
        return c16.operands[0], [c8, sub, c16]

    def fuse_fabric(self, mm: ir.Operation) -> bool:
        """``accel.matmul -> [Add(int32 bias)] -> [Add(-b_zp8 * rowsum(A8))] -> accel.Requantize``
        becomes ONE accel.matmul with an ``epilogue`` attribute (driver program version 2: LOAD_EPI
        + DRAIN_Q, :mod:`accel.contract.epilogue`): the folded bias, the per-column scales, the
        output zero point and clamp, the weight zero point (the fabric sums A's rows itself, so
        the CPU's MatMulInteger-with-ones step goes) and, when A is the uint8 -> int8 conversion of
        a uint8 tensor, that tensor itself with the u8 flag (the CPU's Cast/Sub/Cast steps go)."""
        from .onnx_partition import tensor_type, vtype

        a8, b = mm.operands[0], mm.operands[1]
        attrs = irutil.attr_dict(mm)
        if "epilogue" in attrs:
            return False
        n, k = attrs["n"], attrs["k"]
        bias = np.zeros(n, dtype=np.int64)
        bz8 = 0
        chain: list[ir.Operation] = []
        v = mm.results[0]
        while True:
            u = only_user(v)
            if u is None or u.name != "accel.host":
                return False
            kind = irutil.from_attr(u.attributes["op"])
            if kind == "accel.Requantize" and u.operands[0] == v:
                req = u
                break
            if kind != "Add" or u.operands[0] != v:
                return False
            other = u.operands[1]
            if other in self.consts and self.consts[other].dtype == np.int32 and self.consts[other].size == n:
                bias += self.consts[other].astype(np.int64).reshape(n)
                chain.append(u)
            else:
                mul = host(other, "Mul")
                rs = host(mul.operands[0], "MatMulInteger") if mul is not None else None
                if rs is None or bz8 or rs.operands[0] != a8 or rs.operands[1] not in self.consts \
                        or mul.operands[1] not in self.consts or not read_only_by(other, u):
                    return False
                ones, neg = self.consts[rs.operands[1]], self.consts[mul.operands[1]].reshape(-1)
                if ones.shape != (k, 1) or np.any(ones != 1) or neg.size not in (1, n) or np.any(neg != neg[0]) \
                        or not -128 <= -int(neg[0]) <= 127:
                    return False  # a per-column weight zero point: the fabric holds one
                bz8 = -int(neg[0])
                chain += [u, mul, rs]
            v = u.results[0]
        ra = irutil.attr_dict(req)["attrs"]
        if len(req.operands) > 1 and str(req.operands[1].type) != "!torch.none":
            if req.operands[1] not in self.consts:
                return False
            bias += np.broadcast_to(self.consts[req.operands[1]].astype(np.int64).reshape(-1), (n,))
        out_t = tensor_type(req.results[0].type)
        if out_t is None:
            return False
        od = out_t[1]
        qlo, qhi = QUANT_RANGES[od]
        scale = np.broadcast_to(np.asarray(ra["scale"], dtype=np.float32).reshape(-1), (n,))
        # A: the uint8 tensor itself when a8 is its CPU conversion (Cast int16, Sub 128, Cast int8),
        # or the patches of it (accel.Im2Col of the conversion: the patches of the uint8 tensor, padded
        # with the zero point + 128, converted by the input path instead)
        a_in, a_dt, conv, im = a8, "int8", [], None
        mine = {o.operation for o in (mm, *chain)}
        if all(w.operation in mine for w in users(a8)):
            src = self.u8_source(a8)
            im = host(a8, "accel.Im2Col") if src is None else None
            if src is not None:
                a_in, a_dt, conv = src[0], "uint8", src[1]
            elif im is not None and read_only_by(im.operands[0], im) and self.u8_source(im.operands[0]) is not None:
                x_u8, conv = self.u8_source(im.operands[0])  # type: ignore[misc]
                a_dt, conv = "uint8", [im, *conv]
            else:
                im = None
        epi = {"bias": [int(x) for x in _wrap32(bias)], "scale": [float(x) for x in scale],
               "zero_point": int(ra.get("zero_point", 0)),
               "lo": qlo if ra.get("lo") is None else int(ra["lo"]),
               "hi": qhi if ra.get("hi") is None else int(ra["hi"]),
               "b_zero_point": bz8, "a_dtype": a_dt, "out_dtype": od}
        with ir.InsertionPoint(req), req.location:
            if im is not None:
                ia = irutil.attr_dict(im)
                shape = (tensor_type(a8.type) or ([], ""))[0]
                pad = int(ia["attrs"].get("pad_value", 0)) + 128  # the zero point, back in the uint8 domain
                a_in = self.emit("accel.host", [x_u8], [vtype(shape, "uint8")],
                                 {**ia, "attrs": {**ia["attrs"], "pad_value": pad}})[0]
            y = self.emit("accel.matmul", [a_in, b], [req.results[0].type], {**attrs, "epilogue": epi})[0]
        self.replace(req, y)
        self.erase_dead(*reversed(chain), mm, *conv)
        return True
