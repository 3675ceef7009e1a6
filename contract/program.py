"""Driver programs: the portable artifact the compiler emits and the runtime executes.

A driver program needs numpy + pynq only. It is a JSON document:

```
{
  "format": "pynq-accel/driver-program", "version": 1,
  "spec": {"name": "z2_default", "hash": "<sha256 of the spec>"},
  "name": "matmul",
  "operands": {"a": {"shape": [M, K], "dtype": "int8", "role": "in"},
               "b": {"shape": [K, N], "dtype": "int8", "role": "in"},
               "c": {"shape": [M, N], "dtype": "int32", "role": "out"}},
  "c_init": "zero" | "accumulate",       # accumulate: C += A @ B (memref semantics)
  "scratch": {"cmd": {"bytes": n, "init": "<base64 instruction words>"},
              "stage_a": {"bytes": n}, ...},   # staging only where zero-copy is impossible
  "mm2s": [[buffer, offset, nbytes, pack|null], ...],   # in stream order
  "s2mm": [[buffer, offset, nbytes, unpack|null], ...], # in drain order
  "schedule": {...}, "predicted": {...}, "stats": {...},
  "epilogue": {"params": "epi", "out_dtype": "int8" | "uint8",     # version 2 only
               "windows": [[col0, cols, offset], ...]}
}
```

Version 2 (the fused epilogue; int32 programs stay version 1, byte for byte): A and B may be
``uint8`` (their LOAD_A/STREAM_B carry the ``u8`` flag: the input path converts to int8 on
the fly), C may be ``int8``/``uint8`` (DRAIN_Q: ``rows x cols`` 8-bit results per drain, C is
M*N bytes), and the program takes one more input operand, the params operand named by
``epilogue.params`` (uint8): one LOAD_EPI packet (spec ``[epilogue]`` layout: header, then
bias int32 + scale float32 per column) per output window ``[col0, cols, offset]``, built by
the runtime from bias/scale/zero points/clamp when it binds the call
(``accel.contract.epilogue.fill_params``), so the program itself does not depend on them and A,
B and C stay zero-copy. A LOAD_EPI precedes the first STREAM_B into an accumulator bank whose
window changed; its data packet is the window's packet in the params operand.

`mm2s` is the exact packet order the accelerator consumes (command segments, then each
instruction's data packet); `s2mm` is the order of its DRAIN packets. The executor keeps
S2MM armed with the next entry whenever it is idle and feeds MM2S in order: host work is
one DMA transfer per packet, i.e. per panel, not per tile. A `pack` ({"src", "row0",
"col0", "rows", "cols"}) copies a block of an operand into the transfer's (scratch) buffer
at its offset before the transfer, an `unpack` ({"dst", "row0", "col0", "rows", "cols",
"add"}) copies or adds the received block into an operand after it: both are CPU copies
and are counted. Zero-copy schedules have none.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from accel.contract.schema import check_dataflow, check_document, check_epilogue
from accel.errors import ProgramError

FORMAT = "pynq-accel/driver-program"
VERSION = 1  # int32 programs
EPILOGUE_VERSION = 2  # programs with an epilogue section (u8 inputs, DRAIN_Q, LOAD_EPI)
VERSIONS = (VERSION, EPILOGUE_VERSION)


@dataclass
class DriverProgram:
    """A parsed driver program (see the module docstring for the JSON format)."""

    spec_name: str
    spec_hash: str
    name: str
    operands: dict[str, dict[str, Any]]
    c_init: str
    scratch: dict[str, dict[str, Any]]
    mm2s: list[list[Any]]
    s2mm: list[list[Any]]
    schedule: dict[str, Any] = field(default_factory=dict)
    predicted: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    epilogue: dict[str, Any] = field(default_factory=dict)

    # -------------------------------------------------------------- properties
    def instructions(self) -> bytes:
        """The raw command-buffer bytes (instruction words)."""
        return base64.b64decode(self.scratch["cmd"]["init"])

    @property
    def transfers(self) -> int:
        return len(self.mm2s) + len(self.s2mm)

    # -------------------------------------------------------------- (de)serialise
    @property
    def version(self) -> int:
        """The format version the program needs: 2 with an epilogue section, else 1."""
        return EPILOGUE_VERSION if self.epilogue or self._u8() else VERSION

    def _u8(self) -> bool:
        return any(op.get("dtype") == "uint8" for n, op in self.operands.items() if n in ("a", "b"))

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "format": FORMAT,
            "version": self.version,
            "spec": {"name": self.spec_name, "hash": self.spec_hash},
            "name": self.name,
            "operands": self.operands,
            "c_init": self.c_init,
            "scratch": self.scratch,
            "mm2s": self.mm2s,
            "s2mm": self.s2mm,
            "schedule": self.schedule,
            "predicted": self.predicted,
            "stats": self.stats,
        }
        if self.epilogue:
            doc["epilogue"] = self.epilogue
        return doc

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DriverProgram:
        """Parse and completely validate a program document (every field, then its data flow)."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ProgramError(f"not a driver program (format must be {FORMAT!r})")
        if doc.get("version") not in VERSIONS:
            raise ProgramError(
                f"driver program format version {doc.get('version')} is not supported by this runtime "
                f"(it reads versions {list(VERSIONS)}); recompile the program with this pynq-accel"
            )
        check_document(doc)
        prog = cls(
            spec_name=doc["spec"]["name"],
            spec_hash=doc["spec"]["hash"],
            name=doc["name"],
            operands=doc["operands"],
            c_init=doc["c_init"],
            scratch=doc["scratch"],
            mm2s=doc["mm2s"],
            s2mm=doc["s2mm"],
            schedule=doc.get("schedule", {}),
            predicted=doc.get("predicted", {}),
            stats=doc.get("stats", {}),
            epilogue=doc.get("epilogue", {}),
        )
        if doc["version"] != prog.version:
            raise ProgramError(
                f"driver program field version: {doc['version']} but the program "
                + ("has an epilogue section or uint8 inputs (version 2)" if prog.version == EPILOGUE_VERSION
                   else "has neither an epilogue section nor uint8 inputs (version 1)")
            )
        prog.validate()
        return prog

    @classmethod
    def from_json(cls, text: str) -> DriverProgram:
        return cls.from_dict(parse_json(text, "driver program"))

    def validate(self) -> None:
        """Every field well formed and the data flow sound (see :mod:`accel.contract.schema`).

        Also run on programs built in memory, so a program object that was edited after it was
        built is checked as strictly as one loaded from a file."""
        check_document(self.to_dict())
        check_dataflow(self.operands, self.scratch, self.mm2s, self.s2mm)
        check_epilogue(self.operands, self.epilogue, self.mm2s)

    def check_spec(self, spec: Any) -> None:
        """Refuse a program compiled for another accelerator configuration."""
        if self.spec_hash != spec.hash:
            raise ProgramError(
                f"driver program {self.name!r} was built for spec {self.spec_name!r} "
                f"(hash {self.spec_hash[:12]}) but the overlay is {spec.name!r} (hash {spec.hash[:12]}); "
                f"recompile it with --spec {spec.name}"
            )


def parse_json(text: str, what: str) -> Any:
    """The JSON document in ``text``; a ProgramError naming ``what`` (and where) when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProgramError(f"{what} is not valid JSON: {exc}") from exc
