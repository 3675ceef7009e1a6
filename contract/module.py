"""``CompiledModule``: the compiler's output for a whole MLIR module, one driver program per
function plus how each function's arguments and results map onto the program's operands.

File format (JSON, ``CompiledModule.save``/``load``)::

    {"format": "pynq-accel/compiled-module", "version": 1,
     "spec": {"name": ..., "hash": ...}, "source": "model.mlir",
     "functions": {
       "<func name>": {
         "program": { <driver program, runtime/program.py> },
         "signature": {"args": [{"kind": "tensor"|"memref", "shape": [..], "dtype": "int8"}, ...],
                       "results": [{"kind": "tensor", "shape": [M, N], "dtype": "int32", "operand": "c"}]},
         "bindings": {"a": {"arg": 0} | {"const": {"shape", "dtype", "data": <base64>}},
                      "b": ...,
                      "c": {"arg": 2} | {"arg": 2, "fill": v} | {"alloc": true, "fill": v}},
         "location": "model.mlir:5:10", "remarks": [...]}}}

Constant weights (``arith.constant dense<...>``, e.g. ONNX initializers) are carried here,
in the compiled module, not in the driver program: a driver program always takes A, B and C
as operands, and :meth:`CompiledModule.operands` supplies the constants when the function is
called with its remaining arguments. ``c.fill`` is the value C starts from (``linalg.fill``
with a non-zero value: the program accumulates onto it).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract.program import FORMAT as PROGRAM_FORMAT
from accel.contract.program import DriverProgram, parse_json
from accel.errors import InputError, ProgramError

FORMAT = "pynq-accel/compiled-module"
VERSION = 1
DTYPES = {"i8": "int8", "si8": "int8", "i32": "int32", "si32": "int32"}


def encode_array(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": base64.b64encode(a.tobytes()).decode()}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(d["data"])
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


@dataclass
class CompiledFunction:
    """One function: its driver program and its argument/result bindings."""

    name: str
    program: DriverProgram
    signature: dict[str, Any]
    bindings: dict[str, dict[str, Any]]
    location: str = ""
    remarks: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ calling convention
    @property
    def arg_count(self) -> int:
        return len(self.signature.get("args", []))

    def constants(self) -> dict[str, np.ndarray]:
        return {k: decode_array(v["const"]) for k, v in self.bindings.items() if "const" in v}

    def operands(self, *args: Any) -> dict[str, np.ndarray]:
        """Map the function's arguments (numpy arrays, in order) to program operands a, b, c.

        Constants fill their operand; C of the tensor form is created (zeros or its fill value);
        a memref C argument is the array the program accumulates into (returned as ``c``)."""
        sig = self.signature.get("args", [])
        if len(args) != len(sig):
            raise InputError(f"function {self.name} takes {len(sig)} argument(s) ({_sig_str(sig)}), got {len(args)}")
        arrays = []
        for i, (a, s) in enumerate(zip(args, sig, strict=True)):
            arr = np.asarray(a)
            if list(arr.shape) != list(s["shape"]):
                raise InputError(f"{self.name} argument {i}: shape {list(arr.shape)} != {s['shape']}")
            if s["dtype"] is not None and arr.dtype != np.dtype(s["dtype"]):
                raise InputError(f"{self.name} argument {i}: dtype {arr.dtype} != {s['dtype']}")
            arrays.append(arr)
        out: dict[str, np.ndarray] = {}
        for name in ("a", "b", "c"):
            bind = self.bindings[name]
            op = self.program.operands[name]
            if "arg" in bind:
                arr = arrays[bind["arg"]]
                if bind.get("fill"):
                    arr = np.full(op["shape"], bind["fill"], dtype=op["dtype"])
                out[name] = arr
            elif "const" in bind:
                out[name] = decode_array(bind["const"])
            else:
                out[name] = np.full(op["shape"], bind.get("fill", 0), dtype=op["dtype"])
        return out

    def random_args(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Random arguments of the right shapes/dtypes (int8 full range, int32 C in +-2**20)."""
        out = []
        for s in self.signature.get("args", []):
            dt = np.dtype(s["dtype"] or "int8")
            if dt == np.int8:
                out.append(rng.integers(-128, 128, size=s["shape"], dtype=np.int8))
            else:
                out.append(rng.integers(-(2**20), 2**20, size=s["shape"]).astype(dt))
        return out

    def reference(self, *args: Any) -> np.ndarray:
        """numpy result of the function (the final C) for the given arguments."""
        ops = self.operands(*args)
        c0 = ops["c"].astype(np.int64) if self.program.c_init == "accumulate" else 0
        out = ops["a"].astype(np.int64) @ ops["b"].astype(np.int64) + c0
        return out.astype(np.int32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "program": self.program.to_dict(),
            "signature": self.signature,
            "bindings": self.bindings,
            "location": self.location,
            "remarks": list(self.remarks),
        }

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> CompiledFunction:
        try:
            return cls(name=name, program=DriverProgram.from_dict(d["program"]), signature=d["signature"],
                       bindings=d["bindings"], location=d.get("location", ""), remarks=list(d.get("remarks", [])))
        except (KeyError, TypeError) as exc:
            raise ProgramError(f"compiled function {name!r} is malformed: missing {exc}") from exc


