"""Model programs: one compiled ONNX model = accelerator steps + CPU host steps over one CMA arena.

The compiler (``accel-onnx-partition`` + ``accel-model-emit``) writes this file; the runtime
(:mod:`accel.runtime.model`) loads it once, allocates ONE CMA arena, loads the weights into it
once, then runs the steps in order for every inference. JSON document, format
``pynq-accel/model-program`` version 1::

    {"format": "pynq-accel/model-program", "version": 1,
     "spec": {"name": "z2_default", "hash": "<sha256>"},
     "source": "mlp.onnx",
     "inputs":  [{"name": "x", "tensor": 0, "shape": [1, 8], "dtype": "float32"}, ...],
     "outputs": [{"name": "y", "tensor": 9, "shape": [1, 4], "dtype": "float32"}, ...],
     "tensors": [{"id": 0, "shape": [1, 8], "dtype": "float32", "kind": "input",
                  "offset": 4096, "bytes": 32}, ...],          # kind: input|weight|intermediate|output
     "arena": {"bytes": 12288, "weight_bytes": 4096, "align": 64},
     "weights": {"<tensor id>": "<base64 of the tensor's bytes, C order>", ...},
     "steps": [
        {"kind": "host", "node": "fc1_quant", "op": "QuantizeLinear",
         "inputs": [0, 3, null], "outputs": [5], "attrs": {"axis": 1}},
        {"kind": "accel", "node": "fc1", "op": "QLinearMatMul",
         "program": {<driver program, accel.contract.program>},
         "bind": {"a": 5, "b": 2, "c": 6}, "macs": 128},
        ...],
     "placement": [{"node": "fc1", "op": "QLinearMatMul", "where": "accelerator"|"cpu"|"folded",
                    "macs": 128, "steps": 4, "predicted_cycles": 310}, ...],
     "summary": {"macs": ..., "accel_macs": ..., "accel_share": 0.97, "cma_bytes": ...,
                 "predicted_cycles": ..., "host_steps": ..., "accel_steps": ...}}

Tensor ``offset``/``bytes`` place every tensor in the arena: weights first (their own region,
loaded once), then inputs, intermediates and outputs planned by liveness (a tensor's bytes are
reused once its last reader has run). A tensor with ``"view_of": id`` shares the bytes of
another tensor (Reshape/Flatten/Squeeze/Identity folded at compile time), starting
``"view_offset"`` bytes into it (a batch element's slice). An accelerator step's
``bind`` maps the driver program's operands ``a``/``b``/``c`` (and ``epi``, the LOAD_EPI
packets of a fused-epilogue program — driver program version 2 — a weight tensor built at
compile time; the step's ``"epilogue": {bias, scale, zero_point, lo, hi, b_zero_point, a_dtype,
out_dtype}`` records what they encode, for the CPU reference) to arena tensors: the DMA reads
and writes the arena in place, so consecutive accelerator steps never copy on the CPU. A host
step runs ``accel.runtime.hostops.run(op, inputs, attrs, outputs)`` on arena views (``null`` =
an omitted optional ONNX input).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accel.contract.program import DriverProgram, parse_json
from accel.errors import ProgramError

FORMAT = "pynq-accel/model-program"
VERSION = 1
ALIGN = 64  # arena alignment: a multiple of every stream width in the specs (DMA beat alignment)
KINDS = ("input", "weight", "intermediate", "output")
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64", "bool")


def mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


@dataclass
class ModelProgram:
    """A parsed model program (see the module docstring for the JSON format)."""

    spec_name: str
    spec_hash: str
    source: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    tensors: list[dict[str, Any]]
    arena: dict[str, int]
    weights: dict[str, str]
    steps: list[dict[str, Any]]
    placement: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    programs: dict[int, DriverProgram] = field(default_factory=dict, repr=False)  # step index -> parsed

    # ---------------------------------------------------------------- access
    @property
    def cma_bytes(self) -> int:
        return int(self.arena["bytes"])

    def tensor(self, tid: int) -> dict[str, Any]:
        return self.tensors[tid]

    def weight(self, tid: int) -> np.ndarray:
        t = self.tensors[tid]
        raw = base64.b64decode(self.weights[str(tid)])
        return np.frombuffer(raw, dtype=np.dtype(t["dtype"])).reshape(t["shape"])

    def random_inputs(self, seed: int) -> dict[str, np.ndarray]:
        """Reproducible inputs for every model input, for trying a model without data (the
        CLI's ``run`` and ``bench-models``): floats standard normal; integers uniform over the
        dtype's range clipped to [-128, 255] (an int8 or uint8 activation's whole domain,
        including the zero-point extremes a quantized input can hold); booleans 0/1."""
        rng = np.random.default_rng(seed)
        out: dict[str, np.ndarray] = {}
        for e in self.inputs:
            dt = np.dtype(e["dtype"])
            if dt.kind == "f":
                out[e["name"]] = rng.standard_normal(e["shape"]).astype(dt)
            elif dt.kind in "iu":
                info = np.iinfo(dt)
                out[e["name"]] = rng.integers(max(info.min, -128), min(info.max, 255) + 1,
                                              size=e["shape"]).astype(dt)
            else:
                out[e["name"]] = rng.integers(0, 2, size=e["shape"]).astype(dt)
        return out

    def program(self, index: int) -> DriverProgram:
        """The parsed driver program of accelerator step ``index``."""
        prog = self.programs.get(index)
        if prog is None:
            prog = DriverProgram.from_dict(self.steps[index]["program"])
            self.programs[index] = prog
        return prog

    # ---------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION,
            "spec": {"name": self.spec_name, "hash": self.spec_hash},
            "source": self.source, "inputs": self.inputs, "outputs": self.outputs,
            "tensors": self.tensors, "arena": self.arena, "weights": self.weights,
            "steps": self.steps, "placement": self.placement, "summary": self.summary,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.to_json())
        return p

    @classmethod
    def from_dict(cls, doc: Any) -> ModelProgram:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ProgramError(f"not a model program (format must be {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise ProgramError(f"model program format version {doc.get('version')} is not supported by this runtime "
                               f"(it reads version {VERSION}); recompile the model with this pynq-accel")
        for key, typ in (("spec", dict), ("inputs", list), ("outputs", list), ("tensors", list), ("arena", dict),
                         ("weights", dict), ("steps", list)):
            if not isinstance(doc.get(key), typ):
                raise ProgramError(f"model program: field {key!r} is missing or not a {typ.__name__}")
        mp = cls(spec_name=str(doc["spec"].get("name")), spec_hash=str(doc["spec"].get("hash")),
                 source=str(doc.get("source", "")), inputs=doc["inputs"], outputs=doc["outputs"],
                 tensors=doc["tensors"], arena=doc["arena"], weights=doc["weights"], steps=doc["steps"],
                 placement=doc.get("placement", []), summary=doc.get("summary", {}))
        mp.validate()
        return mp

    @classmethod
    def from_json(cls, text: str) -> ModelProgram:
        return cls.from_dict(parse_json(text, "model program"))

    @classmethod
    def load(cls, path: str | Path) -> ModelProgram:
        p = Path(path)
        if not p.is_file():
            raise ProgramError(f"no model program file {p}")
        return cls.from_json(p.read_text())

    # ---------------------------------------------------------------- validation
    def validate(self) -> None:
        """Every tensor inside the arena, every step's tensor ids defined, weights complete, and
        every accelerator step's driver program valid with operands matching its bound tensors."""
        total = self.arena.get("bytes")
        if not isinstance(total, int) or total < 0:
            raise ProgramError("model program: arena.bytes must be a non-negative integer")
        n = len(self.tensors)
        for i, t in enumerate(self.tensors):
            if not isinstance(t, dict) or t.get("id") != i:
                raise ProgramError(f"model program: tensor {i} is malformed or out of order (id must equal its index)")
            if t.get("dtype") not in DTYPES or t.get("kind") not in KINDS:
                raise ProgramError(f"model program: tensor {i} has dtype {t.get('dtype')!r} / kind {t.get('kind')!r}; "
                                   f"dtypes: {', '.join(DTYPES)}; kinds: {', '.join(KINDS)}")
            shape = t.get("shape")
            if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
                raise ProgramError(f"model program: tensor {i} shape {shape!r} is not a list of sizes")
            need = int(np.prod(shape, dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
            off, nb = t.get("offset"), t.get("bytes")
            if not isinstance(off, int) or not isinstance(nb, int) or nb < need or off < 0 or off + nb > total:
                raise ProgramError(f"model program: tensor {i} ({shape} {t['dtype']}) at offset {off} with {nb} bytes "
                                   f"does not fit the {total}-byte arena")
            view = t.get("view_of")
            if view is not None and not (isinstance(view, int) and 0 <= view < n):
                raise ProgramError(f"model program: tensor {i} is a view of unknown tensor {view!r}")
            if t["kind"] == "weight" and view is None and str(i) not in self.weights:
                raise ProgramError(f"model program: weight tensor {i} has no data in 'weights'")
        for role, entries in (("input", self.inputs), ("output", self.outputs)):
            for e in entries:
                tid = e.get("tensor") if isinstance(e, dict) else None
                if not isinstance(tid, int) or not 0 <= tid < n or not isinstance(e.get("name"), str):
                    raise ProgramError(f"model program: graph {role} entry {e!r} needs a name and a tensor id")

        def check_id(tid: Any, where: str) -> None:
            if not (isinstance(tid, int) and 0 <= tid < n):
                raise ProgramError(f"model program: {where} refers to tensor {tid!r}, which does not exist")

        for i, s in enumerate(self.steps):
            where = f"step {i} ({s.get('node')!r}, {s.get('op')})" if isinstance(s, dict) else f"step {i}"
            if not isinstance(s, dict) or s.get("kind") not in ("host", "accel"):
                raise ProgramError(f"model program: {where} must have kind 'host' or 'accel'")
            if s["kind"] == "host":
                if not isinstance(s.get("op"), str) or not isinstance(s.get("attrs", {}), dict):
                    raise ProgramError(f"model program: {where} needs an op name and an attrs object")
                for tid in s.get("inputs", []):
                    if tid is not None:
                        check_id(tid, where)
                for tid in s.get("outputs", []):
                    check_id(tid, where)
                continue
            bind = s.get("bind")
            if not isinstance(bind, dict) or not {"a", "b", "c"} <= set(bind):
                raise ProgramError(f"model program: {where} must bind operands a, b and c to tensors")
            try:
                prog = self.program(i)
            except ProgramError as exc:
                raise ProgramError(f"model program: {where}: {exc}") from None
            if set(bind) != set(prog.operands):
                raise ProgramError(f"model program: {where} binds {sorted(bind)}; its driver program takes "
                                   f"{sorted(prog.operands)}")
            if prog.epilogue and not isinstance(s.get("epilogue"), dict):
                raise ProgramError(f"model program: {where} runs a fused-epilogue program but has no 'epilogue' "
                                   "entry (its bias, scales, zero points and clamp)")
            if prog.spec_hash != self.spec_hash:
                raise ProgramError(f"model program: {where} was lowered for another spec ({prog.spec_name})")
            for name, tid in bind.items():
                check_id(tid, where)
                op, t = prog.operands[name], self.tensors[tid]
                need = int(np.prod(op["shape"])) * np.dtype(op["dtype"]).itemsize
                have = int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
                if need != have or op["dtype"] != t["dtype"]:
                    raise ProgramError(f"model program: {where} binds {name} ({op['shape']} {op['dtype']}) to tensor "
                                       f"{tid} ({t['shape']} {t['dtype']})")

    def check_spec(self, spec: Any) -> None:
        if self.spec_hash != spec.hash:
            raise ProgramError(f"model program was compiled for spec {self.spec_name!r} (hash {self.spec_hash[:12]}) "
                               f"but the overlay is {spec.name!r} (hash {spec.hash[:12]}); recompile it with "
                               f"--spec {spec.name}")

    # ---------------------------------------------------------------- report
    def report(self) -> str:
        """The placement report: one line per ONNX node, then the totals."""
        rows = [("node", "op", "where", "MACs", "steps", "cycles")]
        for p in self.placement:
            rows.append((p["node"], p["op"], p["where"], str(p.get("macs", 0)), str(p.get("steps", 0)),
                         str(p.get("predicted_cycles", "")) if p["where"] == "accelerator" else ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        s = self.summary
        share = s.get("accel_share", 0.0)
        lines.append(f"accelerator: {s.get('accel_macs', 0)} of {s.get('macs', 0)} MACs ({share:.1%}), "
                     f"{s.get('accel_steps', 0)} accelerator steps, {s.get('host_steps', 0)} host steps, "
                     f"predicted {s.get('predicted_cycles', 0)} fabric cycles")
        lines.append(f"CMA: {self.cma_bytes} bytes ({mib(self.cma_bytes)}; weights {self.arena.get('weight_bytes', 0)} "
                     "bytes, loaded once)")
        if s.get("macs", 0) and not s.get("accel_macs", 0):
            lines.append("note: nothing runs on the accelerator (a float model runs on the CPU): quantize it to int8 "
                         "first, e.g. onnxruntime.quantization.quantize_static(..., "
                         "quant_format=QuantFormat.QOperator)")
        return "\n".join(lines)
