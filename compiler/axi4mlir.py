"""AXI4MLIR attributes on ``linalg.matmul`` -> constraints on the schedule.

Honoured attributes (AXI4MLIR, CGO'24; grammar from its ``OpcodeMap`` parser):

- ``accel_opcode_map_str = "opcode_map<s0=[op_send(0)], s1=[op_send(1)], r2=[op_recv(2)]>"``::

      opcode_dict  ::= `opcode_map` `<` opcode_entry (`,` opcode_entry)* `>`
      opcode_entry ::= (bare-id | string-literal) `=` `[` opcode_expr (`,` opcode_expr)* `]`
      opcode_expr  ::= op_send(id) | op_send_literal(int) | op_send_dim(id) | op_send_idx(id) | op_recv(id)

  operand ids 0, 1, 2 are A, B, C (``linalg.matmul`` operand order).
- ``accel_opcode_flow_str = "(s0 (s1 r2))"``: the nesting of opcodes in the tiled loop nest,
  which encodes stationarity: an operand sent at an outer level than the others stays on the
  accelerator. Ns ``(s r)`` -> "N", As ``(sA (sB c rC))`` -> "A", Cs ``((sA sB c) rC)`` -> "C",
  Bs ``(sB (sA c rC))``: this accelerator streams B and cannot hold it, so Bs maps to the
  closest supported flow (A panels with N tiles outer, i.e. Bs's loop order) with a remark, or
  is rejected (option ``bs=reject`` of accel-schedule).
- ``accel_loop_permutation = [i, j, k]`` (0 = m, 1 = n, 2 = k of the matmul iteration space,
  outermost first) -> ``order`` "mn" if m is outside n, else "nm".
- ``accel_accel_tile_size = T`` (or ``[Tm, Tn, Tk]``) -> tile sizes, clipped to the array and
  rounded to whole stream beats where the ISA requires (with a remark).

``op_send_literal``/``op_send_dim``/``op_send_idx`` describe AXI4MLIR's accelerators' own
opcodes; here the ISA comes from the spec, so they are ignored (remark). Other ``accel_*``
attributes (``accel_dmaAddress``, ``accel_acc_on_cpu``, ``accel_init_flow_str``,
``accel_tile_sizes``, ...) do not change the schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from accel.errors import CompileError

ACTIONS = ("op_send", "op_send_literal", "op_send_dim", "op_send_idx", "op_recv")
OPERAND_NAMES = {0: "A", 1: "B", 2: "C"}
HONOURED = ("accel_opcode_map_str", "accel_opcode_flow_str", "accel_loop_permutation", "accel_accel_tile_size")
IGNORED = (
    "accel_dmaAddress",
    "accel_acc_on_cpu",
    "accel_init_flow_str",
    "accel_tile_sizes",
    "accel_number_of_caches",
    "accel_opcode_map",
    "__accel_transform__",
)


@dataclass
class Constraints:
    """Schedule parameters fixed by attributes or pass options (None: the cost model decides)."""

    tile_m: int | None = None
    tile_n: int | None = None
    tile_k: int | None = None
    stationarity: str | None = None
    order: str | None = None
    double_buffer: bool | None = None
    staging: bool | None = None
    flow: str | None = None  # the AXI4MLIR flow name (Ns/As/Bs/Cs) when one was given
    remarks: list[str] = field(default_factory=list)

    def fixed(self) -> dict[str, Any]:
        keys = ("tile_m", "tile_n", "tile_k", "stationarity", "order", "double_buffer", "staging")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


# --------------------------------------------------------------------------- opcode map
_ENTRY_RE = re.compile(r'\s*(?:"([^"]*)"|([A-Za-z_][A-Za-z0-9_$.]*))\s*=\s*\[([^\]]*)\]\s*(,|$)')
_EXPR_RE = re.compile(r"\s*([a-z_]+)\s*\(\s*([^)]*?)\s*\)\s*(,|$)")


def parse_opcode_map(text: str) -> dict[str, list[tuple[str, str]]]:
    """``opcode_map<name=[action(arg), ...], ...>`` -> {name: [(action, arg), ...]}."""
    src = text.strip()
    m = re.fullmatch(r"opcode_map\s*<(.*)>", src, re.S)
    if not m:
        raise ValueError(f"opcode map {text!r} must look like opcode_map<name=[op_send(0)], ...>")
    body = m.group(1).strip()
    out: dict[str, list[tuple[str, str]]] = {}
    pos = 0
    while pos < len(body):
        em = _ENTRY_RE.match(body, pos)
        if not em:
            raise ValueError(f"opcode map: cannot parse entry at {body[pos:pos + 30]!r}")
        name = em.group(1) if em.group(1) is not None else em.group(2)
        if name in out:
            raise ValueError(f"opcode map: opcode {name!r} defined twice")
        exprs = []
        inner = em.group(3).strip()
        ipos = 0
        while ipos < len(inner):
            xm = _EXPR_RE.match(inner, ipos)
            if not xm:
                raise ValueError(f"opcode map: cannot parse action at {inner[ipos:ipos + 30]!r} in opcode {name!r}")
            action, arg = xm.group(1), xm.group(2)
            if action not in ACTIONS:
                raise ValueError(f"opcode map: unknown action {action!r} (known: {', '.join(ACTIONS)})")
            if action == "op_send_literal":
                try:
                    int(arg, 0)
                except ValueError:
                    raise ValueError(f"opcode map: op_send_literal needs an integer, got {arg!r}") from None
            elif not arg:
                raise ValueError(f"opcode map: {action} needs an operand id")
            exprs.append((action, arg))
            ipos = xm.end()
        if not exprs:
            raise ValueError(f"opcode map: opcode {name!r} has no actions")
        out[name] = exprs
        pos = em.end()
    if not out:
        raise ValueError("opcode map is empty")
    return out


# --------------------------------------------------------------------------- opcode flow
def parse_flow(text: str) -> list[tuple[str, int]]:
    """``(s0 (s1 r2))`` -> [(opcode, depth), ...] in textual order (depth 1 = outermost loop)."""
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    depth = 0
    out = []
    for tok in tokens:
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"opcode flow {text!r}: unbalanced ')'")
        else:
            if depth == 0:
                raise ValueError(f"opcode flow {text!r}: opcode {tok!r} outside parentheses")
            out.append((tok, depth))
    if depth != 0:
        raise ValueError(f"opcode flow {text!r}: unbalanced '('")
    if not out:
        raise ValueError(f"opcode flow {text!r} names no opcodes")
    return out


def flow_stationarity(opmap: dict[str, list[tuple[str, str]]], flow: list[tuple[str, int]]) -> tuple[str, list[str]]:
    """(Ns|As|Bs|Cs, notes) from where A and B are sent and C received in the loop nest."""
    send: dict[int, int] = {}
    recv: dict[int, int] = {}
    notes: list[str] = []
    literal = False
    for name, depth in flow:
        if name not in opmap:
            raise ValueError(f"opcode flow uses {name!r}, which the opcode map does not define "
                             f"(defined: {', '.join(opmap)})")
        for action, arg in opmap[name]:
            if action in ("op_send_literal", "op_send_dim", "op_send_idx"):
                literal = True
                continue
            try:
                idx = int(arg, 0)
            except ValueError:
                raise ValueError(f"opcode {name!r}: {action}({arg}) must name operand 0 (A), 1 (B) or 2 (C)") from None
            if idx not in OPERAND_NAMES:
                raise ValueError(f"opcode {name!r}: {action}({arg}) must name operand 0 (A), 1 (B) or 2 (C)")
            table = send if action == "op_send" else recv
            table[idx] = min(table.get(idx, depth), depth)
    missing = [OPERAND_NAMES[i] for i in (0, 1) if i not in send]
    if missing:
        raise ValueError(f"the opcode flow never sends {' and '.join(missing)} (op_send(0)/op_send(1))")
    if 2 not in recv:
        raise ValueError("the opcode flow never receives C (op_recv(2))")
    if 0 in recv or 1 in recv:
        raise ValueError("op_recv of an input operand (0 or 1) is not supported; only C (2) is received")
    if 2 in send:
        notes.append("op_send(2) (C to the accelerator): this accelerator cannot load C; an initial C is added "
                     "on the host")
    if literal:
        notes.append("op_send_literal/op_send_dim/op_send_idx are AXI4MLIR accelerator opcodes; this accelerator's "
                     "instructions come from the spec instead")
    da, db, dc = send[0], send[1], recv[2]
    if dc < min(da, db):
        return "Cs", notes
    if da < db:
        return "As", notes
    if db < da:
        return "Bs", notes
    return "Ns", notes


# --------------------------------------------------------------------------- all attributes
def constraints_from_attrs(attrs: dict[str, Any], spec: Any, m: int, n: int, k: int, *, bs: str = "map") -> Constraints:
    """Turn the AXI4MLIR attributes of one matmul into schedule constraints (raise ValueError if malformed)."""
    c = Constraints()
    L = spec.lanes
    map_s, flow_s = attrs.get("accel_opcode_map_str"), attrs.get("accel_opcode_flow_str")
    if (map_s is None) != (flow_s is None):
        raise ValueError("accel_opcode_map_str and accel_opcode_flow_str must be given together")
    if map_s is not None:
        if not isinstance(map_s, str) or not isinstance(flow_s, str):
            raise ValueError("accel_opcode_map_str and accel_opcode_flow_str must be strings")
        opmap = parse_opcode_map(map_s)
        flow = parse_flow(flow_s)
        name, notes = flow_stationarity(opmap, flow)
        c.flow = name
        c.remarks.extend(notes)
        if name == "Ns":
            c.stationarity = "N"
        elif name == "Cs":
            c.stationarity = "C"
        elif name == "As":
            c.stationarity = "A"
        else:  # Bs
            if bs == "reject":
                raise CompileError(
                    "B-stationary flow (Bs) is not supported: this accelerator streams B row by row and holds "
                    "A panels and C accumulators only; use As, Cs or Ns (or accel-schedule{bs=map})"
                )
            c.order = "nm"
            c.remarks.append(
                "Bs (B-stationary) flow: this accelerator streams B and cannot keep it on chip; mapped to the "
                "closest supported flow, N tiles outer (Bs's loop order) over A panels"
            )
    perm = attrs.get("accel_loop_permutation")
    if perm is not None:
        if not isinstance(perm, list) or sorted(perm) != [0, 1, 2]:
            raise ValueError(f"accel_loop_permutation {perm!r} must be a permutation of [0, 1, 2] (m, n, k)")
        order = "mn" if perm.index(0) < perm.index(1) else "nm"
        if c.order is not None and c.order != order:
            c.remarks.append(f"accel_loop_permutation {perm} asks for order {order}; the Bs mapping keeps {c.order}")
        else:
            c.order = order
    tile = attrs.get("accel_accel_tile_size")
    if tile is not None:
        if isinstance(tile, bool) or not isinstance(tile, (int, list)):
            raise ValueError(f"accel_accel_tile_size {tile!r} must be an integer or [Tm, Tn, Tk]")
        sizes = [tile] * 3 if isinstance(tile, int) else list(tile)
        if len(sizes) != 3 or any(not isinstance(t, int) or isinstance(t, bool) or t < 1 for t in sizes):
            raise ValueError(f"accel_accel_tile_size {tile!r} must be a positive integer or [Tm, Tn, Tk]")
        tm, tn, tk = sizes
        adj = []
        if tm > spec.rows:
            adj.append(f"tile_m {tm} -> {spec.rows} (array rows)")
            tm = spec.rows
        tn2 = _fit(tn, n, spec.nmax, L)
        if tn2 != tn:
            adj.append(f"tile_n {tn} -> {tn2} (NMAX {spec.nmax}, whole {L}-lane beats)")
        tk2 = _fit(tk, k, spec.kmax, L)
        if tk2 != tk:
            adj.append(f"tile_k {tk} -> {tk2} (KMAX {spec.kmax}, whole {L}-lane beats)")
        if adj:
            c.remarks.append("accel_accel_tile_size adjusted to the accelerator: " + ", ".join(adj))
        c.tile_m, c.tile_n, c.tile_k = tm, tn2, tk2
    if c.stationarity == "A" and c.tile_k is not None and c.tile_k < k:
        c.remarks.append(
            f"As flow with tile_k {c.tile_k} < K={k}: the A panel cannot stay on chip across N tiles while K is "
            "split; using tile_k = K" + ("" if k <= spec.kmax else " is impossible (K > KMAX), so output-stationary")
        )
        if k <= spec.kmax:
            c.tile_k = k
        else:
            c.stationarity = "C"
    if c.stationarity == "A" and k > spec.kmax:
        c.remarks.append(f"As flow with K={k} > KMAX={spec.kmax}: A cannot stay on chip; using the output-stationary "
                         "flow (Cs), the closest that keeps partial sums on the accelerator")
        c.stationarity = "C"
    return c


def _fit(t: int, dim: int, limit: int, lanes: int) -> int:
    """A tile size the ISA accepts: <= limit and a multiple of lanes unless it spans the whole dim."""
    if t >= dim:
        return dim if dim <= limit else limit - limit % lanes
    t = min(t, limit)
    if t % lanes:
        t = min(-(-t // lanes) * lanes, limit - limit % lanes)
        if t >= dim:
            return dim if dim <= limit else t
    return t
