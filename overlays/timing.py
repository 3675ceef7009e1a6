"""A timing PROXY for the accelerator: register-to-register paths of yosys's mapped netlist.

Nobody here has Vivado, so no static timing analysis exists; this module estimates where the
long paths are, to make the RTL *likely* to close timing, and is labelled a proxy everywhere
it reports. It is not timing closure: placement, routing, clock skew and uncertainty and
Vivado's own optimisation (replication, retiming, phys_opt) are not modelled. The routed
timing summary of a Vivado build (``build-bitstream``) is the real figure.

How it works: the estimate (:mod:`accel.overlays.estimate`) keeps yosys's mapped netlist
(``synth_xilinx``, flattened) in its cache entry. The netlist is cut at its sequential cells
(flip-flops, shift registers, LUTRAM write ports, block RAM, DSP registers as their
parameters say) and the longest path to every endpoint is found with per-cell delays from
:data:`XC7_DELAYS` plus, per net hop, :data:`NET_HOP_NS` and a fanout term
(:data:`NET_FANOUT_NS` per doubling of the sink count). A path's estimate is the clock-to-out
of its start, the cells and nets on the way and the endpoint's setup time, against the
spec's clock period (``clock.fabric_mhz``). Nets of very high fanout (a bank select driving
thousands of LUTRAM address pins) are reported separately: Vivado can replicate them, but the
RTL should not need it (goal: no net other than clock/reset above :data:`MAX_FANOUT`).

The report of one configuration is cached (``cache_dir("timing", <key>)``; the key hashes
the estimate's key, this module's version and the delay table), so a warm call reads one
small JSON file.

    from accel.overlays.timing import timing_report
    r = timing_report("z2_default")     # TimingReport; r.ok, r.worst_ns, r.paths[0].cells
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.errors import BackendError
from accel.overlays.build import cached_entry_at, content_key
from accel.overlays.spec import Spec, load_spec
from accel.overlays.tools import cache_dir

# Bump when the analysis below changes (invalidates cached reports).
TIMING_VERSION = "1"
REPORT_FILE = "timing.json"
KEEP_REPORTS = 16
MAX_FANOUT = 512  # the goal: no non-clock/reset net drives more sink pins than this
TOP_PATHS = 8  # distinct path groups reported per configuration
TOP_NETS = 8  # highest-fanout nets reported per configuration
LABEL = "timing PROXY (yosys netlist + published cell delays; not Vivado timing closure)"

# Per-cell delays in ns for the 7-series fabric (PYNQ-Z2's XC7Z020). Source: the prjxray
# timing database (Artix-7 slow corner) as yosys's Xilinx cell models carry it in their
# ``specify`` blocks (yosys ``techlibs/xilinx/cells_sim.v``, which cites the prjxray-db SDF
# lines, e.g. ``artix7/timings/CLBLL_L.sdf`` and ``CLBLM_R.sdf``). A LUT's delay depends on
# the pin (LUT6: 0.127 ns on I5 .. 0.642 ns on I0) and the placer puts critical signals on fast
# pins, so the proxy takes the mean of the six LUT6 pins; other cells their slowest input.
# DSP48E1 figures are the same file's ``\\P.arrival``/``\\A.required`` tables; RAMB figures
# its ``RAMB18E1``/``RAMB36E1`` blocks.
XC7_DELAYS: dict[str, float] = {
    "ff_clk_q": 0.303,  # FDRE/FDSE/FDCE/FDPE C -> Q
    "ff_setup_d": 0.0,  # D setup (the database's -46 ps, clamped to 0 as yosys does)
    "ff_setup_ce": 0.109,
    "ff_setup_sr": 0.404,  # R / S / CLR / PRE
    "lut": 0.420,  # LUT6 -> O, the mean of I0..I5 (642, 631, 472, 407, 238, 127 ps)
    "muxf7": 0.296,  # S -> O
    "muxf8": 0.273,  # S -> O
    "carry_ci_co": 0.114,  # CARRY4 CI -> CO[3]: the ripple between carry blocks
    "carry_ci_o": 0.313,  # CARRY4 CI -> O[k] / CO[k<3]
    "carry_in": 0.414,  # CARRY4 S/DI -> CO[3] beyond the CI -> CO[3] ripple (0.528 - 0.114)
    "lutram_read": 0.642,  # RAM64M / RAM32M / RAMxxX1D ADDR -> DO (asynchronous read)
    "lutram_clk_o": 1.163,  # WCLK -> DO (write-through)
    "lutram_setup_we": 0.654,
    "lutram_setup_d": 0.461,
    "lutram_setup_a": 0.362,
    "srl_clk_q": 1.472,  # SRL16E / SRLC32E CLK -> Q
    "srl_read": 0.642,  # A -> Q
    "srl_setup_d": 0.173,
    "bram_clk_do": 2.454,  # RAMB18E1/RAMB36E1 CLK -> DO without the output register
    "bram_clk_do_reg": 0.882,  # ... with DO_REG = 1
    "bram_setup_addr": 0.566,
    "bram_setup_we": 0.532,
    "bram_setup_di": 0.737,
    "dsp_clk_p": 0.329,  # DSP48E1 CLK -> P with PREG = 1
    "dsp_clk_pcout": 0.435,
    "dsp_mreg_p": 1.671,  # M register -> P, PREG = 0
    "dsp_creg_p": 1.687,  # C register -> P, PREG = 0
    "dsp_abreg_p": 2.952,  # A/B register -> P through the multiplier, MREG = PREG = 0
    "dsp_c_p": 1.244,  # C (no CREG) -> P register / P
    "dsp_pcin_p": 1.025,
    "dsp_ab_p": 2.739,  # A/B (no AREG/BREG, no MREG) -> P
    "dsp_ab_m": 1.416,  # A/B (no AREG/BREG) -> M register
    "dsp_setup_ab": 0.324,  # into AREG/BREG
    "dsp_setup_c": 0.168,  # into CREG
}
# UltraScale+ (KV260's K26): yosys's models carry no timing for its cells (CARRY8, RAM64M8,
# RAMB36E2, DSP48E2). The proxy uses the 7-series table scaled by this factor: an ASSUMPTION
# standing in for the DS925 switching characteristics of the -2LV part (its 16 nm fabric is
# markedly faster), not a datasheet figure; the KV260 numbers are the coarser of the two.
XCUP_SCALE = 0.6
# Routing, per net hop: 0.25-0.5 ns is what routed 7-series nets of low fanout typically cost
# (Vivado timing reports); the proxy takes the middle, plus a fanout term per doubling of the
# sink count (a net of fanout 4,096 adds 0.72 ns).
NET_HOP_NS = 0.35
NET_FANOUT_NS = 0.06

FF_TYPES = frozenset({"FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"})
FF_SR_PORTS = frozenset({"R", "S", "CLR", "PRE"})
CLOCK_PORTS = frozenset({"CLK", "WCLK", "CLKARDCLK", "CLKBWRCLK"})  # and a flip-flop's C / a latch's G
FF_CLOCK_PORTS = frozenset({"C", "G"})
SRL_TYPES = frozenset({"SRL16E", "SRLC16E", "SRLC32E"})
BRAM_PREFIXES = ("RAMB18", "RAMB36", "FIFO18", "FIFO36")
DSP_TYPES = frozenset({"DSP48E1", "DSP48E2"})
CARRY_TYPES = frozenset({"CARRY4", "CARRY8"})
MUXF_TYPES = {"MUXF7": "muxf7", "MUXF8": "muxf8", "MUXF9": "muxf8"}
CONST_TYPES = frozenset({"GND", "VCC"})
PASS_TYPES = frozenset({"BUFG", "BUFGCTRL", "BUFG_PS", "IBUF", "OBUF", "INV"})


@dataclass
class PathStep:
    """One cell on a path: its type, name and source line (where yosys kept one)."""

    cell: str
    type: str
    src: str
    at_ns: float  # arrival at this cell's output


@dataclass
class TimingPath:
    """The worst path into one endpoint."""

    delay_ns: float
    levels: int  # combinational cells between start and end
    start: str
    start_type: str
    start_src: str
    end: str
    end_type: str
    end_pin: str
    end_src: str
    cells: list[PathStep] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return [s.type for s in self.cells]


@dataclass
class FanoutNet:
    """A net and the number of cell input pins it drives."""

    name: str
    fanout: int
    driver: str
    driver_type: str
    src: str  # the driver's source line
    sink_src: str = ""  # a source line of the cells it drives (the driver may be yosys-made)


@dataclass
class TimingReport:
    """One configuration's proxy report against its clock period."""

    spec: str
    family: str
    fabric_mhz: float
    budget_ns: float
    paths: list[TimingPath]
    nets: list[FanoutNet]
    max_levels: int
    max_fanout: int  # of nets other than clock/reset
    endpoints: int
    cached: bool = False
    label: str = LABEL

    @property
    def worst_ns(self) -> float:
        return self.paths[0].delay_ns if self.paths else 0.0

    @property
    def problems(self) -> list[str]:
        """What misses the goal: paths over the budget, nets over :data:`MAX_FANOUT`."""
        out = []
        if self.worst_ns > self.budget_ns:
            over = [p for p in self.paths if p.delay_ns > self.budget_ns]
            out.append(
                f"{len(over)} path group(s) over the {self.budget_ns:g} ns budget "
                f"(worst {self.worst_ns:.2f} ns, {self.paths[0].start} -> {self.paths[0].end})"
            )
        if self.max_fanout > MAX_FANOUT:
            big = [n for n in self.nets if n.fanout > MAX_FANOUT]
            out.append(f"net(s) over fanout {MAX_FANOUT}: " + ", ".join(f"{n.name} ({n.fanout:,})" for n in big))
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["worst_ns"] = round(self.worst_ns, 3)
        d["ok"] = self.ok
        d["problems"] = self.problems
        return d


