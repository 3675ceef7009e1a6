"""The driver-program schema and its data-flow rules, checked before any byte moves.

A program comes from a file the user may have edited, from another version of the compiler, or
from a bug; the runtime must refuse a bad one with an error that names the field, never crash in
numpy/base64 halfway through a run or leave the device (or its cached command words) in a state
that breaks the next run. Two layers:

- :func:`check_document`: every field has the type and range the format says (the JSON document
  as loaded, before it becomes a :class:`~accel.contract.program.DriverProgram`);
- :func:`check_dataflow`: what the transfers do to the buffers — results land only in outputs,
  no two results land on the same bytes, every output byte is written, data packets read only
  inputs or the program's own scratch, pack/unpack blocks stay inside their operands.

The protocol of the instruction stream (command segments, one data packet per instruction, one
result packet per DRAIN, their sizes) needs the spec and is the walker's job
(:mod:`accel.contract.walker`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from accel.errors import ProgramError

#: element types an operand may have (the accelerator's int8 inputs and int32 results, and
#: the integer types the host steps and epilogues use)
DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32")
ROLES = ("in", "out", "inout")
C_INIT = ("zero", "accumulate")
CMD_BUFFER = "cmd"
_HEX = re.compile(r"^[0-9a-f]{64}$")


def _fail(path: str, msg: str) -> ProgramError:
    return ProgramError(f"driver program field {path}: {msg}")


def _int(value: Any, path: str, *, lo: int = 0) -> int:
    # bool is an int subclass in Python: refuse it, a JSON `true` is no offset
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be an integer, not {type(value).__name__} {value!r}")
    if value < lo:
        raise _fail(path, f"must be >= {lo}, got {value}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, f"must be a non-empty string, not {value!r}")
    return value


def _dict(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be an object, not {type(value).__name__}")
    return value


def _block(value: Any, path: str, buffer_key: str, extra: tuple[str, ...] = ()) -> None:
    block = _dict(value, path)
    allowed = {buffer_key, "row0", "col0", "rows", "cols", *extra}
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown}; a block has {sorted(allowed)}")
    _str(block.get(buffer_key), f"{path}.{buffer_key}")
    for key in ("row0", "col0"):
        _int(block.get(key), f"{path}.{key}")
    for key in ("rows", "cols"):
        _int(block.get(key), f"{path}.{key}", lo=1)
    if "add" in block and not isinstance(block["add"], bool):
        raise _fail(f"{path}.add", f"must be true or false, not {block['add']!r}")


def check_document(doc: Mapping[str, Any]) -> None:
    """Type and range of every field of a driver-program document (see program.py's format)."""
    spec = _dict(doc.get("spec"), "spec")
    _str(spec.get("name"), "spec.name")
    if not isinstance(spec.get("hash"), str) or not _HEX.match(spec["hash"]):
        raise _fail("spec.hash", "must be the spec's sha256 as 64 lowercase hex digits")
    _str(doc.get("name"), "name")
    if doc.get("c_init") not in C_INIT:
        raise _fail("c_init", f"must be one of {list(C_INIT)}, not {doc.get('c_init')!r}")
    operands = _dict(doc.get("operands"), "operands")
    if not operands:
        raise _fail("operands", "a program needs at least one operand")
    for name, op in operands.items():
        path = f"operands.{name}"
        op = _dict(op, path)
        shape = op.get("shape")
        if not isinstance(shape, list):
            raise _fail(f"{path}.shape", f"must be a list of dimensions, not {shape!r}")
        for i, d in enumerate(shape):
            _int(d, f"{path}.shape[{i}]", lo=1)
        if op.get("dtype") not in DTYPES:
            raise _fail(f"{path}.dtype", f"must be one of {list(DTYPES)}, not {op.get('dtype')!r}")
        if op.get("role", "in") not in ROLES:
            raise _fail(f"{path}.role", f"must be one of {list(ROLES)}, not {op.get('role')!r}")
    scratch = _dict(doc.get("scratch"), "scratch")
    if CMD_BUFFER not in scratch:
        raise _fail("scratch", f"has no {CMD_BUFFER!r} buffer (the instruction words)")
    for name, s in scratch.items():
        path = f"scratch.{name}"
        if name in operands:
            raise _fail(path, f"has the name of operand {name!r}; scratch and operand names must differ")
        s = _dict(s, path)
        _int(s.get("bytes"), f"{path}.bytes")
        if "init" in s:
            init = s["init"]
            if not isinstance(init, str):
                raise _fail(f"{path}.init", f"must be a base64 string, not {type(init).__name__}")
            try:
                raw = base64.b64decode(init, validate=True)
            except (binascii.Error, ValueError):
                raise _fail(f"{path}.init", "is not valid base64") from None
            if len(raw) != s["bytes"]:
                raise _fail(f"{path}.init", f"decodes to {len(raw)} bytes but {path}.bytes is {s['bytes']}")
    for chan, what in (("mm2s", "pack"), ("s2mm", "unpack")):
        entries = doc.get(chan)
        if not isinstance(entries, list):
            raise _fail(chan, f"must be a list of [buffer, offset, nbytes, {what}|null], not {entries!r}")
        for i, entry in enumerate(entries):
            path = f"{chan}[{i}]"
            if not isinstance(entry, list) or len(entry) != 4:
                raise _fail(path, f"must be [buffer, offset, nbytes, {what}|null], not {entry!r}")
            _str(entry[0], f"{path}[0] (buffer)")
            _int(entry[1], f"{path}[1] (offset)")
            _int(entry[2], f"{path}[2] (nbytes)", lo=1)
            if entry[3] is not None:
                _block(entry[3], f"{path}[3] ({what})", "src" if chan == "mm2s" else "dst",
                       () if chan == "mm2s" else ("add",))
    for key in ("schedule", "predicted", "stats"):
        if key in doc:
            _dict(doc[key], key)


def _nbytes(op: Mapping[str, Any]) -> int:
    return int(np.prod(op["shape"], dtype=np.int64)) * np.dtype(op["dtype"]).itemsize


def buffer_sizes(operands: Mapping[str, Any], scratch: Mapping[str, Any]) -> dict[str, int]:
    """Bytes of every buffer a transfer may name (operands and scratch)."""
    sizes = {name: _nbytes(op) for name, op in operands.items()}
    sizes.update({name: int(s["bytes"]) for name, s in scratch.items()})
    return sizes


def _check_block(block: Mapping[str, Any], key: str, operands: Mapping[str, Any], nbytes: int, path: str,
                 roles: tuple[str, ...]) -> tuple[str, int, int, int, int]:
    name = block[key]
    op = operands.get(name)
    if op is None:
        raise _fail(f"{path}.{key}", f"names {name!r}, which is not an operand ({sorted(operands)})")
    if op.get("role", "in") not in roles:
        raise _fail(f"{path}.{key}", f"operand {name!r} has role {op.get('role', 'in')!r}; it must be one of {roles}")
    shape = op["shape"]
    if len(shape) != 2:
        raise _fail(f"{path}.{key}", f"operand {name!r} must be 2-D for a block copy, it has shape {shape}")
    r0, c0, rows, cols = block["row0"], block["col0"], block["rows"], block["cols"]
    if r0 + rows > shape[0] or c0 + cols > shape[1]:
        raise _fail(path, f"block rows [{r0}, {r0 + rows}) x cols [{c0}, {c0 + cols}) is outside {name!r} {shape}")
    want = rows * cols * np.dtype(op["dtype"]).itemsize
    if want != nbytes:
        raise _fail(path, f"block of {rows}x{cols} {op['dtype']} is {want} bytes but the transfer moves {nbytes}")
    return name, r0, c0, rows, cols


def check_dataflow(operands: Mapping[str, Any], scratch: Mapping[str, Any], mm2s: list[list[Any]],
                   s2mm: list[list[Any]]) -> None:
    """What the transfers do to the buffers (see the module docstring)."""
    sizes = buffer_sizes(operands, scratch)
    role = {name: op.get("role", "in") for name, op in operands.items()}
    for chan, entries in (("mm2s", mm2s), ("s2mm", s2mm)):
        for i, (buf, off, nbytes, _) in enumerate(entries):
            if buf not in sizes:
                raise _fail(f"{chan}[{i}][0]", f"names unknown buffer {buf!r}; known: {sorted(sizes)}")
            if off + nbytes > sizes[buf]:
                raise _fail(f"{chan}[{i}]", f"[{off}, {off + nbytes}) is outside buffer {buf!r} ({sizes[buf]} bytes)")
    # MM2S reads inputs and scratch, never an output the run has yet to produce
    for i, (buf, _off, nbytes, pack) in enumerate(mm2s):
        if role.get(buf) == "out":
            raise _fail(f"mm2s[{i}][0]", f"reads output operand {buf!r}; data packets read inputs or scratch only")
        if pack is not None:
            if buf in operands:
                raise _fail(f"mm2s[{i}][3] (pack)", f"packs into operand {buf!r}; a pack writes a scratch buffer")
            _check_block(pack, "src", operands, nbytes, f"mm2s[{i}][3] (pack)", ("in", "inout"))
    # S2MM writes outputs and scratch staging, never an input, the command words or a byte twice
    mm2s_scratch = {e[0] for e in mm2s if e[0] not in operands}
    written: dict[str, list[tuple[int, int, int]]] = {}
    cover: dict[str, np.ndarray] = {}
    for i, (buf, off, nbytes, unpack) in enumerate(s2mm):
        path = f"s2mm[{i}]"
        if buf == CMD_BUFFER:
            raise _fail(f"{path}[0]", "writes into the command buffer; results may land in outputs or staging only")
        if buf in operands and role[buf] == "in":
            raise _fail(f"{path}[0]", f"writes into input operand {buf!r}; results may land in outputs only")
        if buf in mm2s_scratch:
            raise _fail(f"{path}[0]", f"writes into scratch {buf!r}, which MM2S also reads from")
        if buf in operands and unpack is not None:
            raise _fail(f"{path}[3] (unpack)", f"unpacks from operand {buf!r}; an unpack reads a scratch buffer")
        if buf in operands:
            for j, o0, o1 in written.get(buf, []):
                if off < o1 and o0 < off + nbytes:
                    raise _fail(path, f"writes bytes [{off}, {off + nbytes}) of {buf!r} that s2mm[{j}] already "
                                      "writes (a result drained twice)")
            written.setdefault(buf, []).append((i, off, off + nbytes))
            flat = cover.setdefault(buf, np.zeros(sizes[buf], dtype=bool))
            flat[off : off + nbytes] = True
        if unpack is not None:
            name, r0, c0, rows, cols = _check_block(unpack, "dst", operands, nbytes, f"{path}[3] (unpack)",
                                                    ("out", "inout"))
            shape = operands[name]["shape"]
            grid = cover.setdefault(name, np.zeros(sizes[name], dtype=bool))
            item = np.dtype(operands[name]["dtype"]).itemsize
            grid.reshape(shape[0], shape[1] * item)[r0 : r0 + rows, c0 * item : (c0 + cols) * item] = True
    for name, r in role.items():
        if r != "out":
            continue  # inout operands start from their own values: a partial write is meaningful
        done = cover.get(name)
        missing = sizes[name] if done is None else int(np.count_nonzero(~done))
        if missing:
            raise _fail(f"operands.{name}", f"{missing} of its {sizes[name]} bytes are never written by s2mm; "
                                            "every byte of an output must be produced by the program")


EPILOGUE_OUT = ("int8", "uint8")


def check_epilogue(operands: Mapping[str, Any], epilogue: Mapping[str, Any], mm2s: list[list[Any]]) -> None:
    """The epilogue section (format version 2): its params operand, output dtype and windows.

    The packets' sizes need the spec's ``[epilogue]`` layout and are the walker's to check
    (a LOAD_EPI consumes exactly ``packet_bytes(win_cnt)``)."""
    if not epilogue:
        return
    ep = _dict(epilogue, "epilogue")
    unknown = sorted(set(ep) - {"params", "out_dtype", "windows"})
    if unknown:
        raise _fail("epilogue", f"unknown key(s) {unknown}; it has params, out_dtype, windows")
    name = _str(ep.get("params"), "epilogue.params")
    op = operands.get(name)
    if op is None or op.get("role", "in") != "in" or op.get("dtype") != "uint8" or len(op["shape"]) != 1:
        raise _fail("epilogue.params", f"must name a 1-D uint8 input operand (the LOAD_EPI packets), not {name!r}")
    if ep.get("out_dtype") not in EPILOGUE_OUT:
        raise _fail("epilogue.out_dtype", f"must be one of {list(EPILOGUE_OUT)}, not {ep.get('out_dtype')!r}")
    outs = [n for n, o in operands.items() if o.get("role", "in") != "in"]
    wrong = [n for n in outs if operands[n]["dtype"] != ep["out_dtype"]]
    if not outs or wrong:
        raise _fail("epilogue.out_dtype", f"is {ep['out_dtype']} but output operand(s) {wrong or outs} "
                                          "are not (the epilogue writes every output)")
    windows = ep.get("windows")
    if not isinstance(windows, list) or not windows:
        raise _fail("epilogue.windows", "must be a non-empty list of [col0, cols, offset]")
    size = int(op["shape"][0])
    starts = set()
    for i, w in enumerate(windows):
        path = f"epilogue.windows[{i}]"
        if not isinstance(w, list) or len(w) != 3:
            raise _fail(path, f"must be [col0, cols, offset], not {w!r}")
        _int(w[0], f"{path}[0] (col0)")
        _int(w[1], f"{path}[1] (cols)", lo=1)
        _int(w[2], f"{path}[2] (offset)")
        if w[2] >= size:
            raise _fail(path, f"offset {w[2]} is outside the params operand {name!r} ({size} bytes)")
        starts.add(w[2])
    for i, (buf, off, _nbytes, _pack) in enumerate(mm2s):
        if buf == name and off not in starts:
            raise _fail(f"mm2s[{i}]", f"reads the params operand {name!r} at offset {off}, where no window's "
                                      "packet starts")
