"""accel-schedule: choose tiles, loop order, stationarity and double buffering for every
matched matmul with the analytic cost model (:mod:`accel.contract.costmodel`).

AXI4MLIR attributes on the op (``accel_opcode_map_str``/``accel_opcode_flow_str``,
``accel_loop_permutation``, ``accel_accel_tile_size``) and pass options fix the parameters
they name; the cost model chooses the rest. The result is recorded on the op:

``accel.schedule = {tile_m, tile_n, tile_k, stationarity, order, double_buffer, staging,
spec, spec_hash, source, predicted_cycles, candidates}`` and ``accel.cost = {...}`` (the
prediction's breakdown).
"""

from __future__ import annotations

from typing import Any

from accel.contract import costmodel
from accel.contract.schedule import dimension_limit
from accel.errors import AccelError, CompileError
from accel.overlays.spec import load_spec

from .. import axi4mlir, irutil
from ..irutil import ir
from .base import Option, Pass, register

SCHEDULE_KEYS = ("tile_m", "tile_n", "tile_k", "stationarity", "order", "double_buffer", "staging")


def walk_matmuls(module: Any) -> list[tuple[ir.Operation, ir.Operation]]:
    """(func, linalg.matmul) pairs of a module, in order."""
    out = []
    for func in irutil.functions(module):
        for op in irutil.body_ops(func):
            if op.name == "linalg.matmul":
                out.append((func, op))
    return out


@register
class AccelSchedule(Pass):
    name = "accel-schedule"
    summary = "pick tile sizes, order, stationarity and double buffering with the analytic cost model"
    options = (
        Option("spec", str, "z2_default", "accelerator spec name or .toml path"),
        Option("objective", str, "fabric", "minimise fabric cycles, or fabric + projected host time",
               ("fabric", "board")),
        Option("tile-m", int, None, "fix tile_m"),
        Option("tile-n", int, None, "fix tile_n"),
        Option("tile-k", int, None, "fix tile_k"),
        Option("stationarity", str, None, "fix the flow: A, C or N", ("A", "C", "N")),
        Option("order", str, None, "fix the loop order: mn or nm", ("mn", "nm")),
        Option("double-buffer", bool, None, "fix double buffering"),
        Option("staging", bool, None, "fix staging copies (the AXI4MLIR baseline)"),
        Option("bs", str, "map", "Bs (B-stationary) flows: map to the closest flow, or reject", ("map", "reject")),
        Option("axi4mlir", bool, True, "honour AXI4MLIR attributes on the op"),
    )

    def run(self, module: Any) -> None:
        try:
            spec = load_spec(self.opt("spec"))
        except AccelError as exc:
            raise CompileError(f"accel-schedule: {exc}") from None
        for _func, mm in walk_matmuls(module):
            match = irutil.dict_attr(mm, "accel.match")
            if match is None:
                raise self.error("linalg.matmul was not matched: run accel-match before accel-schedule", mm)
            self.schedule_op(spec, mm, match)

    def schedule_op(self, spec: Any, mm: ir.Operation, match: dict[str, Any]) -> None:
        m, n, k = match["m"], match["n"], match["k"]
        width, largest = dimension_limit(spec)
        for dim, value in (("M", m), ("N", n), ("K", k)):
            if value > largest:
                raise self.error(
                    f"{dim}={value} exceeds the accelerator's {width}-bit row_len/window fields (max {largest}); "
                    f"split the matmul along {dim}",
                    mm,
                )
        fixed: dict[str, Any] = {}
        sources = []
        if self.opt("axi4mlir"):
            attrs = irutil.attr_dict(mm)
            present = [a for a in axi4mlir.HONOURED if a in attrs]
            try:
                cons = axi4mlir.constraints_from_attrs(attrs, spec, m, n, k, bs=self.opt("bs"))
            except ValueError as exc:
                raise self.error(f"malformed AXI4MLIR attribute: {exc}", mm) from None
            except CompileError as exc:
                raise self.error(str(exc), mm) from None
            for note in cons.remarks:
                self.remark(note, mm)
            fixed.update(cons.fixed())
            if present:
                sources.append("axi4mlir(" + ",".join(present) + (f";flow={cons.flow}" if cons.flow else "") + ")")
        for key in SCHEDULE_KEYS:
            value = self.opt(key)
            if value is not None:
                fixed[key] = value
                sources.append(f"option {key}")
        try:
            # staging copies are host work: only the board objective prices them, so only it
            # weighs staging schedules (fewer streamed B bytes when N is split) against zero-copy
            ranked = costmodel.rank(spec, m, n, k, c_init=match["c_init"], fixed=fixed,
                                    objective=self.opt("objective"),
                                    include_staging=self.opt("objective") == "board")
        except AccelError as exc:
            raise self.error(f"cost model failed: {exc}", mm) from None
        if not ranked:
            detail = ", ".join(f"{a}={b}" for a, b in fixed.items())
            raise self.error(
                f"no valid schedule for M={m} N={n} K={k} on spec {spec.name} with {detail}: the ISA needs "
                f"tile_m <= {spec.rows}, tile_n <= {spec.nmax}, tile_k <= {spec.kmax}, split tiles a multiple of "
                f"{spec.lanes} lanes, A-stationary only with tile_k = K or one N tile, and DMA transfers <= "
                f"{spec.dma_max_bytes} bytes",
                mm,
            )
        best = ranked[0]
        s = best.schedule
        record = {key: getattr(s, key) for key in SCHEDULE_KEYS}
        record.update({
            "spec": spec.name,
            "spec_ref": str(self.opt("spec")),
            "spec_hash": spec.hash,
            "source": "cost-model" + ("; " + "; ".join(sources) if sources else ""),
            "objective": self.opt("objective"),
            "predicted_cycles": int(best.prediction.cycles),
            "candidates": len(ranked),
        })
        irutil.set_attr(mm, "accel.schedule", record)
        irutil.set_attr(mm, "accel.cost", {k2: int(v) for k2, v in best.prediction.breakdown.items()})
