"""The timing proxy (accel.overlays.timing) on small hand-made yosys netlists: path delays from
the delay table, logic levels, dedicated carry routing, DSP registers, LUTRAM read arcs, the
fanout check, the cached report and the ``estimate --timing`` command's checks."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from accel.overlays import timing
from accel.overlays.timing import (
    MAX_FANOUT,
    NET_FANOUT_NS,
    NET_HOP_NS,
    XC7_DELAYS,
    XCUP_SCALE,
    analyze_netlist,
    report_from_dict,
)


class Netlist:
    """A flattened yosys JSON netlist built cell by cell (bits are fresh integers)."""

    def __init__(self) -> None:
        self.next_bit = 2
        self.cells: dict[str, dict] = {}
        self.ports = {"clk": {"direction": "input", "bits": [self.bit()]}}
        self.netnames: dict[str, dict] = {}

    def bit(self) -> int:
        self.next_bit += 1
        return self.next_bit

    def cell(self, name: str, type_: str, ins: dict, outs: dict, params: dict | None = None,
             src: str = "") -> None:
        conns = {**{p: list(b) for p, b in ins.items()}, **{p: list(b) for p, b in outs.items()}}
        dirs = {**{p: "input" for p in ins}, **{p: "output" for p in outs}}
        self.cells[name] = {
            "type": type_, "parameters": params or {}, "attributes": {"src": src} if src else {},
            "port_directions": dirs, "connections": conns,
        }

    def ff(self, name: str, d: int, src: str = "") -> int:
        q = self.bit()
        self.cell(name, "FDRE", {"C": self.ports["clk"]["bits"], "D": [d], "CE": ["1"], "R": ["0"]}, {"Q": [q]},
                  src=src)
        self.netnames[name] = {"bits": [q], "hide_name": 0}
        return q

    def lut(self, name: str, *inputs: int) -> int:
        o = self.bit()
        self.cell(name, f"LUT{len(inputs)}", {f"I{i}": [b] for i, b in enumerate(inputs)}, {"O": [o]})
        return o

    def write(self, path: Path) -> Path:
        doc = {"modules": {"top": {"attributes": {"top": "00000000000000000000000000000001"}, "ports": self.ports,
                                   "cells": self.cells, "netnames": self.netnames}}}
        with gzip.open(path, "wt") as fh:
            json.dump(doc, fh)
        return path


def net(fanout: int = 1) -> float:
    return NET_HOP_NS + NET_FANOUT_NS * math.log2(fanout)


def test_ff_lut_lut_ff_path(tmp_path):
    """clock-to-out + two LUTs + three nets + setup, two levels, named start and end."""
    n = Netlist()
    src = n.bit()
    a = n.ff("a_reg", src, src="rtl/x.v:10.1-10.9")
    b = n.ff("b_reg", src)
    x = n.lut("l1", a, b)
    y = n.lut("l2", x, a)
    n.ff("c_reg", y, src="rtl/x.v:20.1-20.9")
    r = analyze_netlist(n.write(tmp_path / "n.json.gz"), "t", "xc7", 100.0)
    p = r.paths[0]
    want = XC7_DELAYS["ff_clk_q"] + net(2) + XC7_DELAYS["lut"] + net(1) + XC7_DELAYS["lut"] + net(1)
    assert p.delay_ns == pytest.approx(want, abs=1e-3)
    assert (p.levels, p.types, p.start, p.end, p.end_pin) == (2, ["LUT2", "LUT2"], "a_reg", "c_reg", "D")
    assert (p.start_src, p.end_src) == ("x.v:10", "x.v:20")
    assert r.max_levels == 2 and r.budget_ns == 10.0 and r.ok


def test_budget_and_ultrascale_scale(tmp_path):
    """A chain of 14 LUTs misses 10 ns on the 7-series table; the xcup table is scaled."""
    n = Netlist()
    x = n.ff("a_reg", n.bit())
    for i in range(14):
        x = n.lut(f"l{i}", x)
    n.ff("z_reg", x)
    path = n.write(tmp_path / "n.json.gz")
    r7 = analyze_netlist(path, "t", "xc7", 100.0)
    want = XC7_DELAYS["ff_clk_q"] + 14 * XC7_DELAYS["lut"] + 15 * net(1)
    assert r7.worst_ns == pytest.approx(want, abs=1e-3)
    assert r7.max_levels == 14 and not r7.ok and "over the 10 ns budget" in r7.problems[0]
    rup = analyze_netlist(path, "t", "xcup", 100.0)
    assert rup.worst_ns == pytest.approx(want * XCUP_SCALE, abs=1e-3)


def test_carry_chain_uses_dedicated_routing(tmp_path):
    """CO[3] -> CI costs no net delay: four CARRY4 in a row add 0.114 ns each, not a net hop."""
    n = Netlist()
    a = n.ff("a_reg", n.bit())
    ci = a
    for i in range(4):
        co = [n.bit() for _ in range(4)]
        o = [n.bit() for _ in range(4)]
        n.cell(f"c{i}", "CARRY4", {"CI": [ci], "CYINIT": ["0"], "DI": ["0"] * 4, "S": ["1"] * 4},
               {"CO": co, "O": o})
        ci = co[3]
    n.ff("z_reg", ci)
    r = analyze_netlist(n.write(tmp_path / "n.json.gz"), "t", "xc7", 100.0)
    # the first CI comes from fabric (a net hop), the other three from the carry below
    want = XC7_DELAYS["ff_clk_q"] + net(1) + 4 * XC7_DELAYS["carry_ci_co"] + net(1)
    assert r.worst_ns == pytest.approx(want, abs=1e-3)
    assert r.paths[0].levels == 4


def test_lutram_read_and_write_endpoints(tmp_path):
    """RAM64M: ADDRA -> DOA is an arc; DIA/WE/ADDRD are endpoints; ADDRA alone is not."""
    n = Netlist()
    addr = [n.ff(f"a{i}", n.bit()) for i in range(6)]
    we = n.ff("we_reg", n.bit())
    do = n.bit()
    n.cell("ram", "RAM64M", {"ADDRA": addr, "ADDRB": addr, "ADDRC": addr, "ADDRD": addr, "DIA": [addr[0]],
                             "DIB": ["0"], "DIC": ["0"], "DID": ["0"], "WE": [we], "WCLK": n.ports["clk"]["bits"]},
           {"DOA": [do], "DOB": [n.bit()], "DOC": [n.bit()], "DOD": [n.bit()]})
    n.ff("q_reg", n.lut("l", do))
    r = analyze_netlist(n.write(tmp_path / "n.json.gz"), "t", "xc7", 100.0)
    p = r.paths[0]
    assert p.types == ["RAM64M", "LUT1"] and p.end == "q_reg"
    # the write-through start (WCLK -> DO) is slower than the address path here
    want = XC7_DELAYS["lutram_clk_o"] + net(1) + XC7_DELAYS["lut"] + net(1)
    assert p.delay_ns >= want - 1e-3


def test_dsp_registers_cut_paths(tmp_path):
    """A DSP48E1 with PREG=1 starts a path at P; with PREG=0 C -> P is combinational."""
    for preg in (1, 0):
        n = Netlist()
        c = n.ff("c_reg", n.bit())
        p_bits = [n.bit() for _ in range(4)]
        n.cell("dsp", "DSP48E1", {"A": ["0"] * 4, "B": ["0"] * 4, "C": [c], "CLK": n.ports["clk"]["bits"]},
               {"P": p_bits}, params={"AREG": 1, "BREG": 1, "CREG": 0, "MREG": 1, "PREG": preg})
        n.ff("s_reg", n.lut("l", p_bits[0]))
        r = analyze_netlist(n.write(tmp_path / f"n{preg}.json.gz"), "t", "xc7", 100.0)
        into_s = next(p for p in r.paths if p.end == "s_reg")
        if preg:  # C is an endpoint (setup to the P register), P starts a path
            assert any(p.end == "dsp" and p.end_pin == "C" and p.start == "c_reg" for p in r.paths)
            assert into_s.start == "dsp" and into_s.types == ["LUT1"]
        else:  # c_reg -> C -> P -> LUT -> s_reg, one path
            assert into_s.start == "c_reg" and into_s.types == ["DSP48E1", "LUT1"]
            assert into_s.delay_ns > XC7_DELAYS["dsp_c_p"] + XC7_DELAYS["lut"]


def test_fanout_check_excludes_clock_and_reset(tmp_path):
    """A data net over MAX_FANOUT is a problem; the same fanout on reset pins is not."""
    n = Netlist()
    sel = n.ff("sel_reg", n.bit())
    rst = n.ff("rst_reg", n.bit())
    for i in range(MAX_FANOUT + 1):
        n.ff(f"d{i}", n.lut(f"m{i}", sel))
        q = n.bit()
        n.cell(f"r{i}", "FDRE", {"C": n.ports["clk"]["bits"], "D": ["0"], "CE": ["1"], "R": [rst]}, {"Q": [q]})
    r = analyze_netlist(n.write(tmp_path / "n.json.gz"), "t", "xc7", 100.0)
    assert r.max_fanout == MAX_FANOUT + 1 and r.nets[0].name == "sel_reg"
    assert all(x.name not in ("rst_reg", "clk") for x in r.nets)
    assert not r.ok and any("fanout" in p for p in r.problems)
    back = report_from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.to_dict() == r.to_dict()


def test_report_is_cached_next_to_the_estimate(tmp_path, monkeypatch):
    """timing_report analyses the estimate's netlist once; the second call reads the cache."""
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    from accel.overlays import estimate as est_mod
    from accel.overlays.tools import cache_dir

    n = Netlist()
    n.ff("z_reg", n.lut("l", n.ff("a_reg", n.bit())))
    entry = cache_dir("yosys", "k" * 32)
    n.write(entry / est_mod.NETLIST_FILE)

    class Fake:
        key = "k" * 32
        family = "xc7"

    monkeypatch.setattr(est_mod, "estimate", lambda *a, **k: Fake())
    calls = []
    real = timing.analyze_netlist
    monkeypatch.setattr(timing, "analyze_netlist", lambda *a: calls.append(a) or real(*a))
    first = timing.timing_report("z2_default", progress=False)
    second = timing.timing_report("z2_default", progress=False)
    assert len(calls) == 1 and not first.cached and second.cached
    assert second.to_dict() == {**first.to_dict(), "cached": True}
    assert second.budget_ns == 10.0 and second.ok