def delay_table(family: str) -> dict[str, float]:
    """The per-cell delays (ns) the proxy uses for a yosys family (``xc7`` or ``xcup``)."""
    scale = XCUP_SCALE if family == "xcup" else 1.0
    return {k: round(v * scale, 4) for k, v in XC7_DELAYS.items()}


def net_delay(fanout: int, family: str) -> float:
    """The proxy's delay of one net hop (ns) driving ``fanout`` input pins."""
    scale = XCUP_SCALE if family == "xcup" else 1.0
    return scale * (NET_HOP_NS + NET_FANOUT_NS * math.log2(max(1, fanout)))


def timing_report(spec: str | Spec, *, use_cache: bool = True, progress: bool = True) -> TimingReport:
    """The proxy report of ``spec``: its estimate's netlist (synthesised first if needed), analysed
    once and cached next to the estimate."""
    from accel.overlays.estimate import NETLIST_FILE, estimate

    spec = load_spec(spec)
    est = estimate(spec, use_cache=use_cache, progress=progress)
    netlist = cache_dir("yosys") / est.key / NETLIST_FILE
    key = content_key(
        f"timing-proxy-{TIMING_VERSION}",
        flags={
            "estimate": est.key,
            "family": est.family,
            "mhz": spec.fabric_mhz,
            "table": XC7_DELAYS,
            "net": [NET_HOP_NS, NET_FANOUT_NS, XCUP_SCALE],
            "top": [TOP_PATHS, TOP_NETS],
        },
    )[:32]
    ran: list[bool] = []

    def build(tmp: Path, log: Path) -> dict[str, Any]:
        report = analyze_netlist(netlist, spec.name, est.family, float(spec.fabric_mhz))
        (tmp / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=1))
        ran.append(True)
        return {"spec": spec.name, "estimate": est.key}

    entry = cached_entry_at(
        cache_dir("timing"), key, build, keep=KEEP_REPORTS, artifacts=(REPORT_FILE,), rebuild=not use_cache
    )
    try:
        return report_from_dict(json.loads((entry / REPORT_FILE).read_text()), cached=not ran)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendError(
            f"the cached timing report {entry / REPORT_FILE} is unreadable ({exc}); delete {entry}"
        ) from exc