def _sig_str(sig: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['kind']}<{'x'.join(map(str, s['shape']))}x{s['dtype']}>" for s in sig) or "no arguments"


@dataclass
class CompiledModule:
    """All functions of a module, compiled for one spec."""

    spec_name: str
    spec_hash: str
    functions: dict[str, CompiledFunction] = field(default_factory=dict)
    source: str = ""
    remarks: list[str] = field(default_factory=list)

    @property
    def programs(self) -> dict[str, DriverProgram]:
        return {name: f.program for name, f in self.functions.items()}

    def __getitem__(self, name: str) -> CompiledFunction:
        try:
            return self.functions[name]
        except KeyError:
            known = ", ".join(self.functions) or "none"
            raise InputError(f"no compiled function {name!r} (functions: {known})") from None

    def __iter__(self):
        return iter(self.functions.values())

    def __len__(self) -> int:
        return len(self.functions)

    # ------------------------------------------------------------ running
    def run(self, acc: Any, name: str, *args: Any, **run_kwargs: Any) -> tuple[np.ndarray, Any]:
        """Run function ``name`` on an ``accel.runtime.Accelerator``; returns (C, RunResult)."""
        fn = self[name]
        ops = fn.operands(*args)
        bufs = {}
        for key, arr in ops.items():
            op = fn.program.operands[key]
            buf = acc.allocate(tuple(op["shape"]), np.dtype(op["dtype"]))
            buf[...] = arr
            bufs[key] = buf
        result = acc.run(fn.program, **bufs, **run_kwargs)
        c = np.array(bufs["c"], copy=True)
        for buf in bufs.values():
            if hasattr(buf, "freebuffer"):
                buf.freebuffer()
        return c, result

    # ------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "spec": {"name": self.spec_name, "hash": self.spec_hash},
            "source": self.source,
            "remarks": list(self.remarks),
            "functions": {name: f.to_dict() for name, f in self.functions.items()},
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.to_json(indent=1))
        return p

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CompiledModule:
        if not isinstance(doc, dict):
            raise ProgramError("not a compiled module (expected a JSON object)")
        if doc.get("format") == PROGRAM_FORMAT:  # a bare driver program: wrap it
            prog = DriverProgram.from_dict(doc)
            return cls.from_program(prog)
        if doc.get("format") != FORMAT:
            raise ProgramError(f"not a compiled module (format must be {FORMAT!r} or {PROGRAM_FORMAT!r})")
        if doc.get("version") != VERSION:
            raise ProgramError(f"compiled module version {doc.get('version')} is not supported (this reads {VERSION})")
        try:
            funcs = {name: CompiledFunction.from_dict(name, d) for name, d in doc["functions"].items()}
            return cls(spec_name=doc["spec"]["name"], spec_hash=doc["spec"]["hash"], functions=funcs,
                       source=doc.get("source", ""), remarks=list(doc.get("remarks", [])))
        except (KeyError, TypeError) as exc:
            raise ProgramError(f"compiled module is malformed: missing {exc}") from exc

    @classmethod
    def from_program(cls, prog: DriverProgram) -> CompiledModule:
        """A module holding one bare driver program, called as f(A, B) or f(A, B, C)."""
        ops = prog.operands
        args = [{"kind": "tensor", "shape": ops["a"]["shape"], "dtype": ops["a"]["dtype"]},
                {"kind": "tensor", "shape": ops["b"]["shape"], "dtype": ops["b"]["dtype"]}]
        bindings: dict[str, dict[str, Any]] = {"a": {"arg": 0}, "b": {"arg": 1}, "c": {"alloc": True, "fill": 0}}
        if prog.c_init == "accumulate":
            args.append({"kind": "memref", "shape": ops["c"]["shape"], "dtype": ops["c"]["dtype"]})
            bindings["c"] = {"arg": 2}
        sig = {"args": args, "results": [{"kind": "tensor", "shape": ops["c"]["shape"], "dtype": "int32",
                                          "operand": "c"}]}
        fn = CompiledFunction(prog.name, prog, sig, bindings)
        return cls(spec_name=prog.spec_name, spec_hash=prog.spec_hash, functions={prog.name: fn})

    @classmethod
    def from_json(cls, text: str) -> CompiledModule:
        return cls.from_dict(parse_json(text, "compiled module"))

    @classmethod
    def load(cls, path: str | Path) -> CompiledModule:
        p = Path(path)
        if not p.is_file():
            raise ProgramError(f"no such compiled module / driver program: {p}")
        return cls.from_json(p.read_text())