def test_cli_writes_a_stamped_timing_result(tmp_path, monkeypatch):
    """``estimate --timing --result`` writes docs/results/timing.json's format with a current
    stamp; a configuration that misses the goal is recorded (ok false) and the command exits 1."""
    from accel.bench.provenance import stamp_problems
    from accel.cli import _register, cli

    n = Netlist()
    n.ff("z_reg", n.lut("l", n.ff("a_reg", n.bit())))
    good = analyze_netlist(n.write(tmp_path / "good.json.gz"), "z2_default", "xc7", 100.0)
    slow = analyze_netlist(n.write(tmp_path / "slow.json.gz"), "kv260", "xcup", 2000.0)
    assert good.ok and not slow.ok
    monkeypatch.setattr(timing, "timing_reports", lambda names, use_cache=True: [good, slow])
    _register()
    out = tmp_path / "timing.json"
    res = CliRunner().invoke(cli, ["estimate", "--all", "--timing", "--result", str(out)])
    assert res.exit_code == 1 and "kv260 misses the timing proxy's goal" in res.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "pynq-accel/timing-proxy" and doc["stamp"]["kind"] == "timing"
    assert [(r["spec"], r["ok"]) for r in doc["results"]] == [("z2_default", True), ("kv260", False)]
    assert doc["stamp"]["command"] == f"accel-run estimate --all --timing --result {out}"
    assert stamp_problems(doc, out) == []
