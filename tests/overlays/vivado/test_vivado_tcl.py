"""build_overlay.tcl, run by tclsh under a recording Vivado mock (``vivado_mock.tcl``).

No Vivado here: this catches syntax errors, undefined variables, unknown commands, pins that
the IPs do not have, parameters the RTL does not have, and checks that what the script packages,
sets, connects and addresses is what the spec says. Whether Vivado accepts each property only
a Vivado run can say (docs/BOARD.md lists what the board confirms).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from board_helpers import needs_tclsh, rtl_param_names, run_mock

from accel.overlays.boards import BOARDS
from accel.overlays.rtl_build import IP_TOP, SPEC_HEADER, rtl_sources
from accel.overlays.spec import available_specs, load_spec
from accel.overlays.tools import RTL_DIR
from accel.overlays.vivado_params import BUILD_TCL, dma_config, ps_config, write_build_inputs

pytestmark = needs_tclsh
SPECS = available_specs()


def _rtl_params() -> list[str]:
    top = RTL_DIR / f"{IP_TOP}.v"
    if not top.is_file():
        pytest.skip(f"{top.name} is not written yet")
    return rtl_param_names(top)


@pytest.fixture(scope="module", params=SPECS)
def mock_run(request, tmp_path_factory):
    spec = load_spec(request.param)
    build = tmp_path_factory.mktemp(f"mock_{spec.name}")
    params = write_build_inputs(spec, build / "b", build / "out")
    run = run_mock(BUILD_TCL, params, build / "log.tsv", rtl_params=_rtl_params())
    assert run.returncode == 0, run.stderr + run.stdout
    return spec, build, run


def test_tcl_files_are_complete_tcl():
    """tclsh's own parser: every command of every TCL file is complete (braces, quotes, brackets)."""
    import subprocess

    from board_helpers import TCLSH

    files = [*Path(BUILD_TCL).parent.glob("*.tcl"), Path(__file__).with_name("vivado_mock.tcl")]
    script = "foreach f $argv { set h [open $f]; puts \"$f [info complete [read $h]]\"; close $h }"
    out = subprocess.run([TCLSH, "/dev/stdin", *map(str, files)], input=script, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert [line.rsplit(" ", 1)[1] for line in out if line] == ["1"] * len(files), out


def test_packages_exactly_the_rtl_sources_and_header(mock_run):
    spec, _build, run = mock_run
    pkg = [Path(r[0]) for r in run.get("add_file") if "/ip_src/" in r[0]]
    want = [p.name for p in rtl_sources(IP_TOP)] + [SPEC_HEADER]
    assert [p.name for p in pkg] == want
    # the copies are the sources (the header the spec's)
    for p in pkg[:-1]:
        assert p.read_bytes() == (RTL_DIR / p.name).read_bytes()
    assert pkg[-1].read_text() == spec.verilog_header()
    tops = [r[2] for r in run.get("prop") if r[0] == "sources_1" and r[1] == "TOP"]
    assert tops[0] == IP_TOP


def test_ip_vlnv_interfaces_and_parameters(mock_run):
    spec, _, run = mock_run
    assert run.get("catalog") == [[spec.ip_vlnv]]
    busifs = {r[0]: (r[1], r[2]) for r in run.get("busif")}
    assert busifs["s_axil"] == ("xilinx.com:interface:aximm:1.0", "slave")
    assert busifs["s_axis"] == ("xilinx.com:interface:axis:1.0", "slave")
    assert busifs["m_axis"] == ("xilinx.com:interface:axis:1.0", "master")
    assert busifs["aclk"][0] == "xilinx.com:signal:clock:1.0"
    assert busifs["aresetn"][0] == "xilinx.com:signal:reset:1.0"
    assert busifs["irq"][0] == "xilinx.com:signal:interrupt:1.0"
    # every physical port of the port maps is a port of accel_ip
    ports = set(_ports(RTL_DIR / f"{IP_TOP}.v"))
    for _, _, physical in run.get("portmap"):
        assert physical in ports, physical
    params = {r[1]: r[2] for r in run.get("busparam") if r[0] == "aclk"}
    assert params["ASSOCIATED_BUSIF"] == "s_axil:s_axis:m_axis"
    ip_params = dict(run.get("ipparam"))
    assert {k: int(v, 0) for k, v in ip_params.items()} == spec.verilog_params()
    assert ip_params["SPEC_HASH"] == f"0x{spec.hash32:08X}"


def _ports(path: Path) -> list[str]:
    import re

    return re.findall(r"\b(?:input|output)\s+wire\s+(?:\[[^\]]*\]\s*)?(\w+)", path.read_text())


def test_block_design_cells_and_config(mock_run):
    spec, _, run = mock_run
    flow = BOARDS[spec.board]
    cells = dict(run.get("cell"))
    assert cells[spec.dma_name] == spec.dma_vlnv
    assert cells[spec.ip_name] == spec.ip_vlnv
    assert cells[flow.ps_instance].startswith(flow.ps_vlnv_prefix + ":")
    dma = {k.removeprefix("CONFIG."): v for k, v in run.props(f"/{spec.dma_name}").items()}
    assert {k: int(v) for k, v in dma.items()} == dma_config(spec)
    acc = {k.removeprefix("CONFIG."): int(v, 0) for k, v in run.props(f"/{spec.ip_name}").items()}
    assert acc == spec.verilog_params()
    ps = {k.removeprefix("CONFIG."): v for k, v in run.props(f"/{flow.ps_instance}").items()}
    assert {k: float(v) for k, v in ps.items()} == {k: float(v) for k, v in ps_config(spec).items()}
    (automation,) = run.get("automation")
    assert automation[0] == flow.preset_rule and "apply_board_preset" in automation[1]


def test_block_design_addresses(mock_run):
    spec, _, run = mock_run
    flow = BOARDS[spec.board]
    addrs = {slave: (int(off, 16), int(rng, 16)) for space, slave, off, rng in run.get("addr")}
    assert all(space == f"/{flow.ps_instance}/Data" for space, *_ in run.get("addr"))
    assert addrs[f"/{spec.dma_name}/S_AXI_LITE/Reg"] == (spec.dma_base, spec.dma_range)
    assert addrs[f"/{spec.ip_name}/s_axil/Reg"] == (spec.accel_base, spec.accel_range)
    assert run.get("addr_auto") == [[]]  # then everything else (DMA -> DDR) automatically


def test_block_design_connections(mock_run):
    spec, _, run = mock_run
    flow = BOARDS[spec.board]
    ps, dma, acc = f"/{flow.ps_instance}", f"/{spec.dma_name}", f"/{spec.ip_name}"
    intf = {frozenset(r) for r in run.get("intf_net")}
    for a, b in [
        (f"{dma}/M_AXIS_MM2S", f"{acc}/s_axis"),
        (f"{acc}/m_axis", f"{dma}/S_AXIS_S2MM"),
        (f"{ps}/{flow.gp_port}", "/ctrl_smc/S00_AXI"),
        ("/ctrl_smc/M00_AXI", f"{dma}/S_AXI_LITE"),
        ("/ctrl_smc/M01_AXI", f"{acc}/s_axil"),
        (f"{dma}/M_AXI_MM2S", "/mem_smc/S00_AXI"),
        (f"{dma}/M_AXI_S2MM", "/mem_smc/S01_AXI"),
        ("/mem_smc/M00_AXI", f"{ps}/{flow.hp_port}"),
    ]:
        assert frozenset((a, b)) in intf, (a, b)
    nets = run.get("net")
    clock = next(n for n in nets if n[0] == f"{ps}/{flow.pins['CLK']}")
    for pin in (f"{ps}/{flow.pins['GP_ACLK']}", f"{ps}/{flow.pins['HP_ACLK']}", f"{acc}/aclk",
                f"{dma}/s_axi_lite_aclk", f"{dma}/m_axi_mm2s_aclk", f"{dma}/m_axi_s2mm_aclk"):
        assert pin in clock


def test_no_interrupt_is_wired(mock_run):
    """The block design has no PL-to-PS interrupt (docs/BOARD.md says why), as the .hwh says: the
    accelerator's and the DMA's interrupt pins stay unconnected and the PS interrupt input is off."""
    spec, _, run = mock_run
    flow = BOARDS[spec.board]
    irq_pins = {f"/{spec.ip_name}/irq", f"/{spec.dma_name}/mm2s_introut", f"/{spec.dma_name}/s2mm_introut"}
    assert not [n for n in run.get("net") if irq_pins & set(n)]
    assert not [c for c in run.get("cell") if "concat" in c[1]]
    ps = {k.removeprefix("CONFIG."): v for k, v in run.props(f"/{flow.ps_instance}").items()}
    irq_keys = [k for k in ps if "INTERRUPT" in k or "IRQ" in k]
    assert irq_keys and all(int(ps[k]) == 0 for k in irq_keys), ps
    hwh_ps = _hwh_module(spec, flow.ps_instance)
    assert all(int(_hwh_params(hwh_ps)[k]) == 0 for k in irq_keys)
    for inst, port in ((spec.ip_name, "irq"), (spec.dma_name, "mm2s_introut"), (spec.dma_name, "s2mm_introut")):
        el = next(p for p in _hwh_module(spec, inst).iter("PORT") if p.get("NAME") == port)
        assert el.find("CONNECTIONS") is None, (inst, port)


def _hwh_module(spec, instance: str):
    import xml.etree.ElementTree as ET

    from accel.overlays.hwh import generate_hwh

    root = ET.fromstring(generate_hwh(spec).split("\n", 2)[2])
    return next(m for m in root.iter("MODULE") if m.get("INSTANCE") == instance)


def _hwh_params(module) -> dict[str, str]:
    return {p.get("NAME"): p.get("VALUE") for p in module.find("PARAMETERS")}


def test_ip_registers_match_the_hwh(mock_run):
    """The registers the IP package declares (ipx::add_register/add_field) are exactly the ones the
    generated .hwh lists for the accelerator, in an address block of the packaged size."""
    spec, _, run = mock_run
    tcl_regs = {r[0]: (int(r[1], 0), int(r[2]), r[3], r[4]) for r in run.get("register")}
    tcl_fields = {(r[0], r[1]): (int(r[2]), int(r[3]), r[4]) for r in run.get("field")}
    block = _hwh_module(spec, spec.ip_name).find("ADDRESSBLOCKS/ADDRESSBLOCK")
    assert block.get("NAME") == "reg0" and int(block.get("RANGE")) == 1 << spec.axil_addr_width
    props = {r[1]: r[2] for r in run.get("prop") if r[0].startswith("ab:")}
    assert int(props["RANGE"]) == 1 << spec.axil_addr_width
    hwh_regs, hwh_fields = {}, {}
    for reg in block.iter("REGISTER"):
        p = {e.get("NAME"): e.get("VALUE") for e in reg.findall("PROPERTY")}
        hwh_regs[reg.get("NAME")] = (int(p["ADDRESS_OFFSET"], 0), int(p["SIZE"]), p["ACCESS"], p["DESCRIPTION"])
        for fld in reg.iter("FIELD"):
            f = {e.get("NAME"): e.get("VALUE") for e in fld.findall("PROPERTY")}
            hwh_fields[(reg.get("NAME"), fld.get("NAME"))] = (int(f["BIT_OFFSET"]), int(f["BIT_WIDTH"]), f["ACCESS"])
    assert tcl_regs == hwh_regs
    assert tcl_fields == hwh_fields
    assert tcl_regs["CTRL"][0] == spec.reg("CTRL").offset
    assert tcl_fields[("CTRL", "SOFT_RESET")][0] == spec.reg("CTRL").fields["SOFT_RESET"]
    assert tcl_regs["CYCLES_HI"][0] == spec.counter("CYCLES") + 4


def test_accelerator_address_parameters_are_vivados(mock_run):
    """Vivado names a packaged IP's address parameters C_BASEADDR/C_HIGHADDR; the .hwh does too."""
    spec, _, _ = mock_run
    params = _hwh_params(_hwh_module(spec, spec.ip_name))
    assert int(params["C_BASEADDR"], 0) == spec.accel_base
    assert int(params["C_HIGHADDR"], 0) == spec.accel_base + spec.accel_range - 1
    assert not [k for k in params if k.startswith("C_S_AXIL")]


def test_header_is_an_include_file_of_the_ip(mock_run):
    _, _, run = mock_run
    marked = {tuple(r) for r in run.get("include")}
    assert marked == {("xilinx_anylanguagesynthesis", f"src/{SPEC_HEADER}"),
                      ("xilinx_anylanguagebehavioralsimulation", f"src/{SPEC_HEADER}")}


def test_integrity_is_checked_after_the_rename(mock_run):
    """ipx::check_integrity runs on the core as renamed and regenerated, before it is saved."""
    _, _, run = mock_run
    kinds = [(r[0], r[1:]) for r in run.records]
    renamed = max(i for i, (k, a) in enumerate(kinds) if k == "prop" and a[0].startswith("core:")
                  and a[1] in ("NAME", "VERSION"))
    steps = [(i, a[0]) for i, (k, a) in enumerate(kinds) if k == "ipx"]
    assert [s for _, s in steps] == ["create_xgui_files", "update_checksums", "check_integrity", "save_core"]
    assert steps[0][0] > renamed
    assert max(i for i, (k, a) in enumerate(kinds) if k == "prop" and a[0].startswith(("reg:", "fld:"))) < steps[0][0]


def test_integrity_failure_is_one_clear_line(tmp_path):
    spec = load_spec("z2_default")
    params = write_build_inputs(spec, tmp_path / "b", tmp_path / "out")
    env = {**os.environ, "MOCK_INTEGRITY_ERROR": "[IP_Flow 19-3461] bus interface s_axil has no memory map"}
    run = run_mock(BUILD_TCL, params, tmp_path / "log.tsv", "ip", rtl_params=_rtl_params(), env=env)
    assert run.returncode != 0
    assert "ERROR: [accel] the packaged IP" in run.stderr and "IP_Flow 19-3461" in run.stderr, run.stderr
    assert ["save_core"] not in run.get("ipx")


@pytest.mark.parametrize(
    ("summary", "ok"),
    [
        ("Design Timing Summary\nAll user specified timing constraints are met.\n", True),
        # slack is fine (the mock's paths have +0.125 ns) but a pulse-width check failed: PYNQ's gate refuses it
        ("Design Timing Summary\nTiming constraints are not met.\nPulse Width Checks: WPWS -0.350\n", False),
        ("", False),
    ],
)
def test_timing_gate_needs_all_constraints_met(tmp_path, summary, ok):
    spec = load_spec("z2_default")
    params = write_build_inputs(spec, tmp_path / "b", tmp_path / "out")
    run = run_mock(BUILD_TCL, params, tmp_path / "log.tsv", rtl_params=_rtl_params(),
                   env={**os.environ, "MOCK_TIMING_SUMMARY": summary})
    assert run.get("timing_summary") == [[]]
    assert (run.returncode == 0) is ok, run.stderr
    bit = tmp_path / "out" / f"{spec.name}.bit"
    assert bit.is_file() is ok
    if not ok:
        assert "ERROR: [accel] timing constraints not met at 100 MHz" in run.stderr, run.stderr
        assert "All user specified timing constraints are met." in run.stderr


def test_outputs_side_by_side(mock_run):
    spec, build, run = mock_run
    out = build / "out"
    assert (out / f"{spec.name}.bit").is_file()
    assert (out / f"{spec.name}.hwh").is_file()
    outputs = [r[0] for r in run.get("output")]
    assert str(out / f"{spec.name}.bit") in outputs and str(out / f"{spec.name}.hwh") in outputs


def test_steps_can_run_separately(tmp_path):
    spec = load_spec("z2_default")
    params = write_build_inputs(spec, tmp_path / "b", tmp_path / "out")
    for i, step in enumerate(("ip", "bd")):
        run = run_mock(BUILD_TCL, params, tmp_path / f"log{i}.tsv", step, rtl_params=_rtl_params())
        assert run.returncode == 0, run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.write_text(p.read_text().replace("set PART ", "set PARTX ")), "lacks PART"),
        (lambda p: p.write_text(p.read_text().replace("*:pynq-z2:*", "*:pynq-z9:*")), "no board part"),
        (lambda p: (p.parent / "include" / SPEC_HEADER).unlink(), "generated header"),
        (lambda p: p.write_text(p.read_text() + "set ACCEL_PARAMS {NOPE 1}\n"), "no parameter NOPE"),
    ],
)
def test_failures_are_one_clear_line(tmp_path, mutate, message):
    spec = load_spec("z2_default")
    params = write_build_inputs(spec, tmp_path / "b", tmp_path / "out")
    mutate(params)
    run = run_mock(BUILD_TCL, params, tmp_path / "log.tsv", rtl_params=_rtl_params())
    assert run.returncode != 0
    assert "ERROR: [accel]" in run.stderr and message in run.stderr, run.stderr


def test_wrong_step_and_missing_params(tmp_path):
    spec = load_spec("z2_default")
    params = write_build_inputs(spec, tmp_path / "b", tmp_path / "out")
    run = run_mock(BUILD_TCL, params, tmp_path / "l1.tsv", "synth")
    assert run.returncode != 0 and "unknown step 'synth'" in run.stderr
    run = run_mock(BUILD_TCL, tmp_path / "nope.tcl", tmp_path / "l2.tsv")
    assert run.returncode != 0 and "not found" in run.stderr
