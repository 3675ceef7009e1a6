"""The generated Vivado params file says what the spec says (read back through tclsh)."""

from __future__ import annotations

import dataclasses

import pytest
from board_helpers import needs_tclsh, source_params

from accel.errors import SpecError
from accel.overlays.boards import BOARDS
from accel.overlays.rtl_build import IP_TOP, rtl_sources
from accel.overlays.spec import available_specs, load_spec
from accel.overlays.vivado_params import (
    check_flow,
    dma_config,
    render_params,
    tcl_params,
    write_build_inputs,
)

SPECS = available_specs()


@pytest.fixture(scope="module", params=SPECS)
def generated(request, tmp_path_factory):
    spec = load_spec(request.param)
    build = tmp_path_factory.mktemp(f"vivado_{spec.name}")
    path = write_build_inputs(spec, build, build / "out", jobs=3)
    return spec, build, path


def test_every_spec_has_a_board_flow():
    for name in SPECS:
        assert load_spec(name).board in BOARDS, name


@needs_tclsh
def test_params_file_matches_spec(generated):
    spec, build, path = generated
    p = source_params(path)
    flow = BOARDS[spec.board]
    assert p["SPEC_NAME"] == spec.name
    assert p["SPEC_HASH"] == spec.hash
    assert int(str(p["SPEC_HASH32"]), 16) == spec.hash32
    assert p["PART"] == spec.part
    assert p["BOARD"] == spec.board
    # the IP: VLNV whole and in parts, instance names, top, module parameters
    assert p["IP_VLNV"] == spec.ip_vlnv
    assert ":".join(str(p[k]) for k in ("IP_VENDOR", "IP_LIBRARY", "IP_NAME", "IP_VERSION")) == spec.ip_vlnv
    assert p["IP_INSTANCE"] == spec.ip_name
    assert p["IP_TOP"] == IP_TOP
    assert {k: int(v) for k, v in p["ACCEL_PARAMS"].items()} == spec.verilog_params()
    assert int(p["AXIL_ADDR_WIDTH"]) == spec.axil_addr_width
    # addresses and ranges
    assert int(str(p["ACCEL_BASE"]), 16) == spec.accel_base
    assert int(str(p["ACCEL_RANGE"]), 16) == spec.accel_range
    assert int(str(p["DMA_BASE"]), 16) == spec.dma_base
    assert int(str(p["DMA_RANGE"]), 16) == spec.dma_range
    # the DMA: VLNV, instance, simple mode, LENGTH width, widths
    assert p["DMA_VLNV"] == spec.dma_vlnv
    assert p["DMA_INSTANCE"] == spec.dma_name
    dma = {k: int(v) for k, v in p["DMA_CONFIG"].items()}
    assert dma["c_include_sg"] == int(spec.dma_sg)
    assert dma["c_sg_length_width"] == spec.dma_length_width
    assert dma["c_addr_width"] == spec.dma_addr_width
    assert dma["c_include_mm2s"] == dma["c_include_s2mm"] == 1
    for key in ("c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width", "c_m_axi_s2mm_data_width",
                "c_s_axis_s2mm_tdata_width"):
        assert dma[key] == spec.stream_width, key
    # clock and PS ports
    assert float(p["FABRIC_MHZ"]) == spec.fabric_mhz
    assert int(p["STREAM_WIDTH"]) == spec.stream_width
    ps = p["PS_CONFIG"]
    freq_key = "PCW_FPGA0_PERIPHERAL_FREQMHZ" if flow.ps_kind == "ps7" else "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"
    hp_key = "PCW_S_AXI_HP0_DATA_WIDTH" if flow.ps_kind == "ps7" else "PSU__SAXIGP2__DATA_WIDTH"
    assert float(ps[freq_key]) == spec.fabric_mhz
    assert int(ps[hp_key]) == spec.stream_width
    assert p["PS_HP_PORT"] == flow.hp_port and p["PS_GP_PORT"] == flow.gp_port
    # inputs and outputs
    assert p["RTL_SOURCES"] == [str(f) for f in rtl_sources(IP_TOP)]
    assert p["SPEC_HEADER"] == str(build / "include" / "accel_spec.vh")
    assert (build / "include" / "accel_spec.vh").read_text() == spec.verilog_header()
    assert p["OUTPUT_DIR"] == str(build / "out")
    assert p["OVERLAY_NAME"] == spec.name
    assert int(p["JOBS"]) == 3


@needs_tclsh
def test_params_file_lists_all_its_variables(generated):
    spec, _, path = generated
    p = source_params(path)
    assert set(p["PARAM_NAMES"]) == set(tcl_params(spec, "b")) == set(p) - {"PARAM_NAMES"}


def test_params_file_is_written_whole(generated):
    spec, build, path = generated
    text = path.read_text()
    assert text == render_params(spec, tcl_params(spec, build, build / "out", jobs=3))
    assert all(line.startswith(("#", "set ")) for line in text.splitlines())
    assert not list(build.glob("*.tmp"))


def test_dma_config_is_pynq_simple_mode():
    for name in SPECS:
        for spec in (load_spec(name), load_spec(name).with_dma_mode("simple")):  # both DMA modes
            cfg = dma_config(spec)
            assert cfg["c_include_sg"] == int(spec.dma_sg) and cfg["c_micro_dma"] == 0
        cfg = dma_config(load_spec(name))
        # pynq's DMA driver: buffer_max_size = 2**c_sg_length_width - 1 = the spec's limit
        assert (1 << cfg["c_sg_length_width"]) - 1 == spec.dma_max_bytes
        # DRE on: driver programs start A panels at i*K bytes, not beat aligned
        assert cfg["c_include_mm2s_dre"] == cfg["c_include_s2mm_dre"] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"accel_base": 0x8000_0000}, "outside the PS"),
        ({"dma_base": 0x4040_1000}, "aligned to its range"),
        ({"accel_range": 0x1800}, "power of two"),
        ({"dma_base": 0x43C0_0000}, "overlap"),
        ({"stream_width": 128}, "stream_width"),
        ({"board": "zcu104"}, "no Vivado flow"),
        ({"ip_vlnv": "pynq-accel:matmul:1.0"}, "vendor:library:name:version"),
    ],
)
def test_check_flow_rejects_unbuildable_specs(change, message):
    spec = dataclasses.replace(load_spec("z2_default"), **change)
    with pytest.raises(SpecError, match=message):
        check_flow(spec)


def test_control_windows_fit_every_board():
    for name in SPECS:
        check_flow(load_spec(name))
