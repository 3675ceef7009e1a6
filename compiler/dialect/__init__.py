"""The ``accel`` dialect: driver-level ops for the pynq-accel matmul overlay.

In the spirit of AXI4MLIR's ``accel`` dialect (``accel.init_dma``, ``accel.send``,
``accel.send_literal``, ``accel.recv``), extended with what panels and double buffering need:
one op per accelerator instruction (``accel.load_a``, ``accel.stream_b``, ``accel.drain``,
whose attributes are the ISA fields of the spec, bank numbers included) and the buffers the
DMA moves. The ops appear in generic form (the Python bindings cannot register a dialect;
``Context.allow_unregistered_dialects``). Two definitions are kept in step:

- ``accel.irdl.mlir`` (IRDL, generated from :data:`OPS` by ``accel-run irdl --write``):
  ``iree-opt --irdl-file=compiler/dialect/accel.irdl.mlir`` loads it and verifies operand,
  result, region and required-attribute structure of every accel op;
- :func:`verify` (Python): the same structure plus what IRDL cannot say: field ranges against
  the spec (rows <= ROWS, win_cnt <= KMAX/NMAX, win_lo % lanes, windows inside rows), the
  packet protocol of driver programs (``accel.contract.walker.Sequencer``: a command segment
  announces the next ``count`` instructions; LOAD_A and STREAM_B are each followed by their
  data packet, here also of exactly the size the instruction consumes; every DRAIN by one
  receive of ``rows*win_cnt*4`` bytes), and buffer bounds.

Op order inside a function is MM2S stream order; each ``accel.recv`` follows its DRAIN.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accel.contract.walker import Sequencer
from accel.errors import CompileError, ProgramError

IRDL_PATH = Path(__file__).resolve().parent / "accel.irdl.mlir"
DIALECT = "accel"

# attribute kinds -> (python check, IRDL base attribute)
_ATTR_KINDS = {
    "int": ("#builtin.integer", (int,)),
    "bool": ("#builtin.integer", (bool,)),
    "str": ("#builtin.string", (str,)),
    "dict": ("#builtin.dictionary", (dict,)),
    "list": ("#builtin.array", (list,)),
}
# operand/result kinds -> IRDL base types
_TYPE_KINDS = {
    "memref": ("!builtin.memref",),
    "tensor": ("!builtin.tensor",),
    "shaped": ("!builtin.memref", "!builtin.tensor"),
    "value": (),  # any type: model-level ops carry the importer's !torch.vtensor types
}


@dataclass(frozen=True)
class OpDef:
    """Structure of one accel op (the single source for the IRDL file and the Python verifier)."""

    name: str
    summary: str
    operands: tuple[tuple[str, str], ...] = ()
    results: tuple[tuple[str, str], ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)  # required
    optional_attrs: dict[str, str] = field(default_factory=dict)
    isa: str | None = None  # the spec opcode this op encodes (instruction ops)
    variadic: bool = False  # operands and results: any number (model-level host steps)


# Fields of each instruction (ARCHITECTURE.md section 1); names are the spec's [isa.fields].
INSTR_FIELDS = {
    "LOAD_A": ("abuf", "rows", "row_len", "win_lo", "win_cnt"),
    "STREAM_B": ("abuf", "acc", "accumulate", "row_len", "win_lo", "win_cnt"),
    "DRAIN": ("acc", "rows", "win_cnt"),
}

_OPS: tuple[OpDef, ...] = (
    OpDef(
        "init_dma",
        "Start of a driver program: overlay identity, DMA window and the schedule it was lowered with.",
        attrs={"spec": "str", "spec_hash": "str", "dma_base": "int", "accel_base": "int", "name": "str",
               "c_init": "str", "schedule": "dict"},
        optional_attrs={"predicted": "dict"},
    ),
    OpDef(
        "buffer",
        "Binds a function value (argument or constant) as a DMA operand buffer (a, b or c).",
        operands=(("value", "shaped"),),
        results=(("buffer", "memref"),),
        attrs={"operand": "str"},
        optional_attrs={"fill": "int"},  # C: the value a linalg.fill set before the matmul
    ),
    OpDef(
        "alloc",
        "An operand buffer the program creates: C of the tensor form, initialised to `fill`.",
        results=(("buffer", "memref"),),
        attrs={"operand": "str", "fill": "int"},
    ),
    OpDef(
        "scratch",
        "A driver scratch buffer: the command buffer (`cmd`) or a staging buffer.",
        results=(("buffer", "memref"),),
        attrs={"name": "str", "bytes": "int"},
    ),
    OpDef(
        "send_literal",
        "MM2S command packet: the instruction words of the next `count` instruction ops.",
        operands=(("cmd", "memref"),),
        attrs={"offset": "int", "bytes": "int", "count": "int"},
    ),
    OpDef(
        "send",
        "MM2S data packet of the preceding instruction (optionally packed from an operand first).",
        operands=(("buffer", "memref"),),
        attrs={"offset": "int", "bytes": "int"},
        optional_attrs={"pack": "dict"},
    ),
    OpDef(
        "recv",
        "S2MM packet of the preceding DRAIN (optionally unpacked/added into C afterwards).",
        operands=(("buffer", "memref"),),
        attrs={"offset": "int", "bytes": "int"},
        optional_attrs={"unpack": "dict"},
    ),
    OpDef(
        "load_a",
        "LOAD_A: keep columns [win_lo, win_lo+win_cnt) of `rows` rows of `row_len` bytes in A bank `abuf`.",
        attrs={f: "int" for f in INSTR_FIELDS["LOAD_A"]},
        isa="LOAD_A",
    ),
    OpDef(
        "stream_b",
        "STREAM_B: stream K rows of B through A bank `abuf` into accumulator bank `acc` (window of columns).",
        attrs={f: "int" for f in INSTR_FIELDS["STREAM_B"]},
        isa="STREAM_B",
    ),
    OpDef(
        "drain",
        "DRAIN: emit `rows` x `win_cnt` int32 of accumulator bank `acc` as one stream packet.",
        attrs={f: "int" for f in INSTR_FIELDS["DRAIN"]},
        isa="DRAIN",
    ),
    OpDef("wait", "Wait until every transfer of the program has completed."),
    OpDef(
        "result",
        "The tensor value of an operand buffer once the program has completed (tensor form).",
        operands=(("buffer", "memref"),),
        results=(("value", "tensor"),),
    ),
    # ---- model level (accel-onnx-partition -> accel-model-emit): one compiled ONNX model
    OpDef(
        "weight",
        "A constant tensor of a model (initializer / onnx.Constant): base64 data, C order, in the weight region.",
        results=(("value", "value"),),
        attrs={"data": "str", "dtype": "str", "shape": "list"},
        optional_attrs={"node": "str", "op": "str"},  # a constant folded from ONNX node `node`
    ),
    OpDef(
        "view",
        "A folded Reshape/Flatten/Squeeze/Identity, or a contiguous slice at `byte_offset`: the operand's bytes.",
        operands=(("source", "value"),),
        results=(("value", "value"),),
        attrs={"node": "str", "op": "str"},
        optional_attrs={"byte_offset": "int"},
    ),
    OpDef(
        "matmul",
        "An accelerator step: int8 [m, k] x int8 [k, n] -> int32 [m, n] (`accel.program`: its driver program).",
        operands=(("a", "value"), ("b", "value")),
        results=(("c", "value"),),
        attrs={"node": "str", "op": "str", "m": "int", "n": "int", "k": "int"},
        # epilogue: the fabric's fused epilogue (bias, scale, zero_point, lo, hi, b_zero_point, a_dtype,
        # out_dtype): the product is then 8-bit, computed by LOAD_EPI/DRAIN_Q (driver program version 2)
        optional_attrs={"accel.program": "str", "epilogue": "dict"},
    ),
    OpDef(
        "host",
        "A CPU step: host operation `op` (accel.contract.hostops) with `attrs`, for ONNX node `node`.",
        operands=(("inputs", "value"),),
        results=(("outputs", "value"),),
        attrs={"node": "str", "op": "str", "attrs": "dict"},
        optional_attrs={"onnx_op": "str", "macs": "int"},
        variadic=True,
    ),
)
OPS: dict[str, OpDef] = {f"{DIALECT}.{d.name}": d for d in _OPS}
INSTRUCTION_OPS = {name: d.isa for name, d in OPS.items() if d.isa}


# --------------------------------------------------------------------------- IRDL
def irdl_text() -> str:
    """The IRDL definition of the dialect (the content of ``accel.irdl.mlir``)."""
    out = [
        "// IRDL definition of the `accel` dialect (pynq-accel). GENERATED from compiler/dialect/__init__.py",
        "// by `accel-run irdl --write`; do not edit by hand.",
        "// Verify accel IR with: iree-opt --irdl-file=compiler/dialect/accel.irdl.mlir FILE.mlir",
        "// Each constraint value is bound once per op instance, so every operand/attribute gets its own.",
        f"irdl.dialect @{DIALECT} {{",
    ]
    for d in _OPS:
        out.append(f"  // {d.summary}")
        out.append(f"  irdl.operation @{d.name} {{")
        counter = [0]

        def fresh(kind: str, bases: Iterable[str], counter: list[int] = counter) -> str:
            names = []
            for base in bases:
                counter[0] += 1
                v = f"%{kind}{counter[0]}"
                out.append(f'    {v} = irdl.base "{base}"')
                names.append(v)
            if len(names) == 1:
                return names[0]
            counter[0] += 1
            v = f"%{kind}{counter[0]}"
            out.append(f"    {v} = irdl.any_of({', '.join(names)})")
            return v

        def constraint(kind: str, counter: list[int] = counter) -> str:
            if _TYPE_KINDS[kind]:
                return fresh("t", _TYPE_KINDS[kind])
            counter[0] += 1
            out.append(f"    %t{counter[0]} = irdl.any")
            return f"%t{counter[0]}"

        many = "variadic " if d.variadic else ""
        if d.operands:
            vals = [f"{n}: {many}{constraint(k)}" for n, k in d.operands]
            out.append(f"    irdl.operands({', '.join(vals)})")
        if d.results:
            vals = [f"{n}: {many}{constraint(k)}" for n, k in d.results]
            out.append(f"    irdl.results({', '.join(vals)})")
        if d.attrs:
            vals = [f'"{n}" = {fresh("a", (_ATTR_KINDS[k][0],))}' for n, k in d.attrs.items()]
            out.append(f"    irdl.attributes {{{', '.join(vals)}}}")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Python verifier
def _fail(msg: str, op: Any, loc: str) -> CompileError:
    return CompileError(f"invalid accel IR: {msg}", op=op, location=loc)


def verify_structure(name: str, attrs: dict[str, Any], n_operands: int, n_results: int, loc: str) -> None:
    """Operand/result counts and attribute presence/kinds of one accel op."""
    d = OPS.get(name)
    if d is None:
        known = ", ".join(sorted(OPS))
        raise _fail(f"unknown op '{name}' (the accel dialect has {known})", name, loc)
    if d.variadic:
        pass  # any number of operands and results (host steps)
    elif n_operands != len(d.operands):
        raise _fail(f"'{name}' takes {len(d.operands)} operand(s), got {n_operands}", name, loc)
    elif n_results != len(d.results):
        raise _fail(f"'{name}' has {len(d.results)} result(s), got {n_results}", name, loc)
    for aname, kind in list(d.attrs.items()) + list(d.optional_attrs.items()):
        if aname not in attrs:
            if aname in d.attrs:
                raise _fail(f"'{name}' needs attribute '{aname}' ({kind})", name, loc)
            continue
        value = attrs[aname]
        ok = isinstance(value, _ATTR_KINDS[kind][1])
        if kind == "int" and isinstance(value, bool):
            ok = True  # i1 integer attributes are integers too
        if not ok:
            raise _fail(f"'{name}' attribute '{aname}' must be {kind}, got {value!r}", name, loc)


@dataclass
class ProgramOps:
    """A verified accel op sequence, decoded into the driver-program streams."""

    init: dict[str, Any]
    words: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # (opcode, fields) in order
    mm2s: list[list[Any]] = field(default_factory=list)
    s2mm: list[list[Any]] = field(default_factory=list)
    buffers: dict[str, int] = field(default_factory=dict)


def verify_sequence(
    ops: list[tuple[str, dict[str, Any], list[str], str]], spec: Any, buffers: dict[str, int]
) -> ProgramOps:
    """Check one function's accel ops (name, attrs, operand buffer names, location) against the spec.

    ``buffers`` maps buffer names (a, b, c, cmd, stage_*) to their sizes in bytes. Returns the
    decoded instruction/transfer streams (what the driver program must contain). The packet
    protocol is the driver programs' own (``accel.contract.walker.Sequencer``, fed one event per
    op); its ProgramError becomes a CompileError at the op that broke it."""
    check = _SequenceCheck(spec, buffers)
    for name, attrs, bufs, loc in ops:
        try:
            check.op(name, attrs, bufs, loc)
        except ProgramError as exc:
            raise _fail(str(exc), name, loc) from None
    return check.finish()


class _SequenceCheck:
    """The state of :func:`verify_sequence` over one function's ops, in stream order."""

    def __init__(self, spec: Any, buffers: dict[str, int]) -> None:
        self.spec = spec
        self.buffers = buffers
        self.prog: ProgramOps | None = None
        self.seq = Sequencer(spec)

    def op(self, name: str, attrs: dict[str, Any], bufs: list[str], loc: str) -> None:
        if name == "accel.init_dma":
            if self.prog is not None:
                raise _fail("a function holds more than one accel.init_dma", name, loc)
            if attrs["spec_hash"] != self.spec.hash:
                raise _fail(
                    f"lowered for spec {attrs['spec']!r} (hash {attrs['spec_hash'][:12]}) but verified against "
                    f"{self.spec.name!r} (hash {self.spec.hash[:12]})", name, loc)
            self.prog = ProgramOps(init=attrs, buffers=dict(self.buffers))
            return
        if name in ("accel.buffer", "accel.alloc", "accel.scratch", "accel.result"):
            return
        if self.prog is None:
            raise _fail(f"'{name}' before accel.init_dma", name, loc)
        if name in INSTRUCTION_OPS:
            self._instruction(self.prog, INSTRUCTION_OPS[name], attrs, name, loc)
        elif name in ("accel.send_literal", "accel.send", "accel.recv"):
            self._transfer(self.prog, name, attrs, bufs[0], loc)
        elif name == "accel.wait":
            try:
                self.seq.finish()
            except ProgramError as exc:
                raise _fail(f"accel.wait before every announced instruction and receive: {exc}", name, loc) from None
        else:
            raise _fail(f"unexpected op '{name}'", name, loc)

    def _instruction(self, prog: ProgramOps, opcode: str, attrs: dict[str, Any], name: str, loc: str) -> None:
        fields = {f: int(attrs[f]) for f in INSTR_FIELDS[opcode]}
        self.seq.issue(opcode, fields, where=loc)
        _check_fields(opcode, fields, self.spec, name, loc)
        try:
            self.spec.encode(opcode, **fields)
        except Exception as exc:  # SpecError: a field overflows its width
            raise _fail(str(exc), name, loc) from None
        prog.words.append((opcode, fields))

    def _transfer(self, prog: ProgramOps, name: str, attrs: dict[str, Any], buf: str, loc: str) -> None:
        buffers, spec = self.buffers, self.spec
        if buf not in buffers:
            raise _fail(f"'{name}' moves an unknown buffer", name, loc)
        want = {"accel.send_literal": ("cmd",), "accel.send": ("a", "b", "stage_a", "stage_b"),
                "accel.recv": ("c", "stage_c")}[name]
        if buf not in want:
            raise _fail(f"'{name}' cannot move buffer {buf!r} (expected one of {', '.join(want)})", name, loc)
        if attrs["offset"] < 0 or attrs["bytes"] < 1 or attrs["offset"] + attrs["bytes"] > buffers[buf]:
            raise _fail(f"transfer [{attrs['offset']}, {attrs['offset'] + attrs['bytes']}) is outside buffer "
                        f"{buf!r} ({buffers[buf]} bytes)", name, loc)
        if attrs["bytes"] > spec.dma_max_bytes:
            raise _fail(f"transfer of {attrs['bytes']} bytes exceeds the DMA LENGTH register "
                        f"({spec.dma_max_bytes} bytes)", name, loc)
        if name == "accel.send_literal":
            self.seq.command(attrs["offset"], attrs["bytes"], attrs["count"])
            prog.mm2s.append([buf, attrs["offset"], attrs["bytes"], None])
        elif name == "accel.send":
            self.seq.data(buf, attrs["bytes"])
            prog.mm2s.append([buf, attrs["offset"], attrs["bytes"], attrs.get("pack")])
        else:
            self.seq.receive(attrs["bytes"])
            prog.s2mm.append([buf, attrs["offset"], attrs["bytes"], attrs.get("unpack")])

    def finish(self) -> ProgramOps:
        if self.prog is None:
            raise CompileError("invalid accel IR: no accel.init_dma")
        try:
            self.seq.finish()
        except ProgramError as exc:
            raise CompileError(
                f"invalid accel IR: the program ends with announced instructions or drains outstanding: {exc}"
            ) from None
        return self.prog


