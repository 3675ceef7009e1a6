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
  "schedule": {...}, "predicted": {...}, "stats": {...}
}
```

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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from accel.errors import ProgramError, ShapeError, TransferTooLargeError

FORMAT = "pynq-accel/driver-program"
VERSION = 1
STATIONARITY = ("A", "C", "N")


@dataclass(frozen=True)
class Schedule:
    """How one M x K x N matmul is cut into work for the accelerator.

    - ``tile_m`` rows per panel (<= spec.rows), ``tile_n`` columns per accumulator tile
      (<= spec.nmax), ``tile_k`` K per A-bank load (<= spec.kmax); edge tiles are smaller.
    - ``stationarity``: "A" keeps the A panel on chip across all N tiles (needs
      tile_k == K); "C" keeps the accumulators on chip across K chunks (output stationary);
      "N" reloads everything per (m, n, k) tile and sums K partials on the CPU (the
      AXI4MLIR Ns flow).
    - ``order``: "mn" (panels outer) or "nm" (N tiles outer).
    - ``double_buffer``: alternate A banks and accumulator banks so the drain of one tile
      overlaps the next tile's load and compute.
    - ``staging``: copy operand tiles into scratch buffers first (the AXI4MLIR baseline);
      otherwise the DMA reads and writes the user's buffers in place.
    """

    m: int
    n: int
    k: int
    tile_m: int
    tile_n: int
    tile_k: int
    stationarity: str = "A"
    order: str = "mn"
    double_buffer: bool = True
    staging: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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

    # -------------------------------------------------------------- properties
    def instructions(self) -> bytes:
        """The raw command-buffer bytes (instruction words)."""
        return base64.b64decode(self.scratch["cmd"]["init"])

    @property
    def transfers(self) -> int:
        return len(self.mm2s) + len(self.s2mm)

    # -------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
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

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DriverProgram:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ProgramError(f"not a driver program (format must be {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise ProgramError(
                f"driver program format version {doc.get('version')} is not supported by this runtime "
                f"(it reads version {VERSION}); recompile the program with this pynq-accel"
            )
        try:
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
            )
        except (KeyError, TypeError) as exc:
            raise ProgramError(f"driver program is malformed: missing {exc}") from exc
        prog.validate()
        return prog

    @classmethod
    def from_json(cls, text: str) -> DriverProgram:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProgramError(f"driver program is not valid JSON: {exc}") from exc
        return cls.from_dict(doc)

    def validate(self) -> None:
        """Structural checks (every transfer names a known buffer and stays inside it)."""
        sizes = {name: _nbytes(op) for name, op in self.operands.items()}
        sizes.update({name: int(s["bytes"]) for name, s in self.scratch.items()})
        if self.c_init not in ("zero", "accumulate"):
            raise ProgramError(f"c_init must be 'zero' or 'accumulate', not {self.c_init!r}")
        for chan in ("mm2s", "s2mm"):
            for i, entry in enumerate(getattr(self, chan)):
                if len(entry) != 4:
                    raise ProgramError(f"{chan}[{i}] must be [buffer, offset, nbytes, pack|unpack|null]")
                buf, off, nbytes, _ = entry
                if buf not in sizes:
                    raise ProgramError(f"{chan}[{i}] names unknown buffer {buf!r}")
                if off < 0 or nbytes <= 0 or off + nbytes > sizes[buf]:
                    raise ProgramError(
                        f"{chan}[{i}] [{off}, {off + nbytes}) is outside buffer {buf!r} ({sizes[buf]} bytes)"
                    )

    def check_spec(self, spec: Any) -> None:
        """Refuse a program compiled for another accelerator configuration."""
        if self.spec_hash != spec.hash:
            raise ProgramError(
                f"driver program {self.name!r} was built for spec {self.spec_name!r} "
                f"(hash {self.spec_hash[:12]}) but the overlay is {spec.name!r} (hash {spec.hash[:12]}); "
                f"recompile it with --spec {spec.name}"
            )


def _nbytes(op: dict[str, Any]) -> int:
    return int(np.prod(op["shape"])) * np.dtype(op["dtype"]).itemsize


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def check_schedule(spec: Any, s: Schedule) -> None:
    """Reject schedules the accelerator or the DMA cannot execute, naming the limit."""
    L = spec.lanes
    problems = []
    if min(s.m, s.n, s.k) < 1:
        raise ShapeError(f"matmul dimensions must be >= 1, got M={s.m} N={s.n} K={s.k}")
    if not 1 <= s.tile_m <= spec.rows:
        problems.append(f"tile_m={s.tile_m} must be 1..{spec.rows} (array rows)")
    if not 1 <= s.tile_n <= spec.nmax:
        problems.append(f"tile_n={s.tile_n} must be 1..{spec.nmax} (accumulator columns)")
    if not 1 <= s.tile_k <= spec.kmax:
        problems.append(f"tile_k={s.tile_k} must be 1..{spec.kmax} (A buffer depth)")
    if s.tile_n < s.n and s.tile_n % L:
        problems.append(f"tile_n={s.tile_n} must be a multiple of {L} lanes when N={s.n} is split")
    if s.tile_k < s.k and s.tile_k % L:
        problems.append(f"tile_k={s.tile_k} must be a multiple of {L} lanes when K={s.k} is split")
    if s.stationarity not in STATIONARITY:
        problems.append(f"stationarity {s.stationarity!r} must be one of {STATIONARITY}")
    if s.stationarity == "A" and min(s.tile_k, s.k) < s.k and _ceil_div(s.n, s.tile_n) > 1:
        problems.append("A-stationary with both K and N split needs one accumulator per N tile: use 'C'")
    if s.order not in ("mn", "nm"):
        problems.append(f"order {s.order!r} must be 'mn' or 'nm'")
    for dim in ("m", "n", "k"):
        if getattr(s, dim) >= 1 << 16:
            problems.append(f"{dim.upper()}={getattr(s, dim)} exceeds the 16-bit row_len/window fields")
    if problems:
        raise ShapeError("unsupported schedule: " + "; ".join(problems))


def build_program(spec: Any, s: Schedule, *, name: str = "matmul", c_init: str = "zero") -> DriverProgram:
    """Lower a schedule to instructions and DMA transfers (deterministic, pure Python)."""
    check_schedule(spec, s)
    M, N, K = s.m, s.n, s.k
    tm, tn, tk = s.tile_m, min(s.tile_n, N), min(s.tile_k, K)
    panels = [(i, min(tm, M - i)) for i in range(0, M, tm)]
    ntiles = [(j, min(tn, N - j)) for j in range(0, N, tn)]
    kchunks = [(q, min(tk, K - q)) for q in range(0, K, tk)]
    partial_k = s.stationarity == "N" and len(kchunks) > 1
    # C rows are contiguous only when a tile spans all of N; else drain into scratch.
    c_direct = not s.staging and len(ntiles) == 1 and not partial_k and c_init == "zero"

    instrs: list[tuple[int, list[Any] | None]] = []  # (word, mm2s data entry or None)
    drains: list[list[Any]] = []
    scratch: dict[str, dict[str, Any]] = {}
    stage_bytes = {"stage_a": 0, "stage_b": 0, "stage_c": 0}
    counters = {"abank": 0, "acc": 0, "tiles": 0}

    def a_entry(i: int, rows: int, q: int, kc: int) -> tuple[list[Any], dict[str, int]]:
        if s.staging:  # pack the A tile contiguously: row_len = kc, no window
            stage_bytes["stage_a"] = max(stage_bytes["stage_a"], rows * kc)
            pack = {"src": "a", "row0": i, "col0": q, "rows": rows, "cols": kc}
            return ["stage_a", 0, rows * kc, pack], {"row_len": kc, "win_lo": 0}
        return ["a", i * K, rows * K, None], {"row_len": K, "win_lo": q}

    def b_entry(q: int, kc: int, j: int, nc: int) -> tuple[list[Any], dict[str, int]]:
        if s.staging:
            stage_bytes["stage_b"] = max(stage_bytes["stage_b"], kc * nc)
            pack = {"src": "b", "row0": q, "col0": j, "rows": kc, "cols": nc}
            return ["stage_b", 0, kc * nc, pack], {"row_len": nc, "win_lo": 0}
        return ["b", q * N, kc * N, None], {"row_len": N, "win_lo": j}

    def load_a(i: int, rows: int, q: int, kc: int) -> int:
        bank = counters["abank"] % 2 if s.double_buffer else 0
        counters["abank"] += 1
        entry, f = a_entry(i, rows, q, kc)
        word = spec.encode("LOAD_A", abuf=bank, rows=rows, win_cnt=kc, **f)
        instrs.append((word, entry))
        return bank

    def stream_b(bank: int, acc: int, accumulate: bool, q: int, kc: int, j: int, nc: int) -> None:
        entry, f = b_entry(q, kc, j, nc)
        word = spec.encode("STREAM_B", abuf=bank, acc=acc, accumulate=int(accumulate), win_cnt=nc, **f)
        instrs.append((word, entry))

    def drain(acc: int, i: int, rows: int, j: int, nc: int, add: bool) -> None:
        instrs.append((spec.encode("DRAIN", acc=acc, rows=rows, win_cnt=nc), None))
        nbytes = rows * nc * 4
        if c_direct:
            drains.append(["c", i * N * 4, nbytes, None])
        else:
            stage_bytes["stage_c"] = max(stage_bytes["stage_c"], nbytes)
            unpack = {"dst": "c", "row0": i, "col0": j, "rows": rows, "cols": nc, "add": add}
            drains.append(["stage_c", 0, nbytes, unpack])

    def next_acc() -> int:
        acc = counters["acc"] % 2 if s.double_buffer else 0
        counters["acc"] += 1
        counters["tiles"] += 1
        return acc

    outer = [(p, t) for p in panels for t in ntiles] if s.order == "mn" else [
        (p, t) for t in ntiles for p in panels
    ]
    add_c = c_init == "accumulate"
    if s.stationarity == "A" and len(kchunks) == 1:
        loaded: tuple[int, int] | None = None
        bank = 0
        for (i, rows), (j, nc) in outer:
            if loaded != (i, rows):  # reload A only when the panel changes
                bank = load_a(i, rows, 0, K)
                loaded = (i, rows)
            acc = next_acc()
            stream_b(bank, acc, False, 0, K, j, nc)
            drain(acc, i, rows, j, nc, add_c)
    else:
        for (i, rows), (j, nc) in outer:
            acc = next_acc() if s.stationarity != "N" else None
            for qi, (q, kc) in enumerate(kchunks):
                if s.stationarity == "N":
                    acc = next_acc()
                bank = load_a(i, rows, q, kc)
                stream_b(bank, acc, s.stationarity != "N" and qi > 0, q, kc, j, nc)
                if s.stationarity == "N":
                    drain(acc, i, rows, j, nc, add_c or qi > 0)
            if s.stationarity != "N":
                drain(acc, i, rows, j, nc, add_c)

    # Command segments: at most ififo_depth instructions; a segment is sent when the
    # accelerator's FIFO has run empty, i.e. before the first data packet of the segment.
    ib = spec.instr_bytes
    cmd = bytearray()
    mm2s: list[list[Any]] = []
    depth = spec.ififo_depth
    for seg in range(0, len(instrs), depth):
        chunk = instrs[seg : seg + depth]
        mm2s.append(["cmd", len(cmd), len(chunk) * ib, None])
        for word, entry in chunk:
            cmd += int(word).to_bytes(ib, "little")
            if entry is not None:
                mm2s.append(entry)
    scratch["cmd"] = {"bytes": len(cmd), "init": base64.b64encode(bytes(cmd)).decode()}
    for sname, nbytes in stage_bytes.items():
        if nbytes:
            scratch[sname] = {"bytes": nbytes}

    for chan, entries in (("MM2S", mm2s), ("S2MM", drains)):
        for buf, _, nbytes, _ in entries:
            if nbytes > spec.dma_max_bytes:
                raise TransferTooLargeError(
                    f"{chan} transfer of {nbytes} bytes from {buf!r} exceeds the DMA LENGTH register "
                    f"({spec.dma_length_width} bits: at most {spec.dma_max_bytes} bytes); "
                    f"use a smaller tile_k/tile_m or a spec with a wider dma.length_width"
                )

    operands = {
        "a": {"shape": [M, K], "dtype": "int8", "role": "in"},
        "b": {"shape": [K, N], "dtype": "int8", "role": "in"},
        "c": {"shape": [M, N], "dtype": "int32", "role": "inout" if add_c else "out"},
    }
    stats = {
        "instructions": len(instrs),
        "tiles": counters["tiles"],
        "panels": len(panels),
        "mm2s_transfers": len(mm2s),
        "s2mm_transfers": len(drains),
        "dma_bytes_in": sum(e[2] for e in mm2s),
        "dma_bytes_out": sum(e[2] for e in drains),
        "macs": M * N * K,
    }
    prog = DriverProgram(
        spec_name=spec.name,
        spec_hash=spec.hash,
        name=name,
        operands=operands,
        c_init=c_init,
        scratch=scratch,
        mm2s=mm2s,
        s2mm=drains,
        schedule=s.to_dict(),
        stats=stats,
    )
    prog.validate()
    return prog


def default_schedule(spec: Any, m: int, n: int, k: int) -> Schedule:
    """The runtime's built-in schedule (the compiler's cost model picks better ones):
    full-height panels, A-stationary over all of N when it fits, double buffered."""
    L = spec.lanes
    tile_n = n if n <= spec.nmax else spec.nmax - spec.nmax % L
    tile_k = k if k <= spec.kmax else spec.kmax - spec.kmax % L
    stationarity = "A" if tile_k == k or tile_n >= n else "C"
    return Schedule(m, n, k, tile_m=min(spec.rows, m), tile_n=tile_n, tile_k=tile_k, stationarity=stationarity)
