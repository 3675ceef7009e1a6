"""The checked-in ``overlays/hwh/<spec>.hwh`` (what the simulated overlay and the runtime read)
agrees with the spec and with the Vivado params (what the real block design is built from):
instance names, VLNVs, addresses, the DMA's mode, LENGTH width and data widths, the PS ports,
the fabric clock and the accelerator's parameters. A Vivado build writes its own ``.hwh``
beside the ``.bit``; these checks make sure the two describe the same hardware."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from board_helpers import needs_tclsh, source_params

from accel.overlays.boards import BOARDS
from accel.overlays.spec import available_specs, load_spec
from accel.overlays.vivado_params import write_build_inputs

HWH_DIR = Path(__file__).resolve().parents[3] / "overlays" / "hwh"
SPECS = available_specs()


def _hwh(spec_name: str) -> ET.Element:
    path = HWH_DIR / f"{spec_name}.hwh"
    if not path.is_file():
        pytest.skip(f"{path} is not generated yet")
    return ET.parse(path).getroot()


def _modules(root: ET.Element) -> dict[str, ET.Element]:
    return {m.get("INSTANCE"): m for m in root.iter("MODULE")}


def _params(module: ET.Element) -> dict[str, str]:
    box = module.find("PARAMETERS")
    return {p.get("NAME"): p.get("VALUE") for p in (box if box is not None else [])}


def _num(text: str) -> int:
    return int(text, 0) if text.lower().startswith("0x") else int(text)


@pytest.fixture(scope="module", params=SPECS)
def both(request, tmp_path_factory):
    spec = load_spec(request.param)
    root = _hwh(spec.name)
    build = tmp_path_factory.mktemp(f"hwh_{spec.name}")
    tcl = source_params(write_build_inputs(spec, build, build / "out"))
    return spec, root, tcl


pytestmark = needs_tclsh


def test_instances_and_vlnvs(both):
    spec, root, tcl = both
    mods = _modules(root)
    flow = BOARDS[spec.board]
    assert mods[tcl["DMA_INSTANCE"]].get("VLNV") == tcl["DMA_VLNV"] == spec.dma_vlnv
    assert mods[tcl["IP_INSTANCE"]].get("VLNV") == tcl["IP_VLNV"] == spec.ip_vlnv
    ps = mods[tcl["PS_INSTANCE"]]
    assert ps.get("MODTYPE") == str(tcl["PS_VLNV_PREFIX"]).split(":")[2]
    assert ps.get("VLNV").startswith(tcl["PS_VLNV_PREFIX"] + ":")
    assert tcl["PS_INSTANCE"] == flow.ps_instance


def test_control_addresses(both):
    spec, root, tcl = both
    ps = _modules(root)[tcl["PS_INSTANCE"]]
    ranges = {r.get("INSTANCE"): r for r in ps.iter("MEMRANGE")}
    for inst, base, size, slave in (
        (tcl["DMA_INSTANCE"], tcl["DMA_BASE"], tcl["DMA_RANGE"], "S_AXI_LITE"),
        (tcl["IP_INSTANCE"], tcl["ACCEL_BASE"], tcl["ACCEL_RANGE"], "s_axil"),
    ):
        r = ranges[inst]
        assert _num(r.get("BASEVALUE")) == _num(base)
        assert _num(r.get("HIGHVALUE")) == _num(base) + _num(size) - 1
        assert r.get("MASTERBUSINTERFACE") == tcl["PS_GP_PORT"]
        assert r.get("SLAVEBUSINTERFACE") == slave  # the bus interface names the TCL packages/uses
    assert _num(ranges[spec.dma_name].get("BASEVALUE")) == spec.dma_base
    assert _num(ranges[spec.ip_name].get("BASEVALUE")) == spec.accel_base


def test_dma_configuration(both):
    spec, root, tcl = both
    dma = _modules(root)[tcl["DMA_INSTANCE"]]
    got = {k.lower(): v for k, v in _params(dma).items()}
    want = tcl["DMA_CONFIG"]
    for key in ("c_include_sg", "c_sg_length_width", "c_include_mm2s", "c_include_s2mm",
                "c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width", "c_m_axi_s2mm_data_width",
                "c_s_axis_s2mm_tdata_width", "c_include_mm2s_dre", "c_include_s2mm_dre", "c_addr_width"):
        assert key in got, f"{spec.name}.hwh lacks DMA parameter {key} (pynq's DMA driver reads it)"
        assert _num(got[key]) == _num(want[key]), key
    assert _num(got["c_sg_length_width"]) == spec.dma_length_width
    assert _num(got["c_m_axis_mm2s_tdata_width"]) == spec.stream_width
    # the DMA's masters reach DDR through the HP port the TCL connects
    hp = {r.get("SLAVEBUSINTERFACE") for r in dma.iter("MEMRANGE")}
    assert hp == {tcl["PS_HP_PORT"]}


def test_ps_clock_hp_width_and_interrupts(both):
    """Every PS setting the TCL makes is in the .hwh with the same value (the fabric clock, the HP
    width, and the PL-to-PS interrupt: off in both)."""
    spec, root, tcl = both
    ps = _params(_modules(root)[tcl["PS_INSTANCE"]])
    irq_key = next(k for k in tcl["PS_CONFIG"] if k in ("PCW_USE_FABRIC_INTERRUPT", "PSU__USE__IRQ0"))
    assert int(ps[irq_key]) == int(tcl["PS_CONFIG"][irq_key]) == 0
    for key, value in tcl["PS_CONFIG"].items():
        if key in ps:
            assert float(ps[key]) == float(value), key
    freq_key = next(k for k in tcl["PS_CONFIG"] if k.endswith("FREQMHZ"))
    assert float(ps[freq_key]) == spec.fabric_mhz


def test_accelerator_parameters(both):
    spec, root, tcl = both
    acc = _params(_modules(root)[tcl["IP_INSTANCE"]])
    for key, value in tcl["ACCEL_PARAMS"].items():
        assert _num(acc[key]) == int(value) == spec.verilog_params()[key], key


def test_pynq_parses_the_hwh_to_the_same_ip_dict(both):
    """What pynq 3.1's own parser makes of the .hwh: the driver-binding view the board uses."""
    spec, _root, tcl = both
    parser_mod = pytest.importorskip("pynq.metadata.runtime_metadata_parser")
    metadata = pytest.importorskip("pynqmetadata.frontends")
    md = metadata.Metadata(input=str(HWH_DIR / f"{spec.name}.hwh"))
    ip = parser_mod.RuntimeMetadataParser(md).ip_dict
    dma, acc = ip[tcl["DMA_INSTANCE"]], ip[tcl["IP_INSTANCE"]]
    assert dma["type"] == spec.dma_vlnv and acc["type"] == spec.ip_vlnv
    assert dma["phys_addr"] == spec.dma_base and dma["addr_range"] == spec.dma_range
    assert acc["phys_addr"] == spec.accel_base and acc["addr_range"] == spec.accel_range
    assert int(dma["parameters"]["c_sg_length_width"]) == spec.dma_length_width
    assert int(dma["parameters"]["c_include_sg"]) == int(spec.dma_sg)
