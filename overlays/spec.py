"""Accelerator spec: the single source of truth, loaded from ``overlays/specs/*.toml``.

Everything that has a size, an offset, an opcode or a bit position is read from here:
the Verilog parameters and generated include file, the C++ harness header, the ``.hwh``,
the Vivado TCL variables, the compiler's cost model and the runtime drivers.

A spec is three documents merged into one (:attr:`Spec.raw`, which :attr:`Spec.hash` covers):

- ``specs/common/accelerator.toml``: what every configuration shares (ISA, AXI-Lite registers,
  counters, error codes, the AXI DMA 7.1 register map); a configuration may not override it;
- ``specs/<name>.toml``: what the configuration chooses (board, geometry, DMA widths, clock,
  memory model, addresses, instance names);
- the ``part`` of the configuration's board, from the board table (:mod:`accel.overlays.boards`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - PYNQ-Z2 images ship Python 3.10
    import tomli as tomllib

from accel.errors import SpecError
from accel.overlays import sim_abi
from accel.overlays.boards import get_board

SPECS_DIR = Path(__file__).resolve().parent / "specs"
SHARED_SPEC = SPECS_DIR / "common" / "accelerator.toml"
DEFAULT_SPEC = "z2_default"
# Tables both the shared document and a configuration contribute keys to: the AXI DMA's register
# map is fixed by the IP (shared), its LENGTH and address widths by the block design (per config).
# Every other shared entry belongs wholly to the shared document.
_OPEN_TABLES = frozenset({("dma",)})


@dataclass(frozen=True)
class Register:
    """One 32-bit AXI-Lite register."""

    name: str
    offset: int
    access: str
    fields: Mapping[str, int] = field(default_factory=dict)

    def mask(self, field_name: str) -> int:
        """Bit mask of a named one-bit field."""
        try:
            return 1 << self.fields[field_name]
        except KeyError:
            raise SpecError(f"register {self.name} has no field {field_name!r}") from None


DMA_MODES = ("sg", "simple")  # [dma] mode: scatter-gather (c_include_sg=1) or direct register mode


@dataclass(frozen=True)
class DmaMap:
    """The AXI DMA 7.1 (PG021) register map (direct and scatter-gather modes) and descriptor format."""

    channels: Mapping[str, int]
    registers: Mapping[str, int]
    dmacr_bits: Mapping[str, int]
    dmasr_bits: Mapping[str, int]
    dmacr_fields: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    dmacr_reset: Mapping[str, int] = field(default_factory=dict)
    desc_bytes: int = 64
    desc_words: Mapping[str, int] = field(default_factory=dict)
    desc_control_bits: Mapping[str, int] = field(default_factory=dict)
    desc_status_bits: Mapping[str, int] = field(default_factory=dict)

    def offset(self, channel: str, register: str) -> int:
        """Offset from the DMA base of ``register`` in ``channel`` ("mm2s"/"s2mm")."""
        try:
            return self.channels[channel.upper()] + self.registers[register]
        except KeyError:
            raise SpecError(f"the AXI DMA map has no {channel}/{register}") from None

    def dmacr(self, bit: str) -> int:
        return 1 << self.dmacr_bits[bit]

    def dmasr(self, bit: str) -> int:
        return 1 << self.dmasr_bits[bit]

    def dmacr_field(self, name: str, value: int) -> int:
        """``value`` placed in the multi-bit DMACR field ``name`` (IRQTHRESHOLD, IRQDELAY)."""
        try:
            lsb, width = self.dmacr_fields[name]
        except KeyError:
            raise SpecError(f"the AXI DMA map has no DMACR field {name!r}") from None
        if not 0 <= value < (1 << width):
            raise SpecError(f"DMACR.{name}={value} does not fit in {width} bits")
        return value << lsb

    @property
    def dmacr_reset_value(self) -> int:
        """DMACR after a reset (PG021: every bit 0 except IRQThreshold = 1)."""
        return sum(self.dmacr_field(name, value) for name, value in self.dmacr_reset.items())

    @property
    def dmacr_fields_mask(self) -> int:
        """The bits of the multi-bit DMACR fields (writable)."""
        return sum(((1 << w) - 1) << lsb for lsb, w in self.dmacr_fields.values())

    def desc_offset(self, word: str) -> int:
        """Byte offset of descriptor word ``word`` (NXTDESC, BUFFER_ADDRESS, CONTROL, STATUS, ...)."""
        try:
            return 4 * self.desc_words[word]
        except KeyError:
            raise SpecError(f"the AXI DMA descriptor has no word {word!r}") from None

    def control(self, bit: str) -> int:
        """Mask of a descriptor CONTROL bit (SOF, EOF)."""
        return 1 << self.desc_control_bits[bit]

    def status(self, bit: str) -> int:
        """Mask of a descriptor STATUS bit (CMPLT, DMAINTERR, DMASLVERR, DMADECERR, RXSOF, RXEOF)."""
        return 1 << self.desc_status_bits[bit]


@dataclass(frozen=True)
class EpilogueLayout:
    """The LOAD_EPI packet layout (``[epilogue]``): a header of int16 fields, then one record per
    output column of the window. Byte offsets are read from the spec, never written elsewhere."""

    header_bytes: int
    column_bytes: int
    header: Mapping[str, int]   # int16 field -> byte offset in the header
    column: Mapping[str, int]   # field -> byte offset in a column record (bias int32, scale float32)

    def packet_bytes(self, columns: int) -> int:
        """Bytes of the LOAD_EPI packet for a window of ``columns`` output columns."""
        return self.header_bytes + self.column_bytes * columns


@dataclass(frozen=True)
class Spec:
    """A frozen accelerator configuration (one TOML file)."""

    name: str
    board: str
    part: str
    version: tuple[int, int]
    rows: int
    stream_width: int
    kmax: int
    nmax: int
    abuf_banks: int
    acc_banks: int
    ififo_depth: int
    epi_lanes: int
    epilogue: EpilogueLayout
    dma_vlnv: str
    dma_length_width: int
    dma_addr_width: int
    dma_mode: str
    dma: DmaMap
    fabric_mhz: float
    read_bytes_per_cycle: int
    write_bytes_per_cycle: int
    latency_cycles: int
    mmio_cycles: int
    accel_base: int
    accel_range: int
    dma_base: int
    dma_range: int
    ddr_base: int
    ddr_size: int
    ip_vlnv: str
    ip_name: str
    dma_name: str
    axil_addr_width: int
    id_magic: int
    registers: Mapping[str, Register]
    counters: Mapping[str, int]
    opcode_field: tuple[int, int]
    opcodes: Mapping[str, int]
    isa_fields: Mapping[str, tuple[int, int]]
    errors: Mapping[str, int]
    raw: Mapping[str, Any] = field(repr=False, compare=False, hash=False)

    # ----------------------------------------------------------------- derived
    @property
    def lanes(self) -> int:
        """int8 lanes per stream beat (B columns consumed per cycle)."""
        return self.stream_width // 8

    @property
    def beat_bytes(self) -> int:
        return self.stream_width // 8

    @property
    def macs_per_cycle(self) -> int:
        return self.rows * self.lanes

    @property
    def dma_max_bytes(self) -> int:
        """Longest single DMA transfer: the LENGTH register's range."""
        return (1 << self.dma_length_width) - 1

    @property
    def dma_sg(self) -> bool:
        """Whether the AXI DMA is built with scatter-gather (``[dma] mode = "sg"``, ``c_include_sg=1``)."""
        return self.dma_mode == "sg"

    def with_dma_mode(self, mode: str) -> Spec:
        """The same configuration with the AXI DMA built in ``mode`` ("sg" or "simple").

        The DMA mode is a block-design choice: the accelerator, its RTL and its programs are the
        same, so the spec hash (what programs and the SPEC_HASH register carry) is kept; the
        ``.hwh`` (``c_include_sg``), the Vivado parameters and the simulator build follow the mode."""
        if mode not in DMA_MODES:
            raise SpecError(f"dma mode {mode!r} is not one of {', '.join(DMA_MODES)}")
        if mode == self.dma_mode:
            return self
        out = replace(self, dma_mode=mode)
        out.__dict__["hash"] = self.hash  # cached_property: the configuration's hash, whatever the mode
        return out

    @property
    def instr_bytes(self) -> int:
        """Bytes one instruction occupies in the command buffer (one stream beat)."""
        return self.beat_bytes

    @property
    def instr_word_bytes(self) -> int:
        """Bytes of the instruction word itself: the ISA layout's highest bit, rounded up to bytes
        (the rest of the beat is padding)."""
        fields = [self.opcode_field, *self.isa_fields.values()]
        return -(-max(lsb + width for lsb, width in fields) // 8)

    def field_max(self, name: str) -> int:
        """Largest value the instruction field ``name`` holds (from its width in ``[isa.fields]``)."""
        try:
            return (1 << self.isa_fields[name][1]) - 1
        except KeyError:
            raise SpecError(f"spec {self.name} has no instruction field {name!r}") from None

    @cached_property
    def hash(self) -> str:
        """sha256 of the canonical spec content (hex)."""
        canon = json.dumps(self.raw, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def hash32(self) -> int:
        """The low 32 bits of :attr:`hash`, as held by the SPEC_HASH register."""
        return int(self.hash[:8], 16)

    @property
    def version_word(self) -> int:
        return (self.version[0] << 16) | self.version[1]

    def reg(self, name: str) -> Register:
        try:
            return self.registers[name]
        except KeyError:
            raise SpecError(f"spec {self.name} has no register {name!r}") from None

    def counter(self, name: str) -> int:
        try:
            return self.counters[name]
        except KeyError:
            raise SpecError(f"spec {self.name} has no counter {name!r}") from None

    def error_name(self, code: int) -> str:
        for name, value in self.errors.items():
            if value == code:
                return name
        return f"UNKNOWN({code})"

    # ---------------------------------------------------------------- the ISA
    def encode(self, opcode: str, **fields: int) -> int:
        """Encode one instruction word; unknown opcodes/fields and overflow raise SpecError."""
        if opcode not in self.opcodes:
            raise SpecError(f"unknown opcode {opcode!r}; known: {sorted(self.opcodes)}")
        lsb, width = self.opcode_field
        word = self.opcodes[opcode] << lsb
        for name, value in fields.items():
            if name not in self.isa_fields:
                raise SpecError(f"unknown instruction field {name!r}; known: {sorted(self.isa_fields)}")
            lsb, width = self.isa_fields[name]
            value = int(value)
            if not 0 <= value < (1 << width):
                raise SpecError(f"field {name}={value} does not fit in {width} bits")
            word |= value << lsb
        return word

    def decode(self, word: int) -> tuple[str, dict[str, int]]:
        """Inverse of :meth:`encode` (all fields returned)."""
        lsb, width = self.opcode_field
        code = (word >> lsb) & ((1 << width) - 1)
        names = [n for n, v in self.opcodes.items() if v == code]
        if not names:
            raise SpecError(f"word {word:#x} has unknown opcode {code}")
        out = {n: (word >> lsb_) & ((1 << w) - 1) for n, (lsb_, w) in self.isa_fields.items()}
        return names[0], out

    # ------------------------------------------------------------ generators
    def verilog_params(self) -> dict[str, int]:
        """Module parameters of ``accel_top`` (passed as Verilator ``-G`` / Vivado generics)."""
        return {
            "DATA_WIDTH": self.stream_width,
            "ROWS": self.rows,
            "KMAX": self.kmax,
            "NMAX": self.nmax,
            "IFIFO_DEPTH": self.ififo_depth,
            "AXIL_ADDR_WIDTH": self.axil_addr_width,
            "SPEC_HASH": self.hash32,
        }

    def _constants(self) -> list[tuple[str, int, str]]:
        """(name, value, comment) constants shared by the Verilog and C headers."""
        out: list[tuple[str, int, str]] = [
            ("ACCEL_ID_MAGIC", self.id_magic, "ID register value"),
            ("ACCEL_VERSION", self.version_word, "major << 16 | minor"),
            ("ACCEL_OPCODE_LSB", self.opcode_field[0], ""),
            ("ACCEL_OPCODE_WIDTH", self.opcode_field[1], ""),
        ]
        for name, reg in self.registers.items():
            out.append((f"ACCEL_REG_{name}", reg.offset, reg.access))
            for fname, bit in reg.fields.items():
                out.append((f"ACCEL_{name}_{fname}_BIT", bit, ""))
        for name, off in self.counters.items():
            out.append((f"ACCEL_CNT_{name}", off, "64-bit: LO here, HI at +4"))
        for name, code in self.opcodes.items():
            out.append((f"ACCEL_OP_{name}", code, ""))
        for name, (lsb, width) in self.isa_fields.items():
            out.append((f"ACCEL_F_{name.upper()}_LSB", lsb, ""))
            out.append((f"ACCEL_F_{name.upper()}_WIDTH", width, ""))
        for name, code in self.errors.items():
            out.append((f"ACCEL_ERR_{name}", code, ""))
        lay = self.epilogue
        out.append(("ACCEL_EPI_LANES", self.epi_lanes, "requantization lanes (results per cycle on DRAIN_Q)"))
        out.append(("ACCEL_EPI_HEADER_BYTES", lay.header_bytes, "LOAD_EPI header"))
        out.append(("ACCEL_EPI_COLUMN_BYTES", lay.column_bytes, "LOAD_EPI record per output column"))
        for name, off in lay.header.items():
            out.append((f"ACCEL_EPI_H_{name.upper()}", off, "int16 at this byte of the header"))
        for name, off in lay.column.items():
            out.append((f"ACCEL_EPI_C_{name.upper()}", off, "byte offset in a column record"))
        return out

    def verilog_header(self) -> str:
        """``accel_spec.vh``: register offsets, opcodes, field positions, error codes."""
        lines = [
            f"// Generated from overlays/specs/{self.name}.toml (spec hash {self.hash[:16]}).",
            "// Do not edit: regenerate with `accel-run spec --verilog`.",
            "// No include guard: each module includes it inside its body for its own localparams.",
        ]
        for name, value, comment in self._constants():
            tail = f"  // {comment}" if comment else ""
            lines.append(f"localparam integer {name} = {value};{tail}")
        return "\n".join(lines) + "\n"

    def c_header(self) -> str:
        """``accel_spec.h`` for the C++ harness: the same constants plus model parameters."""
        consts = self._constants() + [
            ("SPEC_DATA_WIDTH", self.stream_width, ""),
            ("SPEC_ROWS", self.rows, ""),
            ("SPEC_KMAX", self.kmax, ""),
            ("SPEC_NMAX", self.nmax, ""),
            ("SPEC_HASH32", self.hash32, ""),
            ("SPEC_DMA_LENGTH_WIDTH", self.dma_length_width, ""),
            ("SPEC_DMA_ADDR_WIDTH", self.dma_addr_width, ""),
            ("SPEC_MEM_READ_BPC", self.read_bytes_per_cycle, "bytes per cycle"),
            ("SPEC_MEM_WRITE_BPC", self.write_bytes_per_cycle, "bytes per cycle"),
            ("SPEC_MEM_LATENCY", self.latency_cycles, "cycles"),
            ("SPEC_MMIO_CYCLES", self.mmio_cycles, "cycles per AXI-Lite access"),
            ("SPEC_ACCEL_BASE", self.accel_base, ""),
            ("SPEC_ACCEL_RANGE", self.accel_range, ""),
            ("SPEC_DMA_BASE", self.dma_base, ""),
            ("SPEC_DMA_RANGE", self.dma_range, ""),
            ("SPEC_DDR_BASE", self.ddr_base, ""),
            ("SPEC_DDR_SIZE", self.ddr_size, ""),
            *((f"SPEC_DMA_CH_{k}", v, "AXI DMA channel block base") for k, v in self.dma.channels.items()),
            *((f"SPEC_DMA_REG_{k}", v, "offset in a channel block") for k, v in self.dma.registers.items()),
            *((f"SPEC_DMACR_{k}_BIT", v, "") for k, v in self.dma.dmacr_bits.items()),
            *((f"SPEC_DMASR_{k}_BIT", v, "") for k, v in self.dma.dmasr_bits.items()),
            *((f"SPEC_DMACR_{k}_LSB", v[0], "") for k, v in self.dma.dmacr_fields.items()),
            *((f"SPEC_DMACR_{k}_WIDTH", v[1], "") for k, v in self.dma.dmacr_fields.items()),
            ("SPEC_DMACR_RESET_VALUE", self.dma.dmacr_reset_value, "DMACR after a reset"),
            ("SPEC_DMACR_FIELDS_MASK", self.dma.dmacr_fields_mask, "writable multi-bit DMACR fields"),
            ("SPEC_DMA_INCLUDE_SG", int(self.dma_sg), "c_include_sg: scatter-gather mode"),
            ("SPEC_DESC_BYTES", self.dma.desc_bytes, "descriptor size and alignment"),
            *((f"SPEC_DESC_W_{k}", v, "descriptor word index") for k, v in self.dma.desc_words.items()),
            *((f"SPEC_DESC_CTRL_{k}_BIT", v, "") for k, v in self.dma.desc_control_bits.items()),
            *((f"SPEC_DESC_STS_{k}_BIT", v, "") for k, v in self.dma.desc_status_bits.items()),
        ]
        lines = [
            f"// Generated from overlays/specs/{self.name}.toml (spec hash {self.hash[:16]}).",
            "#pragma once",
            "#include <cstdint>",
        ]
        for name, value, comment in consts:
            tail = f"  // {comment}" if comment else ""
            lines.append(f"static constexpr uint64_t {name} = {value}ULL;{tail}")
        return "\n".join(lines) + "\n" + sim_abi.c_declarations()


def _parse(raw: Mapping[str, Any]) -> Spec:
    try:
        arr, dma, mem, adr, ip, isa = (raw[k] for k in ("array", "dma", "memory", "addresses", "ip", "isa"))
        regs = {
            name: Register(name, int(r["offset"]), str(r["access"]), dict(r.get("fields", {})))
            for name, r in raw["registers"].items()
        }
        spec = Spec(
            name=raw["name"],
            board=raw["board"],
            part=raw["part"],
            version=(int(raw["version"][0]), int(raw["version"][1])),
            rows=int(arr["rows"]),
            stream_width=int(arr["stream_width"]),
            kmax=int(arr["kmax"]),
            nmax=int(arr["nmax"]),
            abuf_banks=int(arr["abuf_banks"]),
            acc_banks=int(arr["acc_banks"]),
            ififo_depth=int(arr["ififo_depth"]),
            epi_lanes=int(arr["epi_lanes"]),
            epilogue=EpilogueLayout(
                header_bytes=int(raw["epilogue"]["header_bytes"]),
                column_bytes=int(raw["epilogue"]["column_bytes"]),
                header={k: int(v) for k, v in raw["epilogue"]["header"].items()},
                column={k: int(v) for k, v in raw["epilogue"]["column"].items()},
            ),
            dma_vlnv=dma["vlnv"],
            dma_length_width=int(dma["length_width"]),
            dma_addr_width=int(dma["addr_width"]),
            dma_mode=str(dma.get("mode", "simple")),
            dma=DmaMap(
                channels={k: int(v) for k, v in dma["channels"].items()},
                registers={k: int(v) for k, v in dma["registers"].items()},
                dmacr_bits={k: int(v) for k, v in dma["dmacr_bits"].items()},
                dmasr_bits={k: int(v) for k, v in dma["dmasr_bits"].items()},
                dmacr_fields={k: (int(v[0]), int(v[1])) for k, v in dma["dmacr_fields"].items()},
                dmacr_reset={k: int(v) for k, v in dma["dmacr_reset"].items()},
                desc_bytes=int(dma["descriptor"]["bytes"]),
                desc_words={k: int(v) for k, v in dma["descriptor"]["words"].items()},
                desc_control_bits={k: int(v) for k, v in dma["descriptor"]["control_bits"].items()},
                desc_status_bits={k: int(v) for k, v in dma["descriptor"]["status_bits"].items()},
            ),
            fabric_mhz=float(raw["clock"]["fabric_mhz"]),
            read_bytes_per_cycle=int(mem["read_bytes_per_cycle"]),
            write_bytes_per_cycle=int(mem["write_bytes_per_cycle"]),
            latency_cycles=int(mem["latency_cycles"]),
            mmio_cycles=int(mem["mmio_cycles"]),
            accel_base=int(adr["accel_base"]),
            accel_range=int(adr["accel_range"]),
            dma_base=int(adr["dma_base"]),
            dma_range=int(adr["dma_range"]),
            ddr_base=int(adr["ddr_base"]),
            ddr_size=int(adr["ddr_size"]),
            ip_vlnv=ip["vlnv"],
            ip_name=ip["name"],
            dma_name=ip["dma_name"],
            axil_addr_width=int(raw["axil"]["addr_width"]),
            id_magic=int(raw["axil"]["id_magic"]),
            registers=regs,
            counters={k: int(v) for k, v in raw["counters"].items()},
            opcode_field=(int(isa["opcode"][0]), int(isa["opcode"][1])),
            opcodes={k: int(v) for k, v in isa["opcodes"].items()},
            isa_fields={k: (int(v[0]), int(v[1])) for k, v in isa["fields"].items()},
            errors={k: int(v) for k, v in raw["errors"].items()},
            raw=raw,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpecError(f"spec {raw.get('name', '?')!r} is malformed: missing or bad entry {exc}") from exc
    _check(spec)
    return spec


def _check(s: Spec) -> None:
    """Reject configurations the RTL cannot build, with the reason. Limits that follow from an
    instruction field's width are read from ``[isa.fields]``."""
    problems = _check_isa(s)
    if problems:  # the field-derived limits below need a sound layout
        raise SpecError(f"spec {s.name}: " + "; ".join(problems))
    word_bits = 8 * s.instr_word_bytes
    if s.stream_width not in (64, 128, 256) or s.stream_width < word_bits:
        problems.append(
            f"stream_width {s.stream_width} must be 64, 128 or 256 (one {word_bits}-bit instruction per beat)"
        )
    rows_max = s.field_max("rows")
    if not 1 <= s.rows <= rows_max:
        problems.append(f"rows {s.rows} must be 1..{rows_max} ({s.isa_fields['rows'][1]}-bit rows field)")
    win_limit = s.field_max("win_cnt") + 1
    for name, value in (("kmax", s.kmax), ("nmax", s.nmax)):
        if value % s.lanes or value <= 0 or value >= win_limit:
            problems.append(
                f"{name} {value} must be a positive multiple of lanes ({s.lanes}) below {win_limit} "
                f"({s.isa_fields['win_cnt'][1]}-bit win_cnt field)"
            )
    if not 8 <= s.dma_length_width <= 26:
        problems.append(f"dma.length_width {s.dma_length_width} must be 8..26 (AXI DMA 7.1)")
    if s.dma_mode not in DMA_MODES:
        problems.append(f"dma.mode {s.dma_mode!r} must be one of {', '.join(DMA_MODES)}")
    low = min([*s.dma.desc_control_bits.values(), *s.dma.desc_status_bits.values()], default=32)
    if s.dma_length_width > low:
        problems.append(f"dma.length_width {s.dma_length_width} overlaps the descriptor CONTROL/STATUS bit {low}")
    banks = {"abuf_banks": (s.abuf_banks, "abuf"), "acc_banks": (s.acc_banks, "acc")}
    for name, (value, fname) in banks.items():
        if value != s.field_max(fname) + 1:
            problems.append(
                f"{name} {value} must be {s.field_max(fname) + 1} (the {s.isa_fields[fname][1]}-bit {fname} field)"
            )
    offsets = [r.offset for r in s.registers.values()]
    offsets += [o for c in s.counters.values() for o in (c, c + 4)]
    if len(offsets) != len(set(offsets)):
        problems.append("register/counter offsets overlap")
    if problems:
        raise SpecError(f"spec {s.name}: " + "; ".join(problems))


def _check_isa(s: Spec) -> list[str]:
    """The instruction layout: no field overlaps another or the opcode."""
    problems: list[str] = []
    taken: dict[int, str] = {}
    for name, (lsb, width) in {"opcode": s.opcode_field, **s.isa_fields}.items():
        if lsb < 0 or width < 1:
            problems.append(f"instruction field {name} = [{lsb}, {width}] needs lsb >= 0 and width >= 1")
            continue
        for bit in range(lsb, lsb + width):
            if bit in taken:
                problems.append(f"instruction fields {taken[bit]} and {name} overlap at bit {bit}")
                break
            taken[bit] = name
    return problems


def load_spec(name_or_path: str | Path | Spec = DEFAULT_SPEC) -> Spec:
    """Load a spec by name (``z2_default``, ``kv260``) or by TOML path (a configuration file:
    the shared table and the board's part are merged in whichever directory it lives)."""
    if isinstance(name_or_path, Spec):
        return name_or_path
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(available_specs())
        raise SpecError(f"no spec {str(name_or_path)!r}; known specs: {known} (or pass a .toml path)")
    config = _read_toml(path)
    return _parse(merge_config(_read_toml(SHARED_SPEC), config, where=str(path)))


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from exc


def _leaf_paths(doc: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in doc.items():
        path = (*prefix, key)
        out += _leaf_paths(value, path) if isinstance(value, Mapping) and value else [path]
    return out


def _is_shared(shared: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether ``path`` lies inside an entry the shared document owns."""
    node: Any = shared
    for depth, key in enumerate(path, start=1):
        if not isinstance(node, Mapping) or key not in node:
            return False
        if path[:depth] not in _OPEN_TABLES:
            return True
        node = node[key]
    return True  # a plain value where the shared document has an open table


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, Mapping) else value
    return out


def merge_config(shared: Mapping[str, Any], config: Mapping[str, Any], *, where: str = "the configuration") -> dict:
    """The spec document: the shared entries, the configuration's and the ``part`` of its board.

    A configuration that redefines or extends a shared entry, or names a part of its own (the
    part is the board's), is refused with the entry's name.
    """
    name = config.get("name", "?")
    clashes = [".".join(p) for p in _leaf_paths(config) if _is_shared(shared, p)]
    if clashes:
        shown = ", ".join(clashes[:6]) + (f" and {len(clashes) - 6} more" if len(clashes) > 6 else "")
        raise SpecError(
            f"spec {name!r} ({where}) redefines shared entries {shown}: the ISA, registers, counters, "
            f"error codes and the AXI DMA map are defined once in specs/common/{SHARED_SPEC.name}; remove them"
        )
    if "part" in config:
        raise SpecError(
            f"spec {name!r} ({where}) sets part = {config['part']!r}: the part is a board fact, read from the "
            "board table (overlays/boards.toml) for the spec's `board`; remove it"
        )
    if "board" not in config:
        raise SpecError(f"spec {name!r} ({where}) is malformed: missing or bad entry 'board'")
    merged = _merge(dict(shared), config)
    merged["part"] = get_board(str(config["board"])).part
    return merged


def available_specs() -> list[str]:
    """The configurations (``specs/*.toml``; the shared table lives in ``specs/common/``)."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.toml"))
