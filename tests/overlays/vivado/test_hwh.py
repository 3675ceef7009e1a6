"""The generated .hwh: checked in, current, and parsed by PYNQ's own metadata parser."""

from __future__ import annotations

import pytest

from accel.overlays.hwh import generate_hwh, hwh_path
from accel.overlays.spec import available_specs, load_spec


@pytest.mark.parametrize("name", available_specs())
def test_checked_in_hwh_is_current(name: str) -> None:
    spec = load_spec(name)
    assert hwh_path(spec).read_text(encoding="utf-8") == generate_hwh(spec), (
        "stale .hwh: run accel-run hwh --write"
    )


def test_check_mode_exit_code() -> None:
    from click.testing import CliRunner

    from accel.cli import _register, cli

    _register()
    assert CliRunner().invoke(cli, ["hwh", "--check"]).exit_code == 0


@pytest.mark.parametrize("name", available_specs())
def test_stock_parser_reads_it(name: str, tmp_path) -> None:
    from pynqmetadata.frontends import Metadata

    from accel.runtime.sim_device import _parser_class

    spec = load_spec(name)
    path = tmp_path / f"{name}.hwh"
    path.write_text(generate_hwh(spec))
    p = _parser_class()(Metadata(input=str(path)))
    dma, acc = p.ip_dict[spec.dma_name], p.ip_dict[spec.ip_name]
    assert dma["type"] == spec.dma_vlnv and acc["type"] == spec.ip_vlnv
    assert (dma["phys_addr"], dma["addr_range"]) == (spec.dma_base, spec.dma_range)
    assert (acc["phys_addr"], acc["addr_range"]) == (spec.accel_base, spec.accel_range)
    prm = dma["parameters"]
    assert prm["c_include_sg"] == str(int(spec.dma_sg)) and prm["c_micro_dma"] == "0"
    assert int(prm["c_sg_length_width"]) == spec.dma_length_width
    for key in ("c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width", "c_m_axi_s2mm_data_width",
                "c_s_axis_s2mm_tdata_width"):
        assert int(prm[key]) == spec.stream_width
    assert dma["interrupts"] == {}  # polled: no Interrupt objects needed off-board
    assert int(acc["parameters"]["SPEC_HASH"]) == spec.hash32
    regs = acc["registers"]
    assert regs["CTRL"]["address_offset"] == spec.reg("CTRL").offset
    assert regs["CTRL"]["fields"]["SOFT_RESET"]["bit_offset"] == spec.reg("CTRL").fields["SOFT_RESET"]
    assert regs["CYCLES_HI"]["address_offset"] == spec.counter("CYCLES") + 4
    ps = p.ps_name
    assert p.family_ps == ("processing_system7" if spec.part.startswith("xc7z") else "zynq_ultra_ps_e"), ps
    assert p.clock_dict[0]["enable"] == 1