def _check_fields(opcode: str, f: dict[str, int], spec: Any, name: str, loc: str) -> None:
    """The ISA constraints of ARCHITECTURE.md (what the RTL would flag as BAD_FIELD / UNALIGNED)."""
    L = spec.lanes
    problems = []
    if "rows" in f and not 1 <= f["rows"] <= spec.rows:
        problems.append(f"rows={f['rows']} must be 1..{spec.rows}")
    if f["win_cnt"] < 1:
        problems.append("win_cnt must be >= 1")
    if "win_lo" in f:
        if f["win_lo"] % L:
            problems.append(f"win_lo={f['win_lo']} must be a multiple of {L} lanes")
        if f["win_lo"] + f["win_cnt"] > f["row_len"]:
            problems.append(f"window [{f['win_lo']}, {f['win_lo'] + f['win_cnt']}) exceeds row_len={f['row_len']}")
    limit = spec.kmax if opcode == "LOAD_A" else spec.nmax
    if f["win_cnt"] > limit:
        problems.append(f"win_cnt={f['win_cnt']} exceeds {'KMAX' if opcode == 'LOAD_A' else 'NMAX'}={limit}")
    for bank in ("abuf", "acc"):
        if bank in f and f[bank] not in (0, 1):
            problems.append(f"{bank}={f[bank]} must be 0 or 1")
    if problems:
        raise _fail(f"{opcode}: " + "; ".join(problems), name, loc)