def report_from_dict(d: Mapping[str, Any], *, cached: bool = False) -> TimingReport:
    """A :class:`TimingReport` from its :meth:`~TimingReport.to_dict` form."""
    paths = [
        TimingPath(**{**p, "cells": [PathStep(**s) for s in p["cells"]]}) for p in d["paths"]
    ]
    return TimingReport(
        spec=d["spec"],
        family=d["family"],
        fabric_mhz=float(d["fabric_mhz"]),
        budget_ns=float(d["budget_ns"]),
        paths=paths,
        nets=[FanoutNet(**n) for n in d["nets"]],
        max_levels=int(d["max_levels"]),
        max_fanout=int(d["max_fanout"]),
        endpoints=int(d["endpoints"]),
        cached=cached,
    )


def load_netlist(path: Path) -> dict[str, Any]:
    """The top module of a yosys JSON netlist (gzip'd or not); a flattened design has one module
    with cells."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read the netlist {path}: {exc}; run accel-run estimate --no-cache") from exc
    modules = doc.get("modules", {})
    tops = [m for m in modules.values() if str(m.get("attributes", {}).get("top", "0")).strip("0") != ""]
    top = tops[0] if tops else max(modules.values(), key=lambda m: len(m.get("cells", {})), default=None)
    if top is None:
        raise BackendError(f"the netlist {path} has no modules")
    return top


def analyze_netlist(path: Path, spec_name: str, family: str, fabric_mhz: float) -> TimingReport:
    """Analyse one mapped netlist (see the module docstring) against a ``fabric_mhz`` clock."""
    return _Analysis(load_netlist(path), family).report(spec_name, fabric_mhz)


def _int_param(cell: Mapping[str, Any], name: str, default: int = 0) -> int:
    """A cell parameter as an integer (yosys writes bit strings such as ``"00000000000000000000000000000001"``)."""
    value = cell.get("parameters", {}).get(name)
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text and set(text) <= {"0", "1"}:
        return int(text, 2)
    try:
        return int(text)
    except ValueError:
        return default


def _str_param(cell: Mapping[str, Any], name: str, default: str) -> str:
    value = cell.get("parameters", {}).get(name)
    if value is None:
        return default
    text = str(value).strip()
    if text and set(text) <= {"0", "1"} and len(text) % 8 == 0:  # a string parameter written as bits
        raw = int(text, 2).to_bytes(len(text) // 8, "big")
        return raw.decode(errors="replace").strip()
    return text


def _short_src(src: str) -> str:
    """``rtl/mac_array.v:160.9-160.40|...`` -> ``mac_array.v:160``: the first location in the
    design's RTL (yosys's own techmap files, ``*_map.v`` / ``cells_*.v``, say nothing)."""
    for loc in src.split("|"):
        name, _, pos = loc.rpartition(":")
        name = name.rsplit("/", 1)[-1]
        if name and not name.endswith("_map.v") and not name.startswith("cells_"):
            return f"{name}:{pos.split('.')[0]}"
    return ""


class _Analysis:
    """The netlist as a graph of net bits and per-cell delay arcs, and its longest paths."""

    def __init__(self, top: Mapping[str, Any], family: str) -> None:
        self.family = family
        self.d = delay_table(family)
        self.cells: dict[str, Mapping[str, Any]] = top.get("cells", {})
        self.names = self._bit_names(top)
        self.fanout: dict[int, int] = defaultdict(int)
        self.driver: dict[int, tuple[str, str]] = {}
        self.clock_bits: set[int] = set()
        self.sr_pins: dict[int, int] = defaultdict(int)
        self.sink_src: dict[int, str] = {}
        # arcs: (cell, input bits, output bits, delay, counts as a logic level, the cell types whose
        # outputs reach these inputs on dedicated wires, without a net hop)
        self.arcs: list[tuple[str, list[int], list[int], float, bool, tuple[str, ...]]] = []
        self.starts: dict[int, tuple[float, str]] = {}  # bit -> (clock-to-out, cell)
        self.ends: list[tuple[int, float, str, str]] = []  # (bit, setup, cell, pin)
        self.unknown: set[str] = set()
        for port in top.get("ports", {}).values():  # module inputs start, outputs end (0 ns)
            for b in port.get("bits", []):
                if isinstance(b, int):
                    if port.get("direction") == "input":
                        self.starts.setdefault(b, (0.0, ""))
                    else:
                        self.ends.append((b, 0.0, "", "port"))
        for name, cell in self.cells.items():
            self._cell(name, cell)

    @staticmethod
    def _bit_names(top: Mapping[str, Any]) -> dict[int, str]:
        """A readable name per bit: the shortest public net name (``mac_inst.bank3_reg``)."""
        names: dict[int, str] = {}
        for name, net in top.get("netnames", {}).items():
            hidden = bool(net.get("hide_name")) or name.startswith("$")
            bits = net.get("bits", [])
            for i, b in enumerate(bits):
                if not isinstance(b, int):
                    continue
                label = name if len(bits) == 1 else f"{name}[{i}]"
                old = names.get(b)
                key = (hidden, len(label))
                if old is None or key < (old.startswith("$"), len(old)):
                    names[b] = ("$" + label) if hidden and not label.startswith("$") else label
        return names

    def _pins(self, cell: Mapping[str, Any]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        ins: dict[str, list[int]] = {}
        outs: dict[str, list[int]] = {}
        dirs = cell.get("port_directions", {})
        for port, bits in cell.get("connections", {}).items():
            ints = [b for b in bits if isinstance(b, int)]
            (outs if dirs.get(port) == "output" else ins)[port] = ints
        return ins, outs

    def _cell(self, name: str, cell: Mapping[str, Any]) -> None:
        t = str(cell.get("type", ""))
        ins, outs = self._pins(cell)
        src = _short_src(str(cell.get("attributes", {}).get("src", "")))
        for bits in outs.values():
            for b in bits:
                self.driver[b] = (name, t)
        clocks = CLOCK_PORTS | FF_CLOCK_PORTS if t in FF_TYPES else CLOCK_PORTS
        for port, bits in ins.items():
            for b in bits:
                if port in clocks:
                    self.clock_bits.add(b)
                    continue
                self.fanout[b] += 1
                if src and b not in self.sink_src:
                    self.sink_src[b] = src
                if t in FF_TYPES and port in FF_SR_PORTS:
                    self.sr_pins[b] += 1
        d = self.d
        data_ins = {p: bs for p, bs in ins.items() if p not in clocks}
        if t in FF_TYPES:
            for b in outs.get("Q", []):
                self.starts[b] = (d["ff_clk_q"], name)
            for p, bs in data_ins.items():
                setup = d["ff_setup_d"] if p == "D" else d["ff_setup_ce"] if p == "CE" else d["ff_setup_sr"]
                self.ends.extend((b, setup, name, p) for b in bs)
        elif t.startswith("LUT") or t in PASS_TYPES:
            delay = d["lut"] if t.startswith("LUT") else 0.0
            self._arc(name, [b for bs in data_ins.values() for b in bs], outs.get("O", []), delay, delay > 0)
        elif t in MUXF_TYPES:  # data inputs come from the slice's own LUTs / F7 muxes
            data = [b for p, bs in data_ins.items() if p != "S" for b in bs]
            self._arc(name, data, outs.get("O", []), d[MUXF_TYPES[t]], True, dedicated=("LUT", "MUXF"))
            self._arc(name, data_ins.get("S", []), outs.get("O", []), d[MUXF_TYPES[t]], True)
        elif t in CARRY_TYPES:
            self._carry(name, data_ins, outs)
        elif t in SRL_TYPES:
            self._srl(name, data_ins, outs)
        elif t.startswith("RAM") and not t.startswith(BRAM_PREFIXES):
            self._lutram(name, data_ins, outs)
        elif t.startswith(BRAM_PREFIXES):
            self._bram(name, cell, data_ins, outs)
        elif t in DSP_TYPES:
            self._dsp(name, cell, data_ins, outs)
        elif t in CONST_TYPES:
            pass
        else:
            self.unknown.add(t)
            self._arc(name, [b for bs in data_ins.values() for b in bs], [b for bs in outs.values() for b in bs],
                      d["lut"], True)

    def _arc(
        self, cell: str, src: list[int], dst: list[int], delay: float, level: bool, *,
        dedicated: tuple[str, ...] = (),
    ) -> None:
        """Record that ``dst`` settles ``delay`` after the latest of ``src``; inputs driven by a
        cell whose type starts with one of ``dedicated`` arrive on dedicated wires (carry chain,
        F7/F8 muxes, DSP cascade) and cost no net delay."""
        if dst:
            self.arcs.append((cell, src, dst, delay, level, dedicated))

    def _carry(self, name: str, ins: Mapping[str, list[int]], outs: Mapping[str, list[int]]) -> None:
        d = self.d
        ci = ins.get("CI", [])
        side = [b for p, bs in ins.items() if p not in ("CI", "CI_TOP") for b in bs]
        co = outs.get("CO", [])
        rest = [b for p, bs in outs.items() for b in bs if not (p == "CO" and co and b == co[-1])]
        # CI ripples to the top carry out fast; S/DI enter the chain first
        self._arc(name, ci, co[-1:], d["carry_ci_co"], True, dedicated=("CARRY",))
        self._arc(name, side, co[-1:], d["carry_in"] + d["carry_ci_co"], True)
        self._arc(name, ci, rest, d["carry_ci_o"], True, dedicated=("CARRY",))
        self._arc(name, side, rest, d["carry_in"] + d["carry_ci_o"], True)

    def _srl(self, name: str, ins: Mapping[str, list[int]], outs: Mapping[str, list[int]]) -> None:
        d = self.d
        addr = [b for p, bs in ins.items() if p.startswith("A") for b in bs]
        for p, bs in outs.items():
            for b in bs:
                self.starts[b] = (d["srl_clk_q"], name)
            if p == "Q":
                self._arc(name, addr, bs, d["srl_read"], True)
        for p, bs in ins.items():
            if not p.startswith("A"):
                self.ends.extend((b, d["srl_setup_d"], name, p) for b in bs)

    def _lutram(self, name: str, ins: Mapping[str, list[int]], outs: Mapping[str, list[int]]) -> None:
        """Distributed RAM: asynchronous read (address -> data out), synchronous write (endpoints).

        RAMxxM: port DOx reads at ADDRx, the last address port is the write address;
        RAMxxX1D: SPO reads at A (the write address), DPO at DPRA; RAMxxX1S: O reads at A."""
        d = self.d
        addr_ports = sorted(p for p in ins if p.startswith("ADDR"))
        write_addr = addr_ports[-1:] or [p for p in ins if p.startswith("A")]
        for p, bs in outs.items():
            if p.startswith("DO"):
                src = ins.get("ADDR" + p[2:], [])
            elif p == "DPO":
                src = [b for q, cs in ins.items() if q.startswith("DPRA") for b in cs]
            else:  # SPO, O
                src = [b for q, cs in ins.items() if q.startswith("A") and not q.startswith("ADDR") for b in cs]
            self._arc(name, src, bs, d["lutram_read"], True)
            for b in bs:
                self.starts.setdefault(b, (d["lutram_clk_o"], name))  # write-through from the clock edge
        for p, bs in ins.items():
            if p == "WE":
                setup = d["lutram_setup_we"]
            elif p.startswith("DPRA"):
                continue  # the second read port's address
            elif p.startswith("D"):
                setup = d["lutram_setup_d"]
            elif p in write_addr or (p.startswith("A") and not p.startswith("ADDR")):
                setup = d["lutram_setup_a"]
            else:
                continue  # read-only address ports are not endpoints
            self.ends.extend((b, setup, name, p) for b in bs)

    def _bram(
        self, name: str, cell: Mapping[str, Any], ins: Mapping[str, list[int]], outs: Mapping[str, list[int]]
    ) -> None:
        d = self.d
        for p, bs in outs.items():
            if p.startswith(("DOA", "DOPA", "DOUTA", "DOUTPA")):
                reg = _int_param(cell, "DOA_REG")
            elif p.startswith(("DOB", "DOPB", "DOUTB", "DOUTPB")):
                reg = _int_param(cell, "DOB_REG")
            else:
                reg = 0
            for b in bs:
                self.starts[b] = (d["bram_clk_do_reg"] if reg else d["bram_clk_do"], name)
        for p, bs in ins.items():
            setup = (d["bram_setup_di"] if p.startswith("DI") else d["bram_setup_we"] if p.startswith("WE")
                     else d["bram_setup_addr"])
            self.ends.extend((b, setup, name, p) for b in bs)

    def _dsp(
        self, name: str, cell: Mapping[str, Any], ins: Mapping[str, list[int]], outs: Mapping[str, list[int]]
    ) -> None:
        """A DSP48 as its register parameters make it: inputs into a register are endpoints,
        a registered P starts paths, an unregistered P is combinational from what feeds it."""
        d = self.d
        areg, breg, creg = (_int_param(cell, n, 1) for n in ("AREG", "BREG", "CREG"))
        mreg, preg = _int_param(cell, "MREG", 1), _int_param(cell, "PREG", 1)
        mult = _str_param(cell, "USE_MULT", "MULTIPLY") != "NONE"
        p_out = [b for p, bs in outs.items() if p in ("P", "PCOUT", "CARRYOUT", "CARRYCASCOUT") for b in bs]
        other_out = [b for p, bs in outs.items() if p not in ("P", "PCOUT", "CARRYOUT", "CARRYCASCOUT") for b in bs]
        for b in other_out:  # ACOUT/BCOUT/PATTERNDETECT...: treated as registered
            self.starts[b] = (d["dsp_clk_p"], name)
        a_b = [b for p, bs in ins.items() if p in ("A", "B", "D") for b in bs]
        c = ins.get("C", [])
        cascade = [b for p, bs in ins.items() if p in ("PCIN", "ACIN", "BCIN", "CARRYCASCIN") for b in bs]
        # clock enables and resets of the internal registers: endpoints; mode inputs: like C
        enables = [b for p, bs in ins.items() if p.startswith(("CE", "RST")) for b in bs]
        self.ends.extend((b, d["ff_setup_ce"], name, "CE/RST") for b in enables)
        data_ports = ("A", "B", "D", "C", "PCIN", "ACIN", "BCIN", "CARRYCASCIN")
        ctrl = [b for p, bs in ins.items() if p not in data_ports and not p.startswith(("CE", "RST")) for b in bs]
        if preg:
            for b in p_out:
                self.starts[b] = (d["dsp_clk_p"], name)
        else:
            launch = (d["dsp_mreg_p"] if mreg else d["dsp_creg_p"] if creg
                      else d["dsp_abreg_p"] if (areg or breg) else 0.0)
            for b in p_out:
                if launch:
                    self.starts[b] = (launch, name)
        # A/B(/D)
        if areg or breg:
            self.ends.extend((b, d["dsp_setup_ab"], name, "AB") for b in a_b)
        elif mult and mreg:
            self.ends.extend((b, d["dsp_ab_m"], name, "AB") for b in a_b)
        elif preg:
            self.ends.extend((b, d["dsp_ab_p"], name, "AB") for b in a_b)
        else:
            self._arc(name, a_b, p_out, d["dsp_ab_p"], True)
        # C and the cascade
        if creg:
            self.ends.extend((b, d["dsp_setup_c"], name, "C") for b in c)
        elif preg:
            self.ends.extend((b, d["dsp_c_p"], name, "C") for b in c)
        else:
            self._arc(name, c, p_out, d["dsp_c_p"], True)
        if preg:
            self.ends.extend((b, d["dsp_pcin_p"], name, "PCIN") for b in cascade)
            self.ends.extend((b, d["dsp_setup_c"], name, "CTRL") for b in ctrl)
        else:
            self._arc(name, cascade, p_out, d["dsp_pcin_p"], True, dedicated=("DSP",))
            self._arc(name, ctrl, p_out, d["dsp_c_p"], True)

    # --- analysis -------------------------------------------------------------------------

    def net(self, bit: int) -> float:
        return net_delay(self.fanout.get(bit, 1), self.family)

    def longest(self) -> tuple[dict[int, float], dict[int, tuple[int, int]]]:
        """Arrival time per bit (start points at their clock-to-out) and, per bit driven through an
        arc, the arc and input bit its worst arrival came through. Arcs are processed in
        topological order (a bit once every arc driving it is done); a combinational loop (none
        expected) would leave its bits unreached."""
        by_input: dict[int, list[int]] = defaultdict(list)
        drivers_left: dict[int, int] = defaultdict(int)
        arcs_left = []
        for i, (_, src, dst, _, _, _) in enumerate(self.arcs):
            ins = set(src)
            arcs_left.append(len(ins))
            for b in ins:
                by_input[b].append(i)
            if ins:  # an arc from constants only carries no timing
                for b in dst:
                    drivers_left[b] += 1
        arrival: dict[int, float] = {b: t for b, (t, _) in self.starts.items()}
        came: dict[int, tuple[int, int]] = {}
        arc_best: list[tuple[float, int]] = [(-1.0, -1)] * len(self.arcs)
        stack = [b for b in set(by_input) | set(self.starts) if drivers_left.get(b, 0) == 0]
        while stack:
            b = stack.pop()
            t0 = arrival.setdefault(b, 0.0)
            for i in by_input.get(b, ()):
                ded = self.arcs[i][5]
                t = t0 if ded and self.driver.get(b, ("", ""))[1].startswith(ded) else t0 + self.net(b)
                if t > arc_best[i][0]:
                    arc_best[i] = (t, b)
                arcs_left[i] -= 1
                if arcs_left[i]:
                    continue
                out_t = arc_best[i][0] + self.arcs[i][3]
                for o in self.arcs[i][2]:
                    if out_t > arrival.get(o, -1.0):
                        arrival[o] = out_t
                        came[o] = (i, arc_best[i][1])
                    drivers_left[o] -= 1
                    if drivers_left[o] == 0:
                        stack.append(o)
        return arrival, came

    def _trace(
        self, bit: int, came: Mapping[int, tuple[int, int]], arrival: Mapping[int, float]
    ) -> tuple[list[PathStep], int, int]:
        """The cells of the worst path into ``bit``, its logic levels and its start bit."""
        steps: list[PathStep] = []
        levels = 0
        while bit in came:
            i, src = came[bit]
            cell, _, _, _, level, _ = self.arcs[i]
            c = self.cells.get(cell, {})
            steps.append(PathStep(cell, str(c.get("type", "")), _short_src(str(c.get("attributes", {}).get("src", ""))),
                                  round(arrival.get(bit, 0.0), 3)))
            levels += int(level)
            bit = src
        steps.reverse()
        return steps, levels, bit

    def _levels(self, came: Mapping[int, tuple[int, int]]) -> dict[int, int]:
        """Logic levels along the worst path into every bit (memoised walk back)."""
        depth: dict[int, int] = {}
        for bit in came:
            chain = []
            b = bit
            while b in came and b not in depth:
                chain.append(b)
                b = came[b][1]
            base = depth.get(b, 0)
            for c in reversed(chain):
                base += int(self.arcs[came[c][0]][4])
                depth[c] = base
        return depth

    def _is_reset(self, bit: int) -> bool:
        return self.sr_pins.get(bit, 0) * 2 >= self.fanout.get(bit, 0) > 0

    def report(
        self, spec_name: str, fabric_mhz: float, top: int = TOP_PATHS, top_nets: int = TOP_NETS
    ) -> TimingReport:
        arrival, came = self.longest()
        budget = 1000.0 / fabric_mhz
        scored = []
        for bit, setup, cell, pin in self.ends:
            if bit in self.clock_bits or bit not in arrival:
                continue
            if not cell and bit not in came and bit in self.starts and not self.starts[bit][1]:
                continue  # a module input wired straight to an output
            scored.append((arrival[bit] + self.net(bit) + setup, bit, cell, pin))
        paths: list[TimingPath] = []
        groups: set[tuple[str, str]] = set()
        max_levels = 0
        for delay, bit, cell, pin in heapq.nlargest(max(64 * top, 2000), scored):
            steps, levels, start_bit = self._trace(bit, came, arrival)
            max_levels = max(max_levels, levels)
            start_cell = self.starts.get(start_bit, (0.0, ""))[1]
            sc = self.cells.get(start_cell, {})
            ec = self.cells.get(cell, {})
            start_src = _short_src(str(sc.get("attributes", {}).get("src", "")))
            end_src = _short_src(str(ec.get("attributes", {}).get("src", "")))
            group = (start_src or self.names.get(start_bit, "?"), end_src or cell)
            if group in groups or len(paths) >= top:
                continue
            groups.add(group)
            paths.append(TimingPath(
                delay_ns=round(delay, 3), levels=levels,
                start=start_cell or f"port {self.names.get(start_bit, start_bit)}",
                start_type=str(sc.get("type", "port")), start_src=start_src,
                end=cell or f"port {self.names.get(bit, bit)}", end_type=str(ec.get("type", "port")), end_pin=pin,
                end_src=end_src, cells=steps,
            ))
        depth = self._levels(came)
        max_levels = max([max_levels] + [depth.get(b, 0) for _, b, _, _ in scored])
        nets = []
        data_nets = [(n, b) for b, n in self.fanout.items() if b not in self.clock_bits and not self._is_reset(b)]
        for fo, b in heapq.nlargest(top_nets, data_nets):
            drv, drv_t = self.driver.get(b, ("(module input)", "port"))
            src = _short_src(str(self.cells.get(drv, {}).get("attributes", {}).get("src", "")))
            nets.append(FanoutNet(self.names.get(b, str(b)), fo, drv, drv_t, src, self.sink_src.get(b, "")))
        return TimingReport(
            spec=spec_name, family=self.family, fabric_mhz=fabric_mhz, budget_ns=round(budget, 3), paths=paths,
            nets=nets, max_levels=max_levels, max_fanout=nets[0].fanout if nets else 0, endpoints=len(scored),
        )


def timing_reports(names: Iterable[str], *, use_cache: bool = True) -> list[TimingReport]:
    """The proxy report of several specs (their estimates run in parallel when cold)."""
    from accel.overlays.estimate import estimate_many

    names = list(names)
    estimate_many(names, use_cache=use_cache)  # cold syntheses in parallel; the reports then hit
    return [timing_report(n) for n in names]


def format_report(reports: Iterable[TimingReport]) -> str:
    """Plain text: per configuration the budget, the worst path groups and the highest fanouts."""
    lines = [LABEL.upper()]
    for r in reports:
        verdict = "meets the proxy goal" if r.ok else "MISSES the proxy goal"
        lines.append("")
        lines.append(
            f"{r.spec} ({r.family}, {r.fabric_mhz:g} MHz, budget {r.budget_ns:g} ns): worst {r.worst_ns:.2f} ns, "
            f"max {r.max_levels} logic levels, max data-net fanout {r.max_fanout:,} -> {verdict}"
            f"{' (cached)' if r.cached else ''}"
        )
        for p in r.paths:
            mark = "!" if p.delay_ns > r.budget_ns else " "
            lines.append(
                f" {mark}{p.delay_ns:6.2f} ns {p.levels:2d} lv  {p.start_type} {p.start_src or p.start} -> "
                f"{p.end_type}.{p.end_pin} {p.end_src or p.end}"
            )
            if p.cells:
                lines.append("            via " + " > ".join(
                    f"{s.type}{'@' + s.src if s.src else ''}" for s in p.cells))
        lines.append("  highest-fanout nets (clock and reset excluded):")
        for n in r.nets:
            mark = "!" if n.fanout > MAX_FANOUT else " "
            lines.append(f"  {mark}{n.fanout:7,}  {n.name}  (driver {n.driver_type}{' @' + n.src if n.src else ''}"
                         f"{', sinks e.g. @' + n.sink_src if n.sink_src else ''})")
        for problem in r.problems:
            lines.append(f"  problem: {problem}")
    return "\n".join(lines)
